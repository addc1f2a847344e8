package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// unresolvable writes a copy of the wrong-node baseline in which the orders
// pod's IP is on no ENI and it names no node: its verdict is unknown and the
// catalog reports GWD002 for it.
func unresolvable(t *testing.T) (working, broken string) {
	t.Helper()
	working, _ = pair("wrong-node")
	data, err := os.ReadFile(working)
	if err != nil {
		t.Fatal(err)
	}
	old := "{ip: 172.20.1.10, port: 8080, pod: orders-7d9f-abc12, node: node-a}"
	if !strings.Contains(string(data), old) {
		t.Fatalf("fixture changed: %s lacks %s", working, old)
	}
	broken = filepath.Join(t.TempDir(), "now.yaml")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(data), old, "{ip: 172.20.9.9, port: 8080, pod: orders-7d9f-abc12}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return working, broken
}

func TestDiagnoseBaselineAnnotates(t *testing.T) {
	working, broken := unresolvable(t)
	code, out, errw := run(t, "", "diagnose", broken, "--baseline", working, "-o", "json")
	if code != ExitInconclusive {
		t.Fatalf("exit %d, want 3 (only an unknown verdict); stderr %s", code, errw)
	}
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Baseline == nil || r.Baseline.New != 1 || len(r.Baseline.Regressions) != 1 || r.Baseline.Regressions[0].After != "unknown" {
		t.Fatalf("baseline %+v", r.Baseline)
	}
	// (Other checks of the catalog may report more; only what this change
	// causes is asserted.)
	status := func(r diagnose.Report, code string) string {
		for _, f := range r.Findings {
			if f.Code == code {
				return f.Status
			}
		}
		return "absent"
	}
	if got := status(r, diagnose.CodeVerdictUnknown); got != diagnose.StatusNew {
		t.Errorf("GWD002 status %q, want new; findings %+v", got, r.Findings)
	}

	// The other way round the finding is fixed: listed with status fixed,
	// not counted, and the run exits 0.
	code, out, _ = run(t, "", "diagnose", working, "--baseline", broken, "-o", "json")
	r = diagnose.Report{}
	_ = json.Unmarshal([]byte(out), &r)
	if got := status(r, diagnose.CodeVerdictUnknown); code != ExitOK || got != diagnose.StatusFixed || r.Summary.Warnings != 0 || len(r.Baseline.Recovered) != 1 || r.Baseline.Fixed < 1 {
		t.Errorf("fixed: exit %d, GWD002 %q, findings %+v, summary %+v", code, got, r.Findings, r.Summary)
	}
	if last := r.Findings[len(r.Findings)-1]; last.Status != diagnose.StatusFixed {
		t.Errorf("fixed findings must come last: %+v", r.Findings)
	}
}

func TestDiagnoseBaselineLeadsWithRegressions(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	b, c := pair("wrong-node")
	code, out, _ := run(t, "", "diagnose", c, "--baseline", b)
	reg := strings.Index(out, "Regressions since baseline")
	svc := strings.Index(out, "BROKEN shop/orders")
	if code != ExitFindings || reg < 0 || svc < 0 || reg > svc {
		t.Fatalf("exit %d; the regressions block must come before the services:\n%s", code, out)
	}
	if !strings.Contains(out, "✗ shop/orders 172.20.2.10:8080 (pod orders-7d9f-abc12)  reachable → blocked") {
		t.Errorf("regression line missing:\n%s", out)
	}
	_, md, _ := run(t, "", "diagnose", c, "--baseline", b, "-o", "markdown")
	if !strings.Contains(md, "### Regressions since baseline\n\n- `shop/orders 172.20.2.10:8080` (pod orders-7d9f-abc12): reachable → **blocked**") {
		t.Errorf("markdown:\n%s", md)
	}
	// Without --baseline nothing changes.
	_, plain, _ := run(t, "", "diagnose", c)
	if strings.Contains(plain, "baseline") {
		t.Errorf("baseline text without --baseline:\n%s", plain)
	}
}

func TestDiagnoseBaselineInputErrors(t *testing.T) {
	b, c := pair("wrong-node")
	for name, args := range map[string][]string{
		"missing baseline":   {"diagnose", c, "--baseline", "nope.yaml"},
		"malformed baseline": {"diagnose", c, "--baseline", "testdata/malformed.yaml"},
		"both stdin":         {"diagnose", "-", "--baseline", "-"},
	} {
		code, _, errw := run(t, "", args...)
		if code != ExitInput || !strings.Contains(errw, "--baseline") {
			t.Errorf("%s: exit %d, stderr %q", name, code, errw)
		}
	}
	_ = b
}

func TestBaselineOfAnotherGatewayWarns(t *testing.T) {
	b, c := pair("wrong-node")
	data, err := os.ReadFile(c)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(other, []byte(strings.Replace(string(data), "id: gw-1", "id: gw-2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"diagnose", other, "--baseline", b}, {"verify", other, "--baseline", b}, {"diff", b, other}} {
		_, _, errw := run(t, "", args...)
		if !strings.Contains(errw, "the baseline is of gateway gw-1, the current state of gateway gw-2") {
			t.Errorf("%v: no warning about another gateway: %q", args, errw)
		}
	}
	if _, _, errw := run(t, "", "diff", b, c); strings.Contains(errw, "warning") {
		t.Errorf("same gateway, yet %q", errw)
	}
}
