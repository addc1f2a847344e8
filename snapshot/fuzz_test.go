package snapshot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzSeeds are the example files and the malformed fixtures.
func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/*.json")
	bad, _ := filepath.Glob("testdata/bad/*")
	for _, name := range append(append(files, more...), bad...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzParse: never panics; a snapshot that loads validates and survives a
// round trip through both formats unchanged; every problem is placed.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		s, err := Parse("fuzz", data)
		if d := time.Since(start); d > 3*time.Second && os.Getenv("GWDOCTOR_FUZZ_SLOW") != "" {
			t.Fatalf("Parse took %v on %d bytes", d, len(data))
		}
		if err != nil {
			if s != nil {
				t.Fatal("a snapshot returned alongside an error")
			}
			ps := Problems(err)
			if len(ps) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			for _, p := range ps {
				if p.Path == "" && p.Line == 0 && !strings.Contains(p.Message, "empty") && !strings.Contains(p.Message, "no YAML document") && !strings.HasPrefix(p.Message, "stopped after") {
					t.Fatalf("problem with neither path nor line: %q", p.Error())
				}
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("loaded snapshot does not validate: %v", err)
		}
		for _, format := range []Format{JSON, YAML} {
			out, err := Marshal(s, format)
			if err != nil {
				t.Fatalf("marshal %v: %v", format, err)
			}
			back, err := Parse("again", out)
			if err != nil {
				t.Fatalf("%v round trip does not load: %v\n%s", format, err, out)
			}
			if !reflect.DeepEqual(s, back) {
				t.Fatalf("%v round trip changed the snapshot:\n%#v\n%#v\n%s", format, s, back, out)
			}
		}
	})
}

// FuzzParsePortRange: never panics; an accepted range is well formed and
// its canonical form parses back to itself.
func FuzzParsePortRange(f *testing.F) {
	for _, s := range []string{"8080/8080", "1/65535", "-1/-1", "8080-8081", "0/1", "10/5", "a/b", "", "/", " 80/80 ", "+80/80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pr, err := ParsePortRange(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if !pr.All && (pr.Start < 1 || pr.End > 65535 || pr.Start > pr.End) {
			t.Fatalf("%q accepted as %+v", s, pr)
		}
		again, err := ParsePortRange(pr.String())
		if err != nil || again != pr {
			t.Fatalf("%q -> %q -> %+v, %v", s, pr.String(), again, err)
		}
	})
}

// FuzzFastYAML: whenever the fast reader accepts a document, goccy/go-yaml
// accepts it too and builds the same tree (values, types, keys, lines).
func FuzzFastYAML(f *testing.F) {
	fuzzSeeds(f)
	for _, s := range []string{"a: 1\nb: [x, 'y', \"z\"]\n", "- a\n- b: c\n  d: {e: f}\n", "k: v # c\n", "x: 0x10\ny: 1_0\nz: .inf\nw: ~\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
			return // Parse refuses these before either reader runs
		}
		fast, err := parseFastYAML(data)
		if err != nil {
			return
		}
		slow, _, err := parseYAMLTree(data)
		if err != nil {
			t.Fatalf("fast reader accepted what goccy rejects (%v):\n%q", err, data)
		}
		if slow == nil {
			t.Fatalf("fast reader built a tree from an empty document:\n%q", data)
		}
		if diff := treeDiff(fast, slow, ""); diff != "" {
			t.Fatalf("readers disagree at %s:\n%q", diff, data)
		}
	})
}

func treeDiff(a, b *node, path string) string {
	if a.kind != b.kind {
		return fmt.Sprintf("%s: kind %d vs %d (%q vs %q)", path, a.kind, b.kind, a.str, b.str)
	}
	if a.kind != kindNull && a.line != b.line {
		return fmt.Sprintf("%s: line %d vs %d", path, a.line, b.line)
	}
	switch a.kind {
	case kindString, kindBool:
		if a.str != b.str {
			return fmt.Sprintf("%s: %q vs %q", path, a.str, b.str)
		}
	case kindNumber:
		ai, aok, af := a.number()
		bi, bok, bf := b.number()
		if ai != bi || aok != bok || (af != bf && !(af != af && bf != bf)) {
			return fmt.Sprintf("%s: %q vs %q", path, a.str, b.str)
		}
	case kindSeq, kindMap:
		if len(a.kids) != len(b.kids) {
			return fmt.Sprintf("%s: %d vs %d entries", path, len(a.kids), len(b.kids))
		}
		for i := range a.kids {
			ka, kb := a.kids[i], b.kids[i]
			if ka.key != kb.key || (a.kind == kindMap && ka.line != kb.line) {
				return fmt.Sprintf("%s[%d]: key %q line %d vs %q line %d", path, i, ka.key, ka.line, kb.key, kb.line)
			}
			if d := treeDiff(ka.value, kb.value, fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
	}
	return ""
}
