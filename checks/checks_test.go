package checks

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func TestCatalogMeta(t *testing.T) {
	names := map[string]bool{}
	emitted := map[string]string{}
	for _, c := range All() {
		if c.Name == "" || names[c.Name] {
			t.Errorf("check name %q empty or duplicated", c.Name)
		}
		names[c.Name] = true
		if _, ok := diagnose.LookupCode(c.Name); !ok {
			t.Errorf("check %s: its name is not a catalog slug", c.Name)
		}
		if lines := strings.Split(strings.TrimSpace(c.Doc), "\n"); len(lines) < 3 || len(lines[0]) < 20 {
			t.Errorf("check %s: Doc needs a summary line and a description of how it decides", c.Name)
		}
		if len(c.Codes) == 0 || c.Run == nil || len(c.Requires) == 0 {
			t.Errorf("check %s: needs codes, inputs and Run", c.Name)
		}
		for _, code := range c.Codes {
			cc, ok := diagnose.LookupCode(code)
			if !ok || cc.ID != code {
				t.Errorf("check %s declares %q, not a catalog code ID", c.Name, code)
			}
			if prev, dup := emitted[code]; dup {
				t.Errorf("code %s declared by both %s and %s", code, prev, c.Name)
			}
			emitted[code] = c.Name
		}
		for _, in := range c.Requires {
			if missing, why := (&diagnose.View{Snapshot: fullSnapshotForInputs()}).InputMissing(in); missing && strings.HasPrefix(why, "unknown input") {
				t.Errorf("check %s requires unknown input %q", c.Name, in)
			}
		}
	}
	for _, code := range diagnose.Catalog {
		if code.ID == diagnose.CodeCheckSkipped {
			continue // the engine emits it
		}
		if _, ok := emitted[code.ID]; !ok {
			t.Errorf("catalog code %s %s is emitted by no check", code.ID, code.Slug)
		}
	}
}

// fullSnapshotForInputs is only used to ask InputMissing whether an input
// name is known.
func fullSnapshotForInputs() *snapshot.Snapshot { return &snapshot.Snapshot{} }

func TestEveryCodeHasAnArticle(t *testing.T) {
	for _, code := range diagnose.Catalog {
		a, c, ok := ArticleFor(code.Slug)
		if !ok || c.ID != code.ID {
			t.Errorf("%s %s: no article", code.ID, code.Slug)
			continue
		}
		for name, s := range map[string]string{"Symptom": a.Symptom, "Cause": a.Cause, "Detection": a.Detection, "Fix": a.Fix} {
			if len(strings.TrimSpace(s)) < 30 {
				t.Errorf("%s: article section %s too short", code.ID, name)
			}
		}
		for _, r := range a.Related {
			if _, ok := diagnose.LookupCode(r); !ok {
				t.Errorf("%s: related code %q unknown", code.ID, r)
			}
		}
		text := a.Text(c)
		for _, want := range []string{code.ID, code.Slug, "SYMPTOM", "CAUSE", "HOW GWDOCTOR DETECTS IT", "FIX"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: article text lacks %q", code.ID, want)
			}
		}
	}
	if _, _, ok := ArticleFor("GWD999"); ok {
		t.Error("ArticleFor(GWD999) found something")
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{"wrong-nod": "GWD102 wrong-node", "GWD10": "GWD101", "port": "GWD104 port-changed", "stale": "GWD303 stale-authorization"} {
		got := Suggest(in, 3)
		if len(got) == 0 || !strings.HasPrefix(got[0], want) && !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("Suggest(%q) = %v, want %q among them", in, got, want)
		}
	}
}

// TestReportedCodesAreDeclared scans the package source: every
// diagnose.Code* constant used in a check file's Finding literal must be
// among that check's declared codes. A Report of an undeclared code is also
// caught at run time (Pass.Report), but only on the paths a test runs.
func TestReportedCodesAreDeclared(t *testing.T) {
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	declared := map[string][]string{} // file → codes in its Check literal
	used := map[string][]string{}     // file → codes in Finding literals
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			key, _ := kv.Key.(*ast.Ident)
			if key == nil {
				return true
			}
			ast.Inspect(kv.Value, func(m ast.Node) bool {
				if sel, ok := m.(*ast.SelectorExpr); ok && strings.HasPrefix(sel.Sel.Name, "Code") {
					switch key.Name {
					case "Codes":
						declared[name] = append(declared[name], sel.Sel.Name)
					case "Code":
						used[name] = append(used[name], sel.Sel.Name)
					}
				}
				return true
			})
			return true
		})
	}
	for file, codes := range used {
		if file == "explain.go" || declared[file] == nil {
			continue // articles and shared helpers
		}
		for _, c := range codes {
			if !slices.Contains(declared[file], c) {
				t.Errorf("%s reports %s but its check does not declare it", file, c)
			}
		}
	}
}
