package words

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 findings", 1: "1 finding", 2: "2 findings", 11: "11 findings"} {
		if got := Count(n, "finding", "findings"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

// countedPlural is a format verb followed by a plural noun: "%d findings"
// prints "1 findings" when the count is one.
var countedPlural = regexp.MustCompile(`%d ([a-z]+ )?[a-z]+s\b`)

// verbs end in s but are not plural nouns.
var verbs = map[string]bool{"is": true, "has": true, "was": true, "does": true, "lets": true, "expands": true, "starts": true}

// allowedPlural marks a format whose count is never one (a constant limit,
// a count checked to be more than one); the line says so.
const allowedPlural = "//words:never-one"

// TestNoCountedPluralFormats: no output formats a count straight before a
// plural noun; they use Count (or the line says why the count is never 1).
func TestNoCountedPluralFormats(t *testing.T) {
	root, _ := filepath.Abs("../..")
	fset := token.NewFileSet()
	files := 0
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		files++
		lines := strings.Split(string(src), "\n")
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range countedPlural.FindAllStringIndex(s, -1) {
				// "%d of (the) %d endpoints": the noun follows the total;
				// "IPv%d addresses" is no count; "%d is" a verb.
				last := s[m[0]:m[1]]
				last = last[strings.LastIndex(last, " ")+1:]
				if strings.HasSuffix(s[:m[0]], "of ") || strings.HasSuffix(s[:m[0]], "of the ") || strings.HasSuffix(s[:m[0]], "of its ") || strings.HasPrefix(s[m[0]:], "%d of") ||
					strings.HasSuffix(s[:m[0]], "IPv") || verbs[last] {
					continue
				}
				pos := fset.Position(lit.Pos())
				if strings.Contains(lines[pos.Line-1], allowedPlural) {
					continue
				}
				rel, _ := filepath.Rel(root, pos.Filename)
				t.Errorf("%s:%d: %q prints \"1 …s\" for one; use words.Count (or mark the line %s)", rel, pos.Line, s[m[0]:m[1]], allowedPlural)
			}
			return true
		})
		return nil
	})
	if files < 50 {
		t.Fatalf("scanned only %d files", files)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"orders", "orders", 0}, {"", "abc", 3}, {"order", "orders", 1},
		{"wrong-nod", "wrong-node", 1}, {"kitten", "sitting", 3}, {"zoné", "zone", 1},
	} {
		if got := EditDistance(c.a, c.b); got != c.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := EditDistance(c.b, c.a); got != c.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d (symmetric)", c.b, c.a, got, c.want)
		}
	}
}
