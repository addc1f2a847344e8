package lab

import (
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The compiled ruleset is read by engineers (lab failures print it), so its
// shape is tested here; that the kernel enforces it is the live tests' job.
func TestNodeRulesetOrdersByPriorityDropFirst(t *testing.T) {
	p, err := makePlan(handSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	rs, problems := newCompiler(p).nodeRuleset(0)
	if len(problems) > 0 {
		t.Errorf("problems: %v", problems)
	}
	order := []string{
		`chain eni_0`,
		`th dport 8081 ip saddr 192.168.0.0/24 drop comment "sg-nodes r2 prio 1 drop"`,
		`th dport 8080 ip saddr @members_0 accept comment "sg-nodes r1 prio 1 accept"`,
		`th dport 8090 ip saddr 10.0.0.0/8 accept`,
		`th dport 8081-8082 ip saddr 192.168.0.0/16 accept comment "sg-nodes r3 prio 2 accept"`,
		`drop comment "no rule matched"`,
		`chain eni_1`,
	}
	at := 0
	for _, want := range order {
		i := strings.Index(rs[at:], want)
		if i < 0 {
			t.Fatalf("ruleset lacks %q after position %d:\n%s", want, at, rs)
		}
		at += i
	}
	if !strings.Contains(rs, `ip daddr { 172.20.1.7, 192.168.1.10 } jump eni_0`) {
		t.Errorf("the primary ENI must filter the Flannel pod IP routed to it:\n%s", rs)
	}
	if !strings.Contains(rs, "policy drop") || !strings.Contains(rs, "ct state established,related accept") {
		t.Errorf("default drop and stateful accept missing:\n%s", rs)
	}
}

func TestEnterpriseAndIntraGroupCompile(t *testing.T) {
	p, err := makePlan(handSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	c := newCompiler(p)
	rs, _ := c.nodeRuleset(1) // node-2: the gateway's own normal group, accept
	if !strings.Contains(rs, `ip saddr @members_0 accept comment "sg-gw intra-group accept"`) || !strings.Contains(rs, "192.168.0.1") {
		t.Errorf("intra-group accept of the gateway's group missing:\n%s", rs)
	}
	rs, _ = c.nodeRuleset(2) // node-3: enterprise
	if !strings.Contains(rs, "# sg-ent e1 prio 1 accept: never matches: enterprise groups can neither reference nor be referenced") {
		t.Errorf("an enterprise group's group reference must be left out, visibly:\n%s", rs)
	}
	if !strings.Contains(rs, `ip saddr 192.168.0.1/32 accept comment "sg-ent e2 prio 1 accept"`) {
		t.Errorf("ALL -1/-1 CIDR rule:\n%s", rs)
	}
}

func TestUnmodelableRulesMakeEndpointsNotComparable(t *testing.T) {
	s := handSnapshot()
	s.SecurityGroups[1].Rules = append(s.SecurityGroups[1].Rules,
		snapshot.Rule{ID: "pl", Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "8080/8081", SourcePrefixListID: "pl-1"},
		snapshot.Rule{ID: "prl", Direction: "ingress", Policy: "drop", Priority: 1, Protocol: "UDP", PortRangeListID: "prl-1", SourceCidr: "0.0.0.0/0"})
	p, err := makePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	rs, problems := newCompiler(p).nodeRuleset(0)
	if !strings.Contains(rs, "# sg-nodes pl prio 1 accept: not modelled: uses prefix list pl-1") {
		t.Errorf("the rule must be left out visibly:\n%s", rs)
	}
	// The prefix-list rule covers 8080-8081 on eni-1; the UDP port list no TCP port.
	affected := map[int]bool{}
	for _, u := range problems[0] {
		for _, port := range []int{8080, 8081, 8082} {
			if u.affects(port) {
				affected[port] = true
			}
		}
	}
	if !affected[8080] || !affected[8081] || affected[8082] {
		t.Errorf("affected ports %v, want 8080 and 8081 only", affected)
	}
}

func TestEgressCompilesOntoTheGatewayPort(t *testing.T) {
	s := handSnapshot()
	s.SecurityGroups[0].Rules = []snapshot.Rule{
		{ID: "e1", Direction: "egress", Policy: "drop", Priority: 1, Protocol: "TCP", PortRange: "8080/8080", DestGroupID: "sg-nodes"},
		{ID: "e2", Direction: "egress", Policy: "accept", Priority: 2, Protocol: "ALL", PortRange: "-1/-1", DestCidr: "0.0.0.0/0"},
	}
	p, err := makePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	rs, problems := newCompiler(p).bridgeRuleset("gw")
	if len(problems) > 0 {
		t.Errorf("problems %v", problems)
	}
	for _, want := range []string{`iifname "gw" ether type ip jump gateway_egress`, "172.20.1.7, 192.168.1.10", `ip protocol tcp tcp dport 8080 ip daddr @members_0 drop`, `accept comment "no egress rule matched: normal group default"`} {
		if !strings.Contains(rs, want) {
			t.Errorf("egress ruleset lacks %q:\n%s", want, rs)
		}
	}
	s.SecurityGroups[0].Rules = nil
	p, _ = makePlan(s)
	if rs, _ := newCompiler(p).bridgeRuleset("gw"); strings.Contains(rs, "chain") {
		t.Errorf("without egress rules the gateway's port stays open:\n%s", rs)
	}
}

func TestUncollectedRulesMakeEndpointsNotComparable(t *testing.T) {
	s := handSnapshot()
	s.Missing = []snapshot.MissingPart{{Part: snapshot.PartRules, IDs: []string{"sg-pods"}, Error: "Forbidden.RAM"}}
	p, err := makePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	c := newCompiler(p)
	_, problems := c.nodeRuleset(0)
	if len(problems[0]) != 0 || len(problems[1]) != 1 || !strings.Contains(problems[1][0].reason, "Forbidden.RAM") {
		t.Errorf("want only eni-2 (sg-pods) marked, got %+v", problems)
	}
	s.Missing = []snapshot.MissingPart{{Part: snapshot.PartSecurityGroups, Error: "timeout"}}
	p, _ = makePlan(s)
	if _, problems := newCompiler(p).bridgeRuleset("gw"); len(problems) != 1 {
		t.Errorf("the gateway group's unknown egress must make every endpoint not comparable: %+v", problems)
	}
}

// The rule fields of issue 11 compile to what the kernel can check: a local
// destination as "ip daddr", a source port range as "th sport", IPv6 peers
// as never matching IPv4, a destination prefix list as not modelled.
func TestNewRuleFieldsCompile(t *testing.T) {
	s := handSnapshot()
	g := &s.SecurityGroups[1]
	g.Rules = append(g.Rules,
		snapshot.Rule{ID: "f1", Direction: "ingress", Policy: "accept", Priority: 3, Protocol: "TCP", PortRange: "7001/7001", SourceGroupID: "sg-gw", DestCidr: "192.168.1.10/32"},
		snapshot.Rule{ID: "f2", Direction: "ingress", Policy: "drop", Priority: 3, Protocol: "TCP", PortRange: "7002/7002", SourceCidr: "0.0.0.0/0", SourcePortRange: "1/1024"},
		snapshot.Rule{ID: "f3", Direction: "ingress", Policy: "accept", Priority: 3, Protocol: "TCP", PortRange: "7003/7003", Ipv6SourceCidr: "::/0"},
		snapshot.Rule{ID: "f4", Direction: "ingress", Policy: "accept", Priority: 3, Protocol: "TCP", PortRange: "7004/7004", SourceGroupID: "sg-gw", DestPrefixListID: "pl-9"},
	)
	p, err := makePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	rs, problems := newCompiler(p).nodeRuleset(0)
	for _, want := range []string{
		`th dport 7001 ip saddr @members_0 ip daddr 192.168.1.10/32 accept comment "` + g.ID + ` f1 prio 3 accept"`,
		`th dport 7002 th sport 1-1024 drop comment "` + g.ID + ` f2 prio 3 drop"`,
		`# ` + g.ID + ` f3 prio 3 accept: never matches: IPv6 CIDR never matches IPv4`,
		`# ` + g.ID + ` f4 prio 3 accept: not modelled: uses destination prefix list pl-9`,
	} {
		if !strings.Contains(rs, want) {
			t.Errorf("ruleset lacks %q:\n%s", want, rs)
		}
	}
	found := false
	for _, ps := range problems {
		for _, pr := range ps {
			found = found || strings.Contains(pr.reason, "pl-9")
		}
	}
	if !found {
		t.Errorf("the destination prefix list must make the ENI's endpoints on 7004 not comparable: %v", problems)
	}
}
