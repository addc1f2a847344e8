package checks

import (
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// precedenceBase: gateway sg-gw (normal, vpc-1); node n1 with primary ENI
// eni-1 (group sg-a) and a pod ENI eni-2 (group sg-p); node n2 with sg-b.
// Each case appends to it so that two or more causes apply at once, and the
// classification must pick the most specific.
const precedenceBase = `version: 1
region: cn-hangzhou
gateway:
  id: gw-1
  vpcId: vpc-1
  securityGroupId: sg-gw
  addresses: [192.168.0.0/24]
  authorizations: %AUTHS%
securityGroups:
  - {id: sg-gw, type: %GWTYPE%, vpcId: vpc-1 %GWRULES%}
  - {id: sg-a, type: %ATYPE%, vpcId: vpc-1, rules: %ARULES%}
  - {id: sg-p, type: %PTYPE%, vpcId: %PVPC%, rules: %PRULES%}
  - {id: sg-b, type: normal, vpcId: vpc-1, rules: %BRULES%}
  - {id: sg-e, type: enterprise, vpcId: vpc-1}
nodes:
  - name: n1
    vpcId: %NVPC%
    enis:
      - {id: eni-1, primary: true, ips: [10.0.0.1], securityGroupIds: [sg-a]}
      - {id: eni-2, ips: [10.0.0.2], securityGroupIds: [sg-p]}
  - name: n2
    vpcId: vpc-1
    enis:
      - {id: eni-3, primary: true, ips: [10.0.0.3], securityGroupIds: [sg-b]}
services:
  - name: s
    namespace: ns
    endpoints: [{ip: 10.0.0.2, port: %PORT%, node: n1}]
`

func gwRule(id, ports string) string {
	return `{id: ` + id + `, direction: ingress, policy: accept, priority: 1, protocol: TCP, portRange: "` + ports + `", sourceGroupId: sg-gw}`
}

func cidrRule(id, ports, cidr string) string {
	return `{id: ` + id + `, direction: ingress, policy: accept, priority: 1, protocol: TCP, portRange: "` + ports + `", sourceCidr: ` + cidr + `}`
}

func TestClassificationPrecedence(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"nothing anywhere", map[string]string{}, diagnose.CodeMissingAuthorization},
		{"authorized on the other node only", map[string]string{"%AUTHS%": `[{id: "1", securityGroupId: sg-b, portRange: 8080/8080}]`, "%BRULES%": "[" + gwRule("r-b", "8080/8080") + "]"}, diagnose.CodeWrongNode},
		{"on the node's other ENI beats other nodes", map[string]string{
			"%AUTHS%":  `[{id: "1", securityGroupId: sg-a, portRange: 8080/8080}, {id: "2", securityGroupId: sg-b, portRange: 8080/8080}]`,
			"%ARULES%": "[" + gwRule("r-a", "8080/8080") + "]", "%BRULES%": "[" + gwRule("r-b", "8080/8080") + "]"}, diagnose.CodeMultipleGroups},
		{"own ENI authorized on another port beats the other ENI", map[string]string{
			"%AUTHS%":  `[{id: "1", securityGroupId: sg-a, portRange: 8080/8080}, {id: "2", securityGroupId: sg-p, portRange: 9090/9090}]`,
			"%ARULES%": "[" + gwRule("r-a", "8080/8080") + "]", "%PRULES%": "[" + gwRule("r-p", "9090/9090") + "]"}, diagnose.CodePortChanged},
		{"authorization for this port without its rule beats the other port", map[string]string{
			"%AUTHS%":  `[{id: "2", securityGroupId: sg-p, portRange: 8080/8080}, {id: "3", securityGroupId: sg-p, portRange: 9090/9090}]`,
			"%PRULES%": "[" + gwRule("r-p", "9090/9090") + "]"}, diagnose.CodeAuthorizationSync},
		{"type mismatch beats the missing rule", map[string]string{"%PTYPE%": "enterprise", "%ATYPE%": "enterprise",
			"%AUTHS%": `[{id: "2", securityGroupId: sg-p, portRange: 8080/8080}]`}, diagnose.CodeGroupTypeMismatch},
		{"another VPC beats the type", map[string]string{"%PTYPE%": "enterprise", "%ATYPE%": "enterprise", "%PVPC%": "vpc-2"}, diagnose.CodeVPCMismatch},
		{"a shadowing drop beats everything", map[string]string{"%PVPC%": "vpc-1",
			"%AUTHS%":  `[{id: "2", securityGroupId: sg-p, portRange: 8080/8080}]`,
			"%PRULES%": "[" + gwRule("r-p", "8080/8080") + `, {id: r-drop, direction: ingress, policy: drop, priority: 1, protocol: TCP, portRange: 8080/8080, sourceCidr: 0.0.0.0/0}]`}, diagnose.CodeDenyRuleShadows},
		{"a drop with nothing to shadow is not deny-rule-shadows", map[string]string{
			"%PRULES%": `[{id: r-drop, direction: ingress, policy: drop, priority: 1, protocol: TCP, portRange: 8080/8080, sourceCidr: 0.0.0.0/0}]`}, diagnose.CodeMissingAuthorization},
		{"the gateway group's egress drop", map[string]string{
			"%GWRULES%": `, rules: [{id: e-drop, direction: egress, policy: drop, priority: 1, protocol: TCP, portRange: 8080/8080, destCidr: 0.0.0.0/0}]`,
			"%AUTHS%":   `[{id: "2", securityGroupId: sg-p, portRange: 8080/8080}]`, "%PRULES%": "[" + gwRule("r-p", "8080/8080") + "]"}, diagnose.CodeGatewayEgress},
		{"an enterprise gateway group with no egress rule at all denies: GWD112", map[string]string{"%GWTYPE%": "enterprise",
			"%PRULES%": "[" + cidrRule("r-p", "8080/8080", "192.168.0.0/24") + "]"}, diagnose.CodeGatewayEgress},
		{"an enterprise gateway group's egress default deny is not port-changed", map[string]string{"%GWTYPE%": "enterprise",
			"%GWRULES%": `, rules: [{id: e-9090, direction: egress, policy: accept, priority: 1, protocol: TCP, portRange: 9090/9090, destCidr: 0.0.0.0/0}]`,
			"%PRULES%":  "[" + cidrRule("r-p", "8080/8080", "192.168.0.0/24") + "]"}, diagnose.CodeGatewayEgress},
		{"an unrelated SSH rule from the VPC CIDR is not a grant: wrong-node, not port-changed", map[string]string{
			"%AUTHS%":  `[{id: "1", securityGroupId: sg-b, portRange: 8080/8080}]`,
			"%BRULES%": "[" + gwRule("r-b", "8080/8080") + "]", "%PRULES%": "[" + cidrRule("r-ssh", "22/22", "192.168.0.0/16") + "]"}, diagnose.CodeWrongNode},
		{"443 from anywhere is not a grant: missing-authorization", map[string]string{
			"%PRULES%": "[" + cidrRule("r-443", "443/443", "0.0.0.0/0") + "]"}, diagnose.CodeMissingAuthorization},
		{"a CIDR rule inside the gateway's addresses is a grant: port-changed", map[string]string{
			"%PRULES%": "[" + cidrRule("r-gw", "9090/9090", "192.168.0.0/24") + "]"}, diagnose.CodePortChanged},
		{"a grant on this port and another: not port-changed", map[string]string{"%PTYPE%": "enterprise", "%ATYPE%": "enterprise",
			"%PRULES%": "[" + cidrRule("r-9090", "9090/9090", "192.168.0.0/24") + ", " + gwRule("r-p", "8080/8080") + "]"}, diagnose.CodeGroupTypeMismatch},
		{"an enterprise gateway and an enterprise backend with an authorization: type mismatch, not a rule gone", map[string]string{
			"%GWTYPE%": "enterprise", "%GWRULES%": `, rules: [{id: e-all, direction: egress, policy: accept, priority: 1, protocol: ALL, portRange: -1/-1, destCidr: 0.0.0.0/0}]`, "%PTYPE%": "enterprise", "%ATYPE%": "enterprise",
			"%AUTHS%": `[{id: "2", securityGroupId: sg-p, portRange: 8080/8080}]`, "%PRULES%": "[" + gwRule("r-p", "8080/8080") + "]"}, diagnose.CodeGroupTypeMismatch},
		{"an enterprise gateway, a normal backend authorized: type mismatch", map[string]string{"%GWTYPE%": "enterprise", "%GWRULES%": `, rules: [{id: e-all, direction: egress, policy: accept, priority: 1, protocol: ALL, portRange: -1/-1, destCidr: 0.0.0.0/0}]`,
			"%AUTHS%": `[{id: "2", securityGroupId: sg-p, portRange: 8080/8080}]`}, diagnose.CodeGroupTypeMismatch},
		{"a node in another VPC allowed by a CIDR rule is vpc-mismatch", map[string]string{"%NVPC%": "vpc-2",
			"%PRULES%": "[" + cidrRule("r-gw", "8080/8080", "192.168.0.0/24") + "]"}, diagnose.CodeVPCMismatch},
		{"an authorization for a deleted group makes it wrong-node (on no node)", map[string]string{
			"%AUTHS%": `[{id: "9", securityGroupId: sg-gone, portRange: 8080/8080}]`}, diagnose.CodeWrongNode},
		{"an enterprise group's grant cannot make it wrong-node", map[string]string{
			"%AUTHS%": `[{id: "9", securityGroupId: sg-e, portRange: 8080/8080}]`}, diagnose.CodeMissingAuthorization},
	}
	defaults := map[string]string{"%GWTYPE%": "normal", "%NVPC%": "vpc-1", "%AUTHS%": "[]", "%GWRULES%": "", "%ARULES%": "[]", "%PRULES%": "[]", "%BRULES%": "[]", "%PTYPE%": "normal", "%PVPC%": "vpc-1", "%PORT%": "8080", "%ATYPE%": "normal"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := precedenceBase
			for k, def := range defaults {
				v, ok := c.vars[k]
				if !ok {
					v = def
				}
				src = strings.ReplaceAll(src, k, v)
			}
			s, err := snapshot.Parse(c.name+".yaml", []byte(src))
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			v := diagnose.NewView(s)
			f := factsOf(v)
			got := f.causeOf(0)
			if got == nil {
				t.Fatalf("no cause; verdict %s, decision %v", v.Endpoints[0].Verdict, v.Endpoints[0].Decision.Verdict)
			}
			if got.code != c.want {
				t.Errorf("cause %s, want %s", got.code, c.want)
			}
		})
	}
}
