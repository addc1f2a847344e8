package render

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// reference is what encoding/json writes for the report (HTML not escaped).
func reference(t *testing.T, r *diagnose.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// assertStreamedEqualsReference holds the hand-written encoder to
// encoding/json, byte for byte once whitespace is compacted: a report field
// the encoder forgets, misorders or misquotes fails here.
func assertStreamedEqualsReference(t *testing.T, name string, r *diagnose.Report) {
	t.Helper()
	var got bytes.Buffer
	if err := JSON(&got, r); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, got.Bytes()); err != nil {
		t.Fatalf("%s: streamed JSON does not parse: %v", name, err)
	}
	want := reference(t, r)
	if !bytes.Equal(compact.Bytes(), want) {
		g, w := compact.Bytes(), want
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		lo := max(0, i-120)
		t.Fatalf("%s: streamed JSON differs from encoding/json at byte %d:\n got  …%s\n want …%s", name, i, g[lo:min(len(g), i+80)], w[lo:min(len(w), i+80)])
	}
	// Layout: one endpoint row and one finding per line.
	lines := bytes.Count(got.Bytes(), []byte("\n"))
	if min := len(r.Endpoints) + len(r.Findings); lines < min {
		t.Errorf("%s: %d lines for %d rows and findings", name, lines, min)
	}
}

// TestStreamedJSONEqualsEncodingJSON runs the comparison over every
// scenario in testdata/scenarios (with and without filters) and over
// generated estates (the bad day, its healthy twin, internal/gen's mix).
func TestStreamedJSONEqualsEncodingJSON(t *testing.T) {
	paths, err := filepath.Glob("../testdata/scenarios/*.yaml")
	if err != nil || len(paths) < 10 {
		t.Fatalf("scenarios: %v (%d found)", err, len(paths))
	}
	for _, p := range paths {
		s, err := snapshot.Load(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		r := diagnose.Run(context.Background(), diagnose.NewView(s), checks.All())
		r.Source = &diagnose.SourceInfo{Kind: "file", Name: filepath.Base(p), CapturedAt: s.CapturedAt}
		assertStreamedEqualsReference(t, p, r)
		sup, _ := diagnose.ParseSuppression("GWD302")
		r.ApplyFilter(nil, []diagnose.Suppression{sup})
		r.KeepOnlyBroken()
		assertStreamedEqualsReference(t, p+" (filtered)", r)
	}
	estates := map[string]*snapshot.Snapshot{
		"bad-day": gen.BadDay(gen.BadDayConfig{Endpoints: 2000, Services: 20, Nodes: 200, Groups: 100, Rules: 20, Seed: 2}),
		"healthy": gen.BadDay(gen.BadDayConfig{Endpoints: 2000, Services: 20, Nodes: 200, Groups: 100, Rules: 20, Seed: 2, Healthy: true}),
		"gen":     gen.Large(gen.Config{Endpoints: 2000, Nodes: 100, Groups: 40, Rules: 1500, Services: 20, Seed: 4}),
	}
	for name, s := range estates {
		r := diagnose.Run(context.Background(), diagnose.NewView(s), checks.All())
		assertStreamedEqualsReference(t, name, r)
	}
}

// TestStreamedJSONQuotesLikeEncodingJSON covers what the reports rarely
// hold: control characters, quotes, invalid UTF-8, U+2028, HTML characters,
// and floats of every magnitude.
func TestStreamedJSONQuotesLikeEncodingJSON(t *testing.T) {
	odd := []string{"", "plain", "quote \" back \\ slash", "tab\tnew\nline\rcr\b\f\x00\x1f\x7f", "<a href='x'>&amp;</a>",
		"bad \xff utf8 \xc3", "line\u2028sep\u2029", "→ ünïcödé 中文 🙂", strings.Repeat("x", 5000)}
	r := &diagnose.Report{SchemaVersion: diagnose.SchemaVersion, Findings: []diagnose.Finding{}, Skipped: []diagnose.Skipped{}}
	for i, s := range odd {
		r.Endpoints = append(r.Endpoints, diagnose.EndpointResult{Service: s, IP: s, Pod: s, Notes: []string{s}, RTTMs: []float64{0.4, 1e-7, 123456789, 1e21, 3.14159, 0.000001, 2.5e-8}[i%7], Groups: []string{s, s}})
		r.Findings = append(r.Findings, diagnose.Finding{ID: s, Code: "GWD101", Message: s, Evidence: []string{s}, Subjects: nil, Chain: []diagnose.Link{{Kind: s, ID: s, Detail: s, Broken: i%2 == 0}}, Remediation: diagnose.Remediation{Commands: []string{s}}})
	}
	assertStreamedEqualsReference(t, "odd strings", r)
}
