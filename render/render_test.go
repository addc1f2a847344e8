package render_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/render"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGoldenTextAndMarkdown renders two scenarios from testdata/scenarios as
// text (through Terminal, which strips styles off a non-terminal, and with
// NO_COLOR) and as Markdown, against golden files in render/testdata.
func TestGoldenTextAndMarkdown(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	for _, name := range []string{"two-causes", "partial-reachability"} {
		s, err := snapshot.Load(filepath.Join("..", "testdata", "scenarios", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		r := diagnose.Run(context.Background(), diagnose.NewView(s), checks.All())
		r.Source = &diagnose.SourceInfo{Kind: "file", Name: name + ".yaml", CapturedAt: s.CapturedAt}
		for _, f := range []render.Format{render.FormatText, render.FormatMarkdown} {
			var buf bytes.Buffer
			w := render.Terminal(&buf)
			if f != render.FormatText {
				w = &buf
			}
			if err := render.Write(w, r, f); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), "\x1b[") {
				t.Errorf("%s %s: escape sequences in output for a non-terminal", name, f)
			}
			golden := filepath.Join("testdata", name+"."+string(f)+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./render -update)", err)
			}
			if buf.String() != string(want) {
				t.Errorf("%s differs from %s; got:\n%s", f, golden, buf.String())
			}
		}
	}
}

// TestServiceWithoutEndpointsIsBroken: a service with no endpoints is broken
// for the gateway (it answers 503), even when its only finding is a note.
func TestServiceWithoutEndpointsIsBroken(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	r := &diagnose.Report{
		Gateway: diagnose.GatewayInfo{ID: "gw-1"},
		Findings: []diagnose.Finding{{
			Code: diagnose.CodeBroadAuthorization, Severity: diagnose.Sev(diagnose.Info),
			Services: []string{"shop/cart"}, Message: "the authorization spans every port",
		}},
	}
	for _, f := range []render.Format{render.FormatText, render.FormatMarkdown} {
		var buf bytes.Buffer
		if err := render.Write(render.Terminal(&buf), r, f); err != nil {
			t.Fatal(err)
		}
		want := "BROKEN shop/cart  0 endpoints: 0 reachable"
		if f == render.FormatMarkdown {
			want = "### shop/cart — BROKEN"
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s: no %q in:\n%s", f, want, buf.String())
		}
	}
}
