package testenv

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// notEnvironment marks a skip that has nothing to do with the machine (a
// -short run, a test that is only a child process's role); it stays a skip
// in CI.
const notEnvironment = "//testenv:not-environment"

// TestEverySkipGoesThroughTestenv: a test that skips because the machine
// lacks something (root, a tool, IPv6, namespaces) must call Skip or a Need
// helper, or it skips silently in CI where GWDOCTOR_REQUIRE_PRIVILEGED
// demands it run. Any other skip says why on its line.
func TestEverySkipGoesThroughTestenv(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == filepath.Join(root, "internal", "testenv") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return err
		}
		lines := strings.Split(string(src), "\n")
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "Skip", "Skipf", "SkipNow":
			default:
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "testenv" {
				return true
			}
			pos := fset.Position(call.Pos())
			if !strings.Contains(lines[pos.Line-1], notEnvironment) {
				rel, _ := filepath.Rel(root, pos.Filename)
				t.Errorf("%s:%d: skips directly; use testenv.Skip (or a Need helper) so CI fails instead, or mark it %s when the machine is not the reason", rel, pos.Line, notEnvironment)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("checked only %d test files under %s: the walk is broken", checked, root)
	}
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
