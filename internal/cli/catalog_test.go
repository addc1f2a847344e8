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

// TestDemoCauses: the demo's services show exactly the causes they were
// designed for, one each, and the healthy one none.
func TestDemoCauses(t *testing.T) {
	_, out, errw := run(t, "", "demo", "--no-probe", "-o", "json")
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v; stderr %s", err, errw)
	}
	got := map[string][]string{}
	for _, f := range r.Findings {
		if f.Code == diagnose.CodeCheckSkipped {
			continue
		}
		if len(f.Services) != 1 {
			t.Errorf("finding %s names services %v, want one", f.Code, f.Services)
			continue
		}
		got[f.Services[0]] = append(got[f.Services[0]], f.Code+" "+f.Check)
	}
	want := map[string]string{
		"shop/orders":    "GWD102 wrong-node",
		"shop/payments":  "GWD104 port-changed",
		"shop/inventory": "GWD103 multiple-security-groups",
		"shop/search":    "GWD107 deny-rule-shadows",
		"shop/reviews":   "GWD105 service-down",
		"legacy/erp":     "GWD106 security-group-type-mismatch",
	}
	for svc, codes := range got {
		if len(codes) != 1 || codes[0] != want[svc] {
			t.Errorf("%s: %v, want [%s]", svc, codes, want[svc])
		}
	}
	for svc, code := range want {
		if len(got[svc]) == 0 {
			t.Errorf("%s: no finding, want %s", svc, code)
		}
	}
	if len(got["shop/cart"]) != 0 {
		t.Errorf("shop/cart is healthy but has %v", got["shop/cart"])
	}
}
