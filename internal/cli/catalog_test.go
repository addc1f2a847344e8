package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

func TestChecksListsEveryCode(t *testing.T) {
	code, out, errw := run(t, "", "checks")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errw)
	}
	for _, c := range diagnose.Catalog {
		if !strings.Contains(out, c.ID) || !strings.Contains(out, c.Slug) {
			t.Errorf("checks output lacks %s %s", c.ID, c.Slug)
		}
	}
	code, out, _ = run(t, "", "checks", "-o", "json")
	var entries []catalogEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil || code != 0 {
		t.Fatalf("checks -o json: exit %d, %v", code, err)
	}
	if len(entries) != len(diagnose.Catalog) {
		t.Errorf("%d entries, want %d", len(entries), len(diagnose.Catalog))
	}
	for _, e := range entries {
		if e.Check == "" || len(e.Severities) == 0 || (e.Code != diagnose.CodeCheckSkipped && (len(e.Inputs) == 0 || e.Doc == "")) {
			t.Errorf("incomplete entry %+v", e)
		}
	}
	if code, _, _ := run(t, "", "checks", "-o", "xml"); code != ExitInput {
		t.Errorf("checks -o xml: exit %d, want 2", code)
	}
}

func TestExplain(t *testing.T) {
	code, out, _ := run(t, "", "explain", "wrong-node")
	for _, want := range []string{"GWD102 wrong-node", "SYMPTOM", "upstream connect error", "CAUSE", "HOW GWDOCTOR DETECTS IT", "FIX", "aliyun mse AddSecurityGroupRule --GatewayUniqueId", "RELATED"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain wrong-node lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	if code, out2, _ := run(t, "", "explain", "gwd102"); code != 0 || out2 != out {
		t.Errorf("explain by lower-case ID differs from by slug (exit %d)", code)
	}
	code, _, errw := run(t, "", "explain", "wrong-nod")
	if code != ExitInput || !strings.Contains(errw, "did you mean") || !strings.Contains(errw, "GWD102 wrong-node") {
		t.Errorf("unknown code: exit %d, stderr %q", code, errw)
	}
	if code, _, _ := run(t, "", "explain"); code != ExitInput {
		t.Errorf("explain without argument: exit %d, want 2", code)
	}
}
