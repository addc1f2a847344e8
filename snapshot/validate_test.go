package snapshot

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// head is a valid start every case below builds on: the gateway and its group.
const head = "version: 1\ngateway: {id: gw-1, securityGroupId: sg-gw}\nsecurityGroups:\n  - id: sg-gw\n"

// markerLines returns the line numbers marked "#<" in src, once per '<'.
func markerLines(src string) []int {
	var lines []int
	for i, l := range strings.Split(src, "\n") {
		if _, mark, ok := strings.Cut(l, "#<"); ok {
			for range 1 + strings.Count(mark, "<") {
				lines = append(lines, i+1)
			}
		}
	}
	return lines
}

type loadCase struct {
	name string
	yaml string   // appended to head unless noHead
	want []string // "path: message", in line order; the lines come from #< markers
	// noHead: yaml is the whole document.
	noHead bool
	check  func(t *testing.T, s *Snapshot)
}

func runLoadCases(t *testing.T, cases []loadCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.yaml
			if !tc.noHead {
				src = head + tc.yaml
			}
			s, err := Parse("t.yaml", []byte(src))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				if tc.check != nil {
					tc.check(t, s)
				}
				return
			}
			if s != nil {
				t.Errorf("got a snapshot alongside an error")
			}
			lines := markerLines(src)
			if len(lines) != len(tc.want) {
				t.Fatalf("test bug: %d #< markers for %d wanted problems", len(lines), len(tc.want))
			}
			got := Problems(err)
			var gotText, wantText []string
			for _, p := range got {
				gotText = append(gotText, p.Error())
			}
			for i, w := range tc.want {
				wantText = append(wantText, fmt.Sprintf("t.yaml:%d: %s", lines[i], w))
			}
			if strings.Join(gotText, "\n") != strings.Join(wantText, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s\nsource:\n%s", strings.Join(gotText, "\n"), strings.Join(wantText, "\n"), src)
			}
		})
	}
}

func TestStrictDecoding(t *testing.T) {
	runLoadCases(t, []loadCase{
		{name: "unknown key suggests nearest (case)", yaml: `  - id: sg-a
    rules:
      - direction: ingress
        portRange: 80/80
        sourceCIDR: 10.0.0.0/8 #<
`, want: []string{`securityGroups[1].rules[0].sourceCIDR: unknown key "sourceCIDR"; did you mean "sourceCidr"?`}},
		{name: "unknown key suggests nearest (typo)", yaml: `  - id: sg-a
    rules:
      - direction: ingress
        portRange: 80/80
        sourceGroupID: sg-gw #<
        prority: 5 #<
`, want: []string{
			`securityGroups[1].rules[0].sourceGroupID: unknown key "sourceGroupID"; did you mean "sourceGroupId"?`,
			`securityGroups[1].rules[0].prority: unknown key "prority"; did you mean "priority"?`}},
		{name: "unknown key without a near one lists the keys", yaml: `nodePools:
  - id: np-1
    autoscaling: true #<
`, want: []string{`nodePools[0].autoscaling: unknown key "autoscaling"; expected one of: id, name, securityGroupIds`}},
		{name: "misspelt top-level key does not cascade", noHead: true, yaml: `version: 1
gatway: #<
  id: gw-1
  securityGroupId: sg-gw
`, want: []string{`gatway: unknown key "gatway"; did you mean "gateway"?`}},
		{name: "string where a list is expected", yaml: `nodePools:
  - id: np-1
    securityGroupIds: sg-gw #<
`, want: []string{`nodePools[0].securityGroupIds: expected a list, got the string "sg-gw"; write [sg-gw]`}},
		{name: "number where a string is expected", noHead: true, yaml: `version: 1
gateway:
  id: gw-1
  securityGroupId: sg-gw
  authorizations:
    - id: 1001 #<
      securityGroupId: sg-x
      portRange: 80/80
securityGroups: [{id: sg-gw}]
`, want: []string{`gateway.authorizations[0].id: expected a string, got the number 1001; quote it: "1001"`}},
		{name: "quoted number where a number is expected", yaml: `services:
  - name: a
    endpoints:
      - ip: 10.0.0.1
        port: "8080" #<
      - ip: 10.0.0.2
        port: 80.5 #<
      - ip: 10.0.0.3
        port: 80
        ready: "yes" #<
`, want: []string{
			`services[0].endpoints[0].port: expected a number, got the string "8080"; write 8080 without quotes`,
			`services[0].endpoints[1].port: expected a whole number, got 80.5`,
			`services[0].endpoints[2].ready: expected true or false, got the string "yes"`}},
		{name: "duplicate key", yaml: `nodePools:
  - id: np-1
    name: a
    name: b #<
`, want: []string{`nodePools[0].name: duplicate key "name" (first at line 7); each key may appear once`}},
		{name: "null where an object is needed", noHead: true, yaml: `version: 1
gateway: #<
securityGroups:
  - #<
`, want: []string{`gateway: expected an object, got null`, `securityGroups[0]: expected an object, got null`}},
		{name: "object where a string is expected", yaml: `region: {name: x} #<
`, want: []string{`region: expected a string, got an object`}},
		{name: "top level not an object", noHead: true, yaml: `- version: 1 #<
`, want: []string{`the top level is a list; expected an object with version: 1, gateway: …`}},
	})
}

func TestValidationRules(t *testing.T) {
	runLoadCases(t, []loadCase{
		{name: "version missing", noHead: true, yaml: `gateway: {id: gw-1, securityGroupId: sg-gw} #<
securityGroups: [{id: sg-gw}]
`, want: []string{`version: missing; expected version: 1`}},
		{name: "version 2", noHead: true, yaml: `version: 2 #<
gateway: {id: gw-1, securityGroupId: sg-gw}
securityGroups: [{id: sg-gw}]
`, want: []string{`version: version 2 is not supported; this gwdoctor reads version 1`}},
		{name: "gateway id and group required", noHead: true, yaml: `version: 1
gateway: #<<
  name: gw
`, want: []string{
			`gateway.id: missing; expected the MSE gateway ID (GatewayUniqueId, e.g. gw-3f9a)`,
			`gateway.securityGroupId: missing; expected the gateway's managed security group ID (e.g. sg-gw), or a missing: entry for part gateway`}},
		{name: "gateway group may be unknown when the gateway could not be read", noHead: true, yaml: `version: 1
gateway:
  id: gw-1
missing:
  - part: gateway
    error: "NoPermission"
`},
		{name: "times are RFC 3339", yaml: `capturedAt: 2026-11-28 10:00 #<
probes:
  - target: 10.0.0.1:80
    state: open
    at: yesterday #<
`, want: []string{
			`capturedAt: "2026-11-28 10:00" is not an RFC 3339 time; expected e.g. "2026-11-28T10:00:00Z"`,
			`probes[0].at: "yesterday" is not an RFC 3339 time; expected e.g. "2026-11-28T10:00:00Z"`}},
		{name: "port ranges", yaml: `  - id: sg-a
    rules:
      - {direction: ingress, portRange: "8080-8081"} #<
      - {direction: ingress, portRange: "0/10"} #<
      - {direction: ingress, portRange: "10/5"} #<
      - {direction: ingress, portRange: "-1/-1"} #<
      - {direction: ingress} #<
      - {direction: ingress, protocol: ICMP, portRange: "80/80"} #<
      - {direction: ingress, portRange: "a/b"} #<
      - {direction: ingress, portRangeListId: prl-1}
      - {direction: ingress, protocol: gre}
`, want: []string{
			`securityGroups[1].rules[0].portRange: "8080-8081" is not START/END; write "8080/8081"`,
			`securityGroups[1].rules[1].portRange: "0/10" is out of range: ports are 1..65535 (or -1/-1 for all)`,
			`securityGroups[1].rules[2].portRange: "10/5" is reversed: START must not exceed END`,
			`securityGroups[1].rules[3].portRange: "-1/-1" means all ports and is only for ICMP, GRE and ALL; a TCP rule needs START/END in 1..65535 (1/65535 for all ports)`,
			`securityGroups[1].rules[4].portRange: missing; a TCP rule needs START/END in 1..65535 (e.g. 8080/8080, or 1/65535 for all ports)`,
			`securityGroups[1].rules[5].portRange: "80/80" is not allowed for protocol ICMP; ICMP, GRE and ALL rules use -1/-1`,
			`securityGroups[1].rules[6].portRange: "a/b" is not START/END with whole numbers (e.g. 8080/8080)`,
		}},
		{name: "authorization port range and protocol", noHead: true, yaml: `version: 1
gateway:
  id: gw-1
  securityGroupId: sg-gw
  authorizations:
    - securityGroupId: sg-gone
      portRange: 8080-8080 #<
    - securityGroupId: sg-gone
      portRange: 80/80
      protocol: SCTP #<
    - id: "7" #<<
securityGroups: [{id: sg-gw}]
`, want: []string{
			`gateway.authorizations[0].portRange: "8080-8080" is not START/END; write "8080/8080"`,
			`gateway.authorizations[1].protocol: unknown protocol "SCTP"; expected one of: TCP, UDP, ICMP, GRE, ALL, ICMPV6`,
			`gateway.authorizations[2].securityGroupId: missing; expected the authorized backend security group ID`,
			// The TCP default applies, and a TCP authorization needs a range.
			`gateway.authorizations[2].portRange: missing; a TCP rule needs START/END in 1..65535 (e.g. 8080/8080, or 1/65535 for all ports)`,
		}},
		{name: "enums", yaml: `  - id: sg-a
    type: advanced #<
    innerAccessPolicy: maybe #<
    rules:
      - {direction: inbound, portRange: 80/80} #<
      - {portRange: 80/80} #<
      - {direction: ingress, policy: allow, portRange: 80/80} #<
      - {direction: ingress, protocol: http, portRange: 80/80} #<
  - id: sg-e
    type: enterprise
    innerAccessPolicy: Accept #<
services:
  - name: a
    source: mse #<
    protocol: ICMP #<
probes:
  - target: 10.0.0.1:80
    state: timeout #<
missing:
  - part: node #<
  - part: groups #<
  - part: zones #<
`, want: []string{
			`securityGroups[1].type: unknown type "advanced"; expected normal or enterprise`,
			`securityGroups[1].innerAccessPolicy: unknown policy "maybe"; expected accept or drop`,
			`securityGroups[1].rules[0].direction: unknown direction "inbound"; expected ingress or egress`,
			`securityGroups[1].rules[1].direction: missing; expected ingress or egress`,
			`securityGroups[1].rules[2].policy: unknown policy "allow"; expected accept or drop`,
			`securityGroups[1].rules[3].protocol: unknown protocol "http"; expected one of: TCP, UDP, ICMP, GRE, ALL, ICMPV6`,
			`securityGroups[2].innerAccessPolicy: accept is impossible on an enterprise group: enterprise groups always isolate their members; expected drop or nothing`,
			`services[0].source: unknown source "mse"; expected one of: k8s, ecs, fixed, dns, nacos`,
			`services[0].protocol: unknown protocol "ICMP"; expected one of: TCP, UDP`,
			`probes[0].state: unknown state "timeout"; expected one of: open, refused, filtered, unreachable, error`,
			`missing[0].part: unknown part "node"; did you mean "nodes"? (expected one of: gateway, authorizations, securityGroups, rules, nodePools, nodes, enis, services, endpoints, probes, cluster, eciProfile, acsProfile)`,
			`missing[1].part: unknown part "groups"; did you mean "securityGroups"? (expected one of: gateway, authorizations, securityGroups, rules, nodePools, nodes, enis, services, endpoints, probes, cluster, eciProfile, acsProfile)`,
			`missing[2].part: unknown part "zones"; expected one of: gateway, authorizations, securityGroups, rules, nodePools, nodes, enis, services, endpoints, probes, cluster, eciProfile, acsProfile`,
		}},
		{name: "backend kinds and serverless defaults", yaml: `  - id: sg-eci
nodes:
  - name: virtual-kubelet-cn-hangzhou-h
    kind: Virtual
  - instanceId: eci-1
    kind: container #<
    enis: [{id: eni-eci, primary: true, ips: [10.0.0.9], securityGroupIds: [sg-eci]}]
services:
  - name: a
    endpoints:
      - {ip: 10.0.0.9, port: 80, node: virtual-kubelet-cn-hangzhou-h, kind: ECI, annotatedSecurityGroupIds: [sg-eci]}
      - {ip: 10.0.0.8, port: 80, kind: serverless} #<
      - {ip: 10.0.0.7, port: 80, annotatedSecurityGroupIds: ["sg-a,sg-b", ""]} #<<
cluster:
  id: c-1
  securityGroupId: "sg-x sg-y" #<
  eciProfileSecurityGroupId: sg-eci
`, want: []string{
			`nodes[1].kind: unknown kind "container"; expected one of: ecs, virtual, eci, acs`,
			`services[0].endpoints[1].kind: unknown kind "serverless"; expected one of: pod, eci, acs, ecs`,
			`services[0].endpoints[2].annotatedSecurityGroupIds[0]: "sg-a,sg-b" is not one security group ID; list each ID as its own item, e.g. [sg-a, sg-b]`,
			`services[0].endpoints[2].annotatedSecurityGroupIds[1]: empty security group ID; expected an ID such as sg-eci`,
			`cluster.securityGroupId: "sg-x sg-y" is not one security group ID; list each ID as its own item, e.g. [sg-a, sg-b]`,
		}},
		{name: "virtual node with the ENIs of its pods", yaml: `  - id: sg-eci
  - id: sg-ent
    type: enterprise
nodes:
  - name: virtual-kubelet-cn-hangzhou-h
    enis:
      - {id: eni-a, primary: true, ips: [10.0.0.9], securityGroupIds: [sg-eci]}
      - {id: eni-b, primary: true, ips: [10.0.0.10], securityGroupIds: [sg-ent]}
services:
  - name: a
    endpoints:
      - {ip: 10.0.0.9, port: 80, kind: eci}
`, check: func(t *testing.T, s *Snapshot) {
			if k := s.Nodes[0].KindOf(); k != NodeKindVirtual {
				t.Errorf("inferred kind %q, want virtual", k)
			}
			if s.Services[0].Endpoints[0].Kind != BackendECI {
				t.Errorf("kind not normalised: %q", s.Services[0].Endpoints[0].Kind)
			}
		}},
		{name: "priority", yaml: `  - id: sg-a
    rules:
      - {direction: ingress, portRange: 80/80, priority: 0}
      - {direction: ingress, portRange: 80/80, priority: 100}
      - {direction: ingress, portRange: 80/80, priority: 110}
      - {direction: ingress, portRange: 80/80, priority: 101} #<
      - {direction: ingress, portRange: 80/80, priority: -5} #<
`, want: []string{
			`securityGroups[1].rules[3].priority: 101 is out of range; expected 1 (highest) .. 100, or 110 for legacy system default rules`,
			`securityGroups[1].rules[4].priority: -5 is out of range; expected 1 (highest) .. 100, or 110 for legacy system default rules`,
		}},
		{name: "CIDRs and IPs", yaml: `  - id: sg-a
    rules:
      - {direction: ingress, portRange: 80/80, sourceCidr: 10.0.0.0/33} #<
      - {direction: egress, portRange: 80/80, destCidr: 10.0.0.300/8} #<
      - {direction: ingress, portRange: 80/80, sourceCidr: "fd00::/129"} #<
nodes:
  - name: n1
    enis:
      - id: eni-1
        ips: [10.0.0.1, 10.0.0.256] #<
        prefixes: [10.1.0.0/28, 10.2.0.0] #<
services:
  - name: a
    endpoints:
      - {ip: pod-a, port: 80} #<
      - {ip: 10.0.0.9, port: 0} #<
      - {ip: 10.0.0.9, port: 70000} #<
probes:
  - {target: 10.0.0.1, state: open} #<
  - {target: "10.0.0.1:0", state: open} #<
`, want: []string{
			`securityGroups[1].rules[0].sourceCidr: "10.0.0.0/33" is not a valid CIDR: prefix length 33 is out of range 0..32; expected ADDRESS/BITS, e.g. 192.168.0.0/24`,
			`securityGroups[1].rules[1].destCidr: "10.0.0.300/8" is not a valid CIDR; expected ADDRESS/BITS, e.g. 192.168.0.0/24`,
			`securityGroups[1].rules[2].sourceCidr: "fd00::/129" is not a valid CIDR: prefix length 129 is out of range 0..128; expected ADDRESS/BITS, e.g. 192.168.0.0/24`,
			`nodes[0].enis[0].ips[1]: "10.0.0.256" is not an IP address; expected e.g. 192.168.1.10`,
			`nodes[0].enis[0].prefixes[1]: "10.2.0.0" is not a valid CIDR; expected ADDRESS/BITS, e.g. 192.168.0.0/24`,
			`services[0].endpoints[0].ip: "pod-a" is not an IP address; expected e.g. 192.168.1.10`,
			`services[0].endpoints[1].port: missing; expected the port the gateway dials (the pod's targetPort), 1..65535`,
			`services[0].endpoints[2].port: 70000 is out of range; expected 1..65535`,
			`probes[0].target: "10.0.0.1" is not HOST:PORT; expected e.g. 172.20.1.10:8080 or [fd00::1]:8080`,
			`probes[1].target: "10.0.0.1:0" has port "0"; expected a port in 1..65535`,
		}},
		{name: "peers by direction", yaml: `  - id: sg-a
    rules:
      - {direction: ingress, portRange: 80/80, sourceGroupId: sg-gw, sourceCidr: 10.0.0.0/8}
      - {direction: ingress, portRange: 80/80, destCidr: 10.0.0.0/8, destGroupId: sg-gw} #<
      - {direction: egress, portRange: 80/80, sourceCidr: 10.0.0.0/8, sourceGroupId: sg-gw, sourcePrefixListId: pl-1} #<<<
`, want: []string{
			// Problems on one line are in column order.
			`securityGroups[1].rules[1].destGroupId: set on an ingress rule; an ingress rule names its peer with sourceGroupId`,
			`securityGroups[1].rules[2].sourceCidr: set on an egress rule; an egress rule names its peer with destCidr`,
			`securityGroups[1].rules[2].sourceGroupId: set on an egress rule; an egress rule names its peer with destGroupId`,
			`securityGroups[1].rules[2].sourcePrefixListId: set on an egress rule; source prefix lists apply to ingress rules`,
		}},
		{name: "rule fields of issue 11: families, source ports", yaml: `  - id: sg-a
    rules:
      - {direction: ingress, portRange: 80/80, sourceGroupId: sg-gw, destCidr: 10.0.0.5, sourcePortRange: 1/1024, destPrefixListId: pl-2}
      - {direction: ingress, portRange: 80/80, ipv6SourceCidr: '2001:db8::/32', ipv6DestCidr: '2001:db8:9::1'}
      - {direction: ingress, portRange: 80/80, ipv6SourceCidr: 10.0.0.0/8} #<
      - {direction: ingress, portRange: 80/80, sourceCidr: '::/0', sourcePortRange: 9/x} #<
      - {direction: ingress, portRange: 80/80, sourceCidr: 10.0.0.0/8, ipv6SourceCidr: '::/0'} #<
`, want: []string{
			`securityGroups[1].rules[2].ipv6SourceCidr: "10.0.0.0/8" is an IPv4 CIDR; this field takes IPv6 (use sourceCidr)`,
			`securityGroups[1].rules[3].sourcePortRange: "9/x" is not START/END with whole numbers (e.g. 8080/8080)`,
			`securityGroups[1].rules[4].ipv6SourceCidr: set together with sourceCidr; a rule has one source CIDR, IPv4 (sourceCidr) or IPv6 (ipv6SourceCidr)`,
		}},
		{name: "duplicate IDs", noHead: true, yaml: `version: 1
gateway:
  id: gw-1
  securityGroupId: sg-gw
  authorizations:
    - {id: "1", securityGroupId: sg-gw, portRange: 80/80}
    - {id: "1", securityGroupId: sg-gw, portRange: 81/81} #<
securityGroups:
  - id: sg-gw
    rules:
      - {id: r1, direction: ingress, portRange: 80/80}
      - {id: r1, direction: ingress, portRange: 81/81} #<
      - {direction: ingress, portRange: 81/81}
      - {direction: ingress, portRange: 81/81}
  - id: sg-gw #<
nodePools:
  - id: np
  - id: np #<
nodes:
  - name: n1
    instanceId: i-1
    enis:
      - {id: eni-1, ips: [10.0.0.1]}
  - name: n1 #<
    instanceId: i-1 #<
    enis:
      - {id: eni-1, ips: [10.0.0.1]} #<<
services:
  - {name: a, namespace: x, endpoints: [{ip: 10.0.0.1, port: 80}, {ip: 10.0.0.1, port: 80}]} #<
  - {name: a, namespace: x} #<
  - {name: a, namespace: y}
`, want: []string{
			`gateway.authorizations[1].id: duplicate authorization ID "1"; already used by gateway.authorizations[0] (line 6)`,
			`securityGroups[0].rules[1].id: duplicate rule ID "r1" in group "sg-gw"; already used by securityGroups[0].rules[0] (line 11)`,
			`securityGroups[1].id: duplicate security group ID "sg-gw"; already used by securityGroups[0] (line 9)`,
			`nodePools[1].id: duplicate node pool ID "np"; already used by nodePools[0] (line 17)`,
			`nodes[1].name: duplicate node name "n1"; already used by nodes[0] (line 20)`,
			`nodes[1].instanceId: duplicate instance ID "i-1"; already used by nodes[0] (line 21)`,
			`nodes[1].enis[0].id: duplicate ENI ID "eni-1"; already used by nodes[0].enis[0] (line 23)`,
			`nodes[1].enis[0].ips[0]: IP 10.0.0.1 is already on nodes[0].enis[0].ips[0]; an address belongs to one ENI (line 23)`,
			`services[0].endpoints[1]: duplicate endpoint 10.0.0.1:80; already listed as services[0].endpoints[0]`,
			`services[1].name: duplicate service "x/a"; already listed as services[0] (line 29)`,
		}},
		{name: "references must resolve", yaml: `nodePools:
  - id: np
    securityGroupIds: [sg-gone] #<
nodes:
  - name: n1
    nodePool: np-gone #<
    enis:
      - {id: eni-1, securityGroupIds: [sg-gw, sg-gone]} #<
services:
  - {name: a, endpoints: [{ip: 10.0.0.1, port: 80, node: n2}]} #<
`, want: []string{
			`nodePools[0].securityGroupIds[0]: security group "sg-gone" is not in securityGroups; list it there (or record it under missing: if it could not be read)`,
			`nodes[0].nodePool: node pool "np-gone" is not in nodePools; list it there (or record it under missing: if it could not be read)`,
			`nodes[0].enis[0].securityGroupIds[1]: security group "sg-gone" is not in securityGroups; list it there (or record it under missing: if it could not be read)`,
			`services[0].endpoints[0].node: node "n2" is neither a node name nor an instanceId in nodes; list the node (or record it under missing: if it could not be read)`,
		}},
		{name: "gateway group must resolve", noHead: true, yaml: `version: 1
gateway: {id: gw-1, securityGroupId: sg-gone} #<
`, want: []string{`gateway.securityGroupId: security group "sg-gone" is not in securityGroups; list it there (or record it under missing: if it could not be read)`}},
		{name: "missing parts allow dangling references", noHead: true, yaml: `version: 1
gateway: {id: gw-1, securityGroupId: sg-gw}
nodePools:
  - {id: np, securityGroupIds: [sg-a]}
nodes:
  - name: n1
    nodePool: np-x
    enis: [{id: eni-1, securityGroupIds: [sg-b]}]
services:
  - {name: a, endpoints: [{ip: 10.0.0.1, port: 80, node: i-gone}]}
missing:
  - {part: securityGroups, error: "Forbidden.RAM", action: "ecs:DescribeSecurityGroups"}
  - {part: nodePools, ids: [np-x], error: timeout}
  - {part: Nodes, ids: [i-gone], error: timeout}
`, check: func(t *testing.T, s *Snapshot) {
			if s.Missing[2].Part != PartNodes {
				t.Errorf("missing part not normalised: %q", s.Missing[2].Part)
			}
		}},
		{name: "missing ids do not cover other ids", yaml: `nodes:
  - name: n1
    enis: [{id: eni-1, securityGroupIds: [sg-b]}] #<
missing:
  - {part: securityGroups, ids: [sg-a], error: x}
`, want: []string{`nodes[0].enis[0].securityGroupIds[0]: security group "sg-b" is not in securityGroups; list it there (or record it under missing: if it could not be read)`}},
		{name: "left to checks: stale authorization, unlisted source group, VPC mismatch", noHead: true, yaml: `version: 1
gateway:
  id: gw-1
  securityGroupId: sg-gw
  vpcId: vpc-a
  authorizations: [{securityGroupId: sg-deleted, portRange: 80/80}]
securityGroups:
  - id: sg-gw
    vpcId: vpc-b
    rules:
      - {direction: ingress, portRange: 80/80, sourceGroupId: sg-elsewhere}
      - {direction: egress, portRange: 80/80, destGroupId: sg-elsewhere}
nodes:
  - {name: n1, vpcId: vpc-c, enis: [{id: eni-1, securityGroupIds: [sg-gw]}]}
`},
		{name: "group types must not mix; no group twice", yaml: `  - id: sg-e
    type: enterprise
  - id: sg-n
nodes:
  - name: n1
    enis:
      - {id: eni-1, securityGroupIds: [sg-n, sg-e]} #<
      - {id: eni-2, securityGroupIds: [sg-n, sg-n]} #<
  - name: n2
    enis: #<
      - {id: eni-3, primary: true, securityGroupIds: [sg-n]}
      - {id: eni-4, primary: true, securityGroupIds: [sg-e]} #<
  - vpcId: vpc-a #<
`, want: []string{
			`nodes[0].enis[0].securityGroupIds: mixes normal groups (sg-n) and enterprise groups (sg-e); all groups on an ENI must be of one type`,
			`nodes[0].enis[1].securityGroupIds[1]: security group "sg-n" is listed twice; already at nodes[0].enis[1].securityGroupIds[0]`,
			`nodes[1].enis: the node's ENIs mix normal groups (sg-n) and enterprise groups (sg-e); all groups on an instance must be of one type`,
			`nodes[1].enis[1].primary: a second primary ENI on this node; expected at most one primary ENI per node`,
			`nodes[2]: a node needs a name (Kubernetes node name) or an instanceId (ECS instance ID); expected at least one`,
		}},
	})
}

func TestNormalisation(t *testing.T) {
	runLoadCases(t, []loadCase{
		{name: "case and defaults", noHead: true, yaml: `version: 1
gateway:
  id: gw-1
  securityGroupId: sg-gw
  addresses: [192.168.0.5, "FD00:0::1/64"]
  authorizations: [{securityGroupId: sg-n, portRange: " 8080/8080 "}]
securityGroups:
  - id: sg-gw
    type: Normal
  - id: sg-n
    type: ENTERPRISE
    rules:
      - {direction: Ingress, policy: Accept, protocol: tcp, portRange: 80/80, sourceCidr: 10.0.0.1}
      - {direction: EGRESS, policy: DROP, protocol: all, priority: 110, destCidr: 10.0.0.0/8}
      - {direction: ingress, protocol: icmpv6, portRange: -1/-1}
services:
  - {name: a, source: K8S, protocol: udp, endpoints: [{ip: "fd00:0:0::5", port: 53, ready: false}, {ip: 10.0.0.7, port: 53}]}
  - {name: b}
probes:
  - {target: "10.0.0.1:80", state: Refused}
`, check: func(t *testing.T, s *Snapshot) {
			eq := func(what string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			eq("addresses[0]", s.Gateway.Addresses[0], "192.168.0.5")
			eq("addresses[1]", s.Gateway.Addresses[1], "fd00::1/64")
			a := s.Gateway.Authorizations[0]
			eq("authorization protocol", a.Protocol, "TCP")
			eq("authorization portRange", a.PortRange, "8080/8080")
			eq("sg-gw type", s.SecurityGroups[0].Type, "normal")
			eq("sg-gw innerAccessPolicy", s.SecurityGroups[0].InnerAccessPolicy, "accept")
			g := s.SecurityGroups[1]
			eq("sg-n type", g.Type, "enterprise")
			eq("sg-n innerAccessPolicy", g.InnerAccessPolicy, "drop")
			r0, r1, r2 := g.Rules[0], g.Rules[1], g.Rules[2]
			eq("r0", fmt.Sprintf("%s %s %s %d %s", r0.Direction, r0.Policy, r0.Protocol, r0.Priority, r0.SourceCidr), "ingress accept TCP 1 10.0.0.1/32")
			eq("r1", fmt.Sprintf("%s %s %s %d %s", r1.Direction, r1.Policy, r1.Protocol, r1.Priority, r1.PortRange), "egress drop ALL 110 -1/-1")
			eq("r2 protocol", r2.Protocol, "ICMPV6")
			svc := s.Services[0]
			eq("source", svc.Source, "k8s")
			eq("service protocol", svc.Protocol, "UDP")
			eq("endpoint ip", svc.Endpoints[0].IP, "fd00::5")
			eq("ready false", svc.Endpoints[0].IsReady(), false)
			eq("ready unstated", svc.Endpoints[1].Ready == nil, true)
			eq("default service protocol", s.Services[1].Protocol, "TCP")
			eq("probe state", s.Probes[0].State, "refused")
		}},
		{name: "YAML anchors, aliases and merge keys", noHead: true, yaml: `version: 1
gateway: {id: gw-1, securityGroupId: sg-gw}
securityGroups:
  - id: sg-gw
    rules: &std
      - &web {direction: ingress, portRange: 80/80, sourceCidr: 0.0.0.0/0}
      - <<: *web
        portRange: 443/443
  - id: sg-b
    rules: *std
`, check: func(t *testing.T, s *Snapshot) {
			if got := len(s.SecurityGroups[1].Rules); got != 2 {
				t.Fatalf("aliased rules: %d, want 2", got)
			}
			r := s.SecurityGroups[1].Rules[1]
			if r.PortRange != "443/443" || r.SourceCidr != "0.0.0.0/0" || r.Direction != "ingress" {
				t.Errorf("merged rule = %+v", r)
			}
		}},
	})
}

// The multi-zone fixture loads with its new fields canonicalised and
// survives the round trip through both formats.
func TestMultiZoneFixture(t *testing.T) {
	s := mustLoad(t, "testdata/multizone.yaml")
	if got := s.Gateway.VSwitches; len(got) != 2 || got[1].ZoneID != "cn-hangzhou-i" || got[1].Cidr != "192.168.1.0/24" {
		t.Errorf("vswitches %+v", got)
	}
	app := s.SecurityGroups[1]
	if r := app.Rules[1]; r.DestCidr != "10.0.1.11/32" {
		t.Errorf("destCidr on an ingress rule: %+v", r)
	}
	if r := app.Rules[2]; r.Ipv6SourceCidr != "2001:db8:1::/64" || r.Ipv6DestCidr != "2001:db8:9::/64" {
		t.Errorf("IPv6 fields: %+v", r)
	}
	if r := app.Rules[3]; r.SourcePortRange != "1/1024" || r.DestPrefixListID != "pl-2" {
		t.Errorf("source ports, destination prefix list: %+v", r)
	}
	for _, f := range []Format{JSON, YAML} {
		out, err := Marshal(s, f)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse("round."+map[Format]string{JSON: "json", YAML: "yaml"}[f], out)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if !reflect.DeepEqual(back.Gateway, s.Gateway) || !reflect.DeepEqual(back.SecurityGroups, s.SecurityGroups) {
			t.Errorf("%v round trip changed the gateway or groups", f)
		}
	}
}
