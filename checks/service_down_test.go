package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// TestServiceWithNoEndpointsSaysSo: GWD105 on a service without endpoints
// says there are none and what selects them (selector, replicas,
// EndpointSlices), never "not ready" and never a probe of an address it
// does not have.
func TestServiceWithNoEndpointsSaysSo(t *testing.T) {
	src := `version: 1
region: cn-hangzhou
gateway: {id: gw-1, securityGroupId: sg-gw, vpcId: vpc-a}
securityGroups:
  - {id: sg-gw, vpcId: vpc-a}
services:
  - {name: orders, namespace: shop, source: k8s, endpoints: []}
  - {name: legacy, source: ecs, endpoints: []}
  - {name: plain, namespace: shop}
  - {name: cart, namespace: shop, endpoints: [{ip: 10.0.0.3, port: 8080}]}
`
	s, err := snapshot.Parse("none.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := diagnose.Run(context.Background(), diagnose.NewView(s), All())
	seen := 0
	for _, f := range r.Findings {
		if f.Code != diagnose.CodeServiceDown {
			continue
		}
		seen++
		text := f.Message + "\n" + strings.Join(f.Evidence, "\n") + "\n" + strings.Join(f.Remediation.Steps, "\n") + "\n" + strings.Join(f.Remediation.Commands, "\n")
		if !strings.Contains(f.Message, "has no endpoints") {
			t.Errorf("%v: message %q does not say there are no endpoints", f.Services, f.Message)
		}
		for _, wrong := range []string{"not ready", "not listening", "gwdoctor probe", "<"} {
			if strings.Contains(text, wrong) {
				t.Errorf("%v: says %q for a service without endpoints:\n%s", f.Services, wrong, text)
			}
		}
		if svc := f.Services[0]; svc != "legacy" {
			for _, want := range []string{"selector", "replicas", "EndpointSlices", "kubectl -n shop get endpointslices"} {
				if !strings.Contains(text, want) {
					t.Errorf("%s: fix lacks %q:\n%s", svc, want, text)
				}
			}
		}
	}
	if seen != 3 {
		t.Errorf("%d GWD105 findings, want one per service without endpoints (3)", seen)
	}
}
