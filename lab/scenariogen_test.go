package lab

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The generator makes random but valid snapshots in two steps: a topology
// (gateway addresses, nodes, ENIs and their addresses, endpoints) that one
// lab is built for, and many security-group scenarios over it (groups,
// rules, which groups sit on which ENI), which Lab.Apply loads in
// milliseconds. Everything follows from the seeds, which the test prints.

var (
	genPorts    = []int{80, 443, 8080, 8081, 9000, 30000}
	genPriority = []int{0, 1, 1, 1, 2, 2, 5, 100, 110}
	genCIDRs    = []string{"0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "10.0.0.5/32", "10.0.0.0/25", "10.0.9.0/24", "100.64.0.0/10", "192.168.0.0/16", "10.1.0.0/16",
		// Pieces of the multi-zone topologies' vSwitch CIDRs, to interleave.
		"10.0.0.0/26", "10.0.0.128/25", "10.0.9.0/25", "10.0.9.128/25", "10.0.0.0/23"}
	// genLocalDests are ingress destinations (destCidr): some hold the
	// endpoints, some not.
	genLocalDests = []string{"10.1.0.0/16", "10.2.0.0/16", "172.20.0.0/16", "10.1.1.10/32", "10.3.0.0/16", "0.0.0.0/0"}
	genDestCIDRs  = []string{"0.0.0.0/0", "10.1.0.0/16", "10.2.0.0/16", "172.20.0.0/16", "10.1.1.0/24", "10.3.0.0/16"}
)

// genTopology makes topology number idx: the gateway-address form cycles
// through a single address, a CIDR, two addresses, none (the lab invents
// one and says so: unknown addresses are compared through the evaluator's
// answer for the snapshot the lab emulates), two zones' vSwitch CIDRs, and
// three CIDRs of which two halve one /24 (pieces interleaving).
func genTopology(r *rand.Rand, idx int) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Version: snapshot.Version, Region: "cn-lab",
		Gateway: snapshot.Gateway{ID: "gw-lab", Name: "lab", VpcID: "vpc-a", SecurityGroupID: "sg-gw"}}
	switch idx % 6 {
	case 0:
		s.Gateway.Addresses = []string{"10.0.0.5"}
	case 1:
		s.Gateway.Addresses = []string{"10.0.0.0/24"}
	case 2:
		s.Gateway.Addresses = []string{"10.0.0.5", "10.0.9.5"}
	case 4:
		s.Gateway.Addresses = []string{"10.0.0.0/24", "10.0.9.0/24"}
		s.Gateway.VSwitches = []snapshot.VSwitch{{ID: "vsw-h", ZoneID: "zone-h", Cidr: "10.0.0.0/24"}, {ID: "vsw-i", ZoneID: "zone-i", Cidr: "10.0.9.0/24"}}
	case 5:
		s.Gateway.Addresses = []string{"10.0.0.0/25", "10.0.0.128/25", "10.0.9.0/24"}
	}
	type candidate struct {
		ip, node string
		flannel  bool
	}
	var candidates []candidate
	nodes := 2 + r.IntN(2)
	for n := 1; n <= nodes; n++ {
		name := fmt.Sprintf("node-%d", n)
		node := snapshot.Node{Name: name, InstanceID: fmt.Sprintf("i-%d", n), VpcID: "vpc-a", NodePool: "np-1"}
		primary := fmt.Sprintf("10.1.%d.10", n)
		node.ENIs = append(node.ENIs, snapshot.ENI{ID: fmt.Sprintf("eni-%d0", n), Primary: true, IPs: []string{primary}})
		candidates = append(candidates, candidate{ip: primary})
		if r.IntN(10) < 6 { // Terway: a secondary ENI holding pod IPs
			pods := []string{fmt.Sprintf("10.2.%d.5", n), fmt.Sprintf("10.2.%d.6", n)}
			node.ENIs = append(node.ENIs, snapshot.ENI{ID: fmt.Sprintf("eni-%d1", n), IPs: append([]string{fmt.Sprintf("10.1.%d.20", n)}, pods...)})
			for _, p := range pods {
				candidates = append(candidates, candidate{ip: p})
			}
		}
		if r.IntN(10) < 3 { // Terway prefix mode
			node.ENIs = append(node.ENIs, snapshot.ENI{ID: fmt.Sprintf("eni-%d2", n), IPs: []string{fmt.Sprintf("10.1.%d.30", n)}, Prefixes: []string{fmt.Sprintf("10.3.%d.16/28", n)}})
			candidates = append(candidates, candidate{ip: fmt.Sprintf("10.3.%d.20", n)})
		}
		if r.IntN(10) < 5 { // Flannel: pod IPs routed to the node
			candidates = append(candidates, candidate{ip: fmt.Sprintf("172.20.%d.7", n), node: name, flannel: true})
		}
		s.Nodes = append(s.Nodes, node)
	}
	s.NodePools = []snapshot.NodePool{{ID: "np-1", Name: "default"}}
	seen := map[string]bool{}
	endpoints := 6 + r.IntN(4)
	for k := 0; k < endpoints; k++ {
		c := candidates[r.IntN(len(candidates))]
		port := genPorts[r.IntN(len(genPorts))]
		key := fmt.Sprintf("%s:%d", c.ip, port)
		if seen[key] {
			continue
		}
		seen[key] = true
		svc := fmt.Sprintf("svc-%d", k%3)
		for len(s.Services) <= k%3 {
			s.Services = append(s.Services, snapshot.Service{Name: fmt.Sprintf("svc-%d", len(s.Services)), Namespace: "lab", Source: snapshot.SourceK8s, Protocol: "TCP"})
		}
		ep := snapshot.Endpoint{IP: c.ip, Port: port, Pod: fmt.Sprintf("%s-%d", svc, k)}
		if c.flannel || r.IntN(2) == 0 {
			ep.Node = c.node
		}
		if r.IntN(100) < 15 {
			ep.Ready = boolp(false)
		}
		s.Services[k%3].Endpoints = append(s.Services[k%3].Endpoints, ep)
	}
	return s
}

// genScenario puts random groups and rules on a copy of topo.
func genScenario(r *rand.Rand, topo *snapshot.Snapshot) *snapshot.Snapshot {
	s := deepCopy(topo)
	pick := func(percent int) bool { return r.IntN(100) < percent }
	groupOf := func(id, typ string) snapshot.SecurityGroup {
		g := snapshot.SecurityGroup{ID: id, Type: typ, VpcID: "vpc-a"}
		switch {
		case typ == snapshot.GroupTypeEnterprise:
			if pick(20) {
				g.InnerAccessPolicy = snapshot.PolicyDrop
			}
		case pick(45):
			g.InnerAccessPolicy = snapshot.PolicyAccept
		case pick(80):
			g.InnerAccessPolicy = snapshot.PolicyDrop
		}
		return g
	}
	gwType := snapshot.GroupTypeNormal
	if pick(20) {
		gwType = snapshot.GroupTypeEnterprise
	}
	groups := []snapshot.SecurityGroup{groupOf("sg-gw", gwType)}
	groups[0].ServiceManaged = true
	if pick(10) { // the gateway in another VPC: its group cannot be referenced
		groups[0].VpcID, s.Gateway.VpcID = "vpc-b", "vpc-b"
		if pick(50) { // …said by the gateway alone
			groups[0].VpcID = ""
		}
	}
	for _, id := range []string{"sg-a", "sg-b", "sg-c", "sg-d"} {
		typ := snapshot.GroupTypeNormal
		if pick(30) {
			typ = snapshot.GroupTypeEnterprise
		}
		groups = append(groups, groupOf(id, typ))
	}
	ids := func(typ string) []string {
		var out []string
		for _, g := range groups {
			if g.Type == typ {
				out = append(out, g.ID)
			}
		}
		return out
	}
	// Each ENI gets one to three groups, all of its node's type (ECS never
	// mixes types on an instance) and of the node's VPC.
	for i := range s.Nodes {
		typ := snapshot.GroupTypeNormal
		if pick(30) {
			typ = snapshot.GroupTypeEnterprise
		}
		poolFor := func(typ string) []string {
			var pool []string
			for _, id := range ids(typ) {
				if id != "sg-gw" || groups[0].VpcID == s.Nodes[i].VpcID {
					pool = append(pool, id)
				}
			}
			return pool
		}
		if len(poolFor(typ)) == 0 {
			typ = map[string]string{snapshot.GroupTypeNormal: snapshot.GroupTypeEnterprise, snapshot.GroupTypeEnterprise: snapshot.GroupTypeNormal}[typ]
		}
		for j := range s.Nodes[i].ENIs {
			pool := poolFor(typ)
			r.Shuffle(len(pool), func(a, b int) { pool[a], pool[b] = pool[b], pool[a] })
			n := 1 + r.IntN(min(3, len(pool)))
			s.Nodes[i].ENIs[j].SecurityGroupIDs = pool[:n]
		}
	}
	for gi := range groups {
		g := &groups[gi]
		for k, n := 0, r.IntN(6); k < n; k++ {
			g.Rules = append(g.Rules, genIngressRule(r, fmt.Sprintf("%s-r%d", g.ID, k), groups))
		}
	}
	if pick(35) {
		for k, n := 0, 1+r.IntN(3); k < n; k++ {
			groups[0].Rules = append(groups[0].Rules, genEgressRule(r, fmt.Sprintf("sg-gw-e%d", k), groups))
		}
	}
	s.SecurityGroups = groups
	// The authorizations the rules sourced from the gateway stand for.
	for _, g := range groups[1:] {
		for _, rule := range g.Rules {
			if rule.SourceGroupID == "sg-gw" && rule.Policy == snapshot.PolicyAccept && rule.Protocol == snapshot.ProtocolTCP {
				s.Gateway.Authorizations = append(s.Gateway.Authorizations, snapshot.Authorization{
					ID: fmt.Sprint(len(s.Gateway.Authorizations) + 1001), SecurityGroupID: g.ID, PortRange: rule.PortRange, Protocol: snapshot.ProtocolTCP})
			}
		}
	}
	return s
}

func genRuleBase(r *rand.Rand, id, direction string) snapshot.Rule {
	rule := snapshot.Rule{ID: id, Direction: direction, Policy: snapshot.PolicyAccept, Priority: genPriority[r.IntN(len(genPriority))]}
	if r.IntN(100) < 35 {
		rule.Policy = snapshot.PolicyDrop
	}
	switch n := r.IntN(100); {
	case n < 70:
		rule.Protocol = snapshot.ProtocolTCP
	case n < 82:
		rule.Protocol = snapshot.ProtocolAll
	case n < 92:
		rule.Protocol = snapshot.ProtocolUDP
	default:
		rule.Protocol = snapshot.ProtocolICMP
	}
	if rule.Protocol == snapshot.ProtocolTCP || rule.Protocol == snapshot.ProtocolUDP {
		p := genPorts[r.IntN(len(genPorts))]
		switch r.IntN(6) {
		case 0, 1:
			rule.PortRange = fmt.Sprintf("%d/%d", p, p)
		case 2:
			rule.PortRange = fmt.Sprintf("%d/%d", p, p+1)
		case 3:
			rule.PortRange = fmt.Sprintf("%d/%d", p-1, p-1) // just outside
		case 4:
			rule.PortRange = "1/65535"
		default:
			rule.PortRange = "8000/9000"
		}
	} else {
		rule.PortRange = "-1/-1"
	}
	return rule
}

func genIngressRule(r *rand.Rand, id string, groups []snapshot.SecurityGroup) snapshot.Rule {
	rule := genRuleBase(r, id, snapshot.DirectionIngress)
	switch n := r.IntN(100); {
	case n < 40:
		rule.SourceGroupID = "sg-gw"
	case n < 55:
		rule.SourceGroupID = groups[1+r.IntN(len(groups)-1)].ID
	case n < 97:
		rule.SourceCidr = genCIDRs[r.IntN(len(genCIDRs))]
	case n < 99:
		rule.SourcePrefixListID = "pl-lab"
	default:
		rule.PortRange, rule.PortRangeListID, rule.Protocol = "", "prl-lab", snapshot.ProtocolTCP
		rule.SourceCidr = "0.0.0.0/0"
	}
	// The rule fields of issue 11: an IPv6 source (never IPv4 traffic), a
	// local destination (decided against the endpoint), a source port range
	// (the evaluator cannot decide it; the kernel matches it as written).
	if rule.SourceCidr != "" && r.IntN(100) < 6 {
		rule.SourceCidr, rule.Ipv6SourceCidr = "", []string{"::/0", "2001:db8::/32"}[r.IntN(2)]
	}
	if r.IntN(100) < 12 {
		rule.DestCidr = genLocalDests[r.IntN(len(genLocalDests))]
	}
	if (rule.Protocol == snapshot.ProtocolTCP || rule.Protocol == snapshot.ProtocolUDP) && r.IntN(100) < 4 {
		rule.SourcePortRange = []string{"1/1024", "1/65535", "32768/60999"}[r.IntN(3)]
	}
	return rule
}

func genEgressRule(r *rand.Rand, id string, groups []snapshot.SecurityGroup) snapshot.Rule {
	rule := genRuleBase(r, id, snapshot.DirectionEgress)
	if n := r.IntN(100); n < 5 {
		rule.Ipv6DestCidr = "::/0" // never IPv4 traffic
	} else if n < 70 {
		rule.DestCidr = genDestCIDRs[r.IntN(len(genDestCIDRs))]
	} else {
		rule.DestGroupID = groups[1+r.IntN(len(groups)-1)].ID
	}
	return rule
}

func deepCopy(s *snapshot.Snapshot) *snapshot.Snapshot {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	var c snapshot.Snapshot
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}
