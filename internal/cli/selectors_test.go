package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/demo"
)

const twoOrdersSnapshot = `version: 1
gateway: {id: gw-1, securityGroupId: sg-gw, vpcId: vpc-a}
securityGroups:
  - {id: sg-gw, vpcId: vpc-a}
services:
  - {name: orders, namespace: shop, endpoints: [{ip: 10.0.0.1, port: 8080}]}
  - {name: orders, namespace: billing, endpoints: [{ip: 10.0.0.2, port: 8080}]}
  - {name: cart, namespace: shop, endpoints: [{ip: 10.0.0.3, port: 8080}, {ip: 10.0.0.3, port: 9090}]}
`

func TestServiceByNameAndSuggestions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(path, []byte(twoOrdersSnapshot), 0o644)
	for _, c := range []struct {
		service string
		code    int
		want    string // in stderr, or the filter in JSON
	}{
		{"cart", -1, "shop/cart"},
		{"shop/cart", -1, "shop/cart"},
		{"orders", ExitInput, "2 services are named orders (billing/orders, shop/orders): give NAMESPACE/NAME"},
		{"shop/order", ExitInput, "did you mean shop/orders?"},
		{"ordrs", ExitInput, "did you mean billing/orders or shop/orders?"},
		{"zzzzzz", ExitInput, "no such service in the snapshot (services are NAMESPACE/NAME)"},
	} {
		for _, command := range []string{"diagnose", "verify"} {
			code, out, errw := run(t, "", command, path, "--service", c.service, "-o", "json")
			if c.code == ExitInput {
				if code != ExitInput || !strings.Contains(errw, c.want) {
					t.Errorf("%s --service %s: exit %d, stderr %q; want exit 2 with %q", command, c.service, code, errw, c.want)
				}
				continue
			}
			if code == ExitInput || !strings.Contains(out, `"`+c.want+`"`) || strings.Contains(out, "10.0.0.1") {
				t.Errorf("%s --service %s: exit %d, stderr %q; want only %s", command, c.service, code, errw, c.want)
			}
		}
	}
}

// TestEndpointSelectsItsRowAndFindings: for every endpoint of the demo,
// --endpoint IP:PORT (and IP alone) keeps exactly its rows and every
// finding that names it, and no finding about another endpoint.
func TestEndpointSelectsItsRowAndFindings(t *testing.T) {
	snap, err := demo.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	full := diagnoseSnapshot(t.Context(), snap, nil)
	for _, e := range full.Endpoints {
		addr := diagnose.JoinHostPort(e.IP, e.Port)
		for _, given := range []string{addr, e.IP} {
			code, out, errw := run(t, "", "demo", "--no-probe", "--endpoint", given, "-o", "json")
			if code == ExitInput {
				t.Fatalf("--endpoint %s: %s", given, errw)
			}
			var r diagnose.Report
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			for _, got := range r.Endpoints {
				if got.IP != e.IP || (given == addr && got.Port != e.Port) {
					t.Errorf("--endpoint %s kept %s %s:%d", given, got.Service, got.IP, got.Port)
				}
			}
			if len(r.Endpoints) == 0 {
				t.Errorf("--endpoint %s kept no endpoint", given)
			}
			subject := e.Service + " " + addr
			for _, f := range full.Findings {
				names := strings.Contains(strings.Join(f.Subjects, "|"), subject)
				if names && !hasFinding(&r, f.Code, subject) {
					t.Errorf("--endpoint %s dropped %s, which names it", given, f.Code)
				}
			}
			for _, f := range r.Findings {
				for _, s := range f.Subjects {
					if strings.Contains(s, " ") && !strings.Contains(s, " "+e.IP+":") {
						t.Errorf("--endpoint %s kept %s about %s", given, f.Code, s)
					}
				}
			}
			if r.Filter == nil || len(r.Filter.Endpoints) != 1 || r.Filter.Endpoints[0] != given {
				t.Errorf("--endpoint %s: filter %+v does not say so", given, r.Filter)
			}
		}
	}
	// Hand-written: the IP of the wrong-node pod from a 503 log.
	code, out, _ := run(t, "", "demo", "--no-probe", "--endpoint", "127.0.20.11")
	if code != ExitFindings || !strings.Contains(out, "wrong-node") || strings.Contains(out, "port-changed") {
		t.Errorf("--endpoint 127.0.20.11: exit %d\n%s", code, out)
	}
	for _, bad := range []struct{ arg, want string }{
		{"10.0.0", "want IP or IP:PORT"},
		{"127.0.20.11:9999", "no endpoint of the snapshot has this address; at this IP: shop/orders 127.0.20.11:8080"},
		{"10.9.9.9", "no endpoint of the snapshot has this address"},
	} {
		code, _, errw := run(t, "", "demo", "--no-probe", "--endpoint", bad.arg)
		if code != ExitInput || !strings.Contains(errw, bad.want) {
			t.Errorf("--endpoint %s: exit %d, stderr %q; want exit 2 with %q", bad.arg, code, errw, bad.want)
		}
	}
}

func hasFinding(r *diagnose.Report, code, subject string) bool {
	for _, f := range r.Findings {
		if f.Code == code && strings.Contains(strings.Join(f.Subjects, "|"), subject) {
			return true
		}
	}
	return false
}

func TestVerifyEndpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(path, []byte(twoOrdersSnapshot), 0o644)
	code, out, errw := run(t, "", "verify", path, "--endpoint", "10.0.0.3:9090", "-o", "json")
	if code == ExitInput || strings.Contains(out, "10.0.0.1") || strings.Contains(out, `"port": 8080`) || !strings.Contains(out, "9090") {
		t.Errorf("verify --endpoint 10.0.0.3:9090: exit %d, stderr %q\n%s", code, errw, out)
	}
}
