package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// A not-ready endpoint is never counted reachable: not in the summary line,
// the service header, the JSON summary nor the Markdown summary.
func TestNotReadyNeverCountedReachable(t *testing.T) {
	path := "../../testdata/scenarios/service-down-not-ready.yaml"
	_, out, _ := run(t, "", "diagnose", path, "-o", "json")
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Summary.Reachable != 1 || r.Summary.NotReady != 1 || r.Summary.Endpoints != 2 {
		t.Errorf("JSON summary %+v, want 1 reachable and 1 not ready of 2", r.Summary)
	}
	if s := r.Summary; s.Reachable+s.NotReady+s.Blocked+s.Unknown != s.Endpoints {
		t.Errorf("JSON summary %+v does not add up", s)
	}
	_, text, _ := run(t, "", "diagnose", path)
	for _, want := range []string{"2 endpoints: 1 reachable, 1 not ready, 0 blocked", "shop/orders  2 endpoints: 1 reachable, 1 not ready"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	_, md, _ := run(t, "", "diagnose", path, "-o", "markdown")
	if !strings.Contains(md, "1 reachable, 1 not ready") {
		t.Errorf("markdown lacks the not-ready count:\n%s", md)
	}
}

// Suppressing the finding that names a blocked endpoint hides the finding,
// not the outage: every format still shows the endpoint blocked and says a
// finding was suppressed, and the exit code stays 1 (README, exit codes) —
// diagnose in text, JSON and Markdown, and verify with its JUnit file.
func TestSuppressedCauseStillFails(t *testing.T) {
	path := "../../testdata/scenarios/wrong-node.yaml"
	for _, format := range []string{"text", "json", "markdown"} {
		code, out, errw := run(t, "", "diagnose", path, "-o", format, "--suppress", "GWD102")
		if code != ExitFindings {
			t.Errorf("%s: exit %d, want %d\n%s%s", format, code, ExitFindings, out, errw)
		}
		switch format {
		case "json":
			var r diagnose.Report
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Summary.Blocked != 1 || r.Filter == nil || r.Filter.SuppressedFinding != 1 {
				t.Errorf("json: summary %+v, filter %+v; want 1 blocked and 1 suppressed finding", r.Summary, r.Filter)
			}
			for _, f := range r.Findings {
				if f.Code == diagnose.CodeWrongNode {
					t.Errorf("json: the suppressed finding is still there: %s", f.Message)
				}
			}
		default:
			for _, want := range []string{"1 blocked", "BROKEN", "1 finding suppressed (GWD102)"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s lacks %q:\n%s", format, want, out)
				}
			}
			if strings.Contains(out, "GWD102 wrong-node") {
				t.Errorf("%s still prints the suppressed finding:\n%s", format, out)
			}
		}
	}
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, out, errw := run(t, "", "verify", path, "--suppress", "GWD102", "--junit", junit)
	if code != ExitFindings {
		t.Errorf("verify: exit %d, want %d\n%s%s", code, ExitFindings, out, errw)
	}
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(x), "10.0.2.11:8080") || !strings.Contains(string(x), "<failure") {
		t.Errorf("JUnit does not fail the blocked endpoint:\n%s", x)
	}
}

// --fail-on info exits 1 when infos are printed, check-skipped notes
// included; the default threshold does not.
func TestFailOnInfoCountsSkippedChecks(t *testing.T) {
	path := "../../testdata/scenarios/check-skipped.yaml"
	for _, format := range []string{"text", "json", "markdown"} {
		if code, out, _ := run(t, "", "diagnose", path, "-o", format, "--fail-on", "info"); code != ExitFindings {
			t.Errorf("%s --fail-on info: exit %d, want %d\n%s", format, code, ExitFindings, out)
		}
		if code, out, _ := run(t, "", "diagnose", path, "-o", format); code != ExitOK {
			t.Errorf("%s: exit %d, want %d\n%s", format, code, ExitOK, out)
		}
	}
}
