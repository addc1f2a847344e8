package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diff"
)

const diffScenarios = "../../testdata/diff"

func pair(name string) (string, string) {
	return filepath.Join(diffScenarios, name, "baseline.yaml"), filepath.Join(diffScenarios, name, "current.yaml")
}

// The real catalog runs here; the diff package's golden tests pin the
// details with a fixed test catalog.
func TestDiffExitCodes(t *testing.T) {
	for name, want := range map[string]int{
		"wrong-node": ExitFindings, "deny-rule": ExitFindings, "endpoints-gone": ExitFindings,
		"unrelated-only": ExitOK, "auth-widened": ExitOK, "node-pool-groups": ExitOK, "auth-added": ExitOK,
		"data-missing": ExitInconclusive,
	} {
		b, c := pair(name)
		code, out, errw := run(t, "", "diff", b, c, "-o", "json")
		if code != want {
			t.Errorf("%s: exit %d, want %d; stderr %s", name, code, want, errw)
			continue
		}
		var res diff.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.SchemaVersion != 1 {
			t.Errorf("%s: -o json is not a diff result: %v\n%s", name, err, out)
		}
	}
}

func TestDiffTextNamesTheCause(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	b, c := pair("wrong-node")
	code, out, _ := run(t, "", "diff", b, c)
	for _, want := range []string{"BROKEN", "Why it broke", "moved from node node-a in pool np-a (sg-a, authorized) to node node-b in pool np-b (sg-b, not authorized) [C1]", "Not listed"} {
		if !strings.Contains(out, want) {
			t.Errorf("text diff lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour written to a non-terminal")
	}
	_, md, _ := run(t, "", "diff", b, c, "-o", "markdown")
	if !strings.Contains(md, "### Why it broke") || !strings.Contains(md, "| C1 | `endpoint-moved` |") {
		t.Errorf("markdown diff:\n%s", md)
	}
}

func TestDiffFromStandardInput(t *testing.T) {
	b, c := pair("unrelated-only")
	data, err := os.ReadFile(c)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errw := run(t, string(data), "diff", b, "-")
	if code != ExitOK || !strings.Contains(out, "UNCHANGED") {
		t.Errorf("diff BASELINE -: exit %d\n%s%s", code, out, errw)
	}
}

func TestDiffInputErrors(t *testing.T) {
	b, _ := pair("wrong-node")
	for name, args := range map[string][]string{
		"one file":     {"diff", b},
		"bad format":   {"diff", b, b, "-o", "yaml"},
		"both stdin":   {"diff", "-", "-"},
		"missing":      {"diff", b, "does-not-exist.yaml"},
		"malformed":    {"diff", "testdata/malformed.yaml", "does-not-exist.yaml"},
		"unknown flag": {"diff", b, b, "--nope"},
	} {
		code, _, errw := run(t, "", args...)
		if code != ExitInput {
			t.Errorf("%s: exit %d, want 2; stderr %s", name, code, errw)
		}
		if name == "malformed" && (!strings.Contains(errw, "baseline: testdata/malformed.yaml:") || !strings.Contains(errw, "current: ")) {
			t.Errorf("both files' problems must be reported at once, with file:line:\n%s", errw)
		}
	}
}

func TestDiffArgumentCountSaysWhatTheFilesAre(t *testing.T) {
	for _, args := range [][]string{{"diff"}, {"diff", "a.yaml"}, {"diff", "a.yaml", "b.yaml", "c.yaml"}} {
		code, _, errw := run(t, "", args...)
		if code != ExitInput || !strings.Contains(errw, "BASELINE (from when it worked) and CURRENT (now)") || strings.Contains(errw, "arg(s)") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming BASELINE and CURRENT", args, code, errw)
		}
	}
}
