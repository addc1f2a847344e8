package lab

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// plan is where every address of a snapshot lives in the lab: the gateway's
// addresses, each node's addresses and ENIs, and each endpoint's placement.
// It is computed without touching the system, so it is unit-tested anywhere.
type plan struct {
	// snap is the snapshot the lab emulates, with gateway addresses filled in
	// when the input had none (so the evaluator sees what the lab runs).
	snap      *snapshot.Snapshot
	gateway   []netip.Addr
	nodes     []nodePlan
	endpoints []Endpoint
	// notes are facts the user must know about how the lab differs from the
	// input (invented addresses); they are not errors.
	notes []string
}

type nodePlan struct {
	// label is the node's name, or its instance ID.
	label string
	addrs []netip.Addr
	enis  []eniPlan
}

type eniPlan struct {
	id     string
	groups []string
	// dests are the ENI's addresses and prefixes, and the endpoint IPs routed
	// to it (Flannel): traffic to them is filtered by the ENI's groups.
	dests []netip.Prefix
	// members are the ENI's own addresses and prefixes: what a source-group
	// rule naming one of its groups matches.
	members []netip.Prefix
}

// Endpoint is one service endpoint as the lab placed it.
type Endpoint struct {
	Service string `json:"service"`
	IP      string `json:"ip"`
	Port    int    `json:"port"`
	Ready   bool   `json:"ready"`
	// Node and ENI say where the endpoint lives; empty when it could not be placed.
	Node string `json:"node,omitempty"`
	ENI  string `json:"eni,omitempty"`
	// Listening is true when the lab runs a TCP listener on IP:Port.
	Listening bool `json:"listening"`
	// NotComparable says why the lab cannot emulate this endpoint's path
	// honestly (unplaceable endpoint, unexpanded prefix or port list, rules of
	// a group missing from the snapshot); empty when it can.
	NotComparable string `json:"notComparable,omitempty"`

	node int // index into plan.nodes, -1 when not placed
	eni  int
}

// Target returns "IP:Port".
func (e Endpoint) Target() string {
	return netip.AddrPortFrom(netip.MustParseAddr(e.IP), uint16(e.Port)).String()
}

// Comparable reports whether a live probe of this endpoint in the lab says
// something about the snapshot's configuration.
func (e Endpoint) Comparable() bool { return e.NotComparable == "" }

// inventedGatewayBase is where the lab takes a gateway address from when the
// snapshot has none: the shared address space, unlikely to meet a VPC's.
var inventedGatewayBase = netip.MustParsePrefix("100.64.0.0/10")

// makePlan places every address of s. All problems are reported at once.
func makePlan(s *snapshot.Snapshot) (*plan, error) {
	var errs *multierror.Error
	p := &plan{snap: cloneSnapshot(s)}
	used := map[netip.Addr]string{} // address → who holds it, to refuse duplicates

	claim := func(a netip.Addr, who string) {
		if prev, dup := used[a]; dup && prev != who {
			errs = multierror.Append(errs, fmt.Errorf("address %s is held by both %s and %s: the lab needs every address in one place", a, prev, who))
			return
		}
		used[a] = who
	}

	// Nodes and their ENIs.
	for i, n := range s.Nodes {
		label := n.Name
		if label == "" {
			label = n.InstanceID
		}
		if label == "" {
			label = fmt.Sprintf("nodes[%d]", i)
		}
		np := nodePlan{label: label}
		for j, e := range n.ENIs {
			ep := eniPlan{id: e.ID, groups: append([]string(nil), e.SecurityGroupIDs...)}
			for _, ipText := range e.IPs {
				a, err := parseIPv4(ipText)
				if err != nil {
					errs = multierror.Append(errs, fmt.Errorf("nodes[%d] (%s) enis[%d] (%s) ips: %v", i, label, j, e.ID, err))
					continue
				}
				claim(a, "node "+label)
				np.addrs = appendAddr(np.addrs, a)
				ep.dests = append(ep.dests, netip.PrefixFrom(a, 32))
				ep.members = append(ep.members, netip.PrefixFrom(a, 32))
			}
			for _, pText := range e.Prefixes {
				pfx, err := netip.ParsePrefix(strings.TrimSpace(pText))
				if err != nil || !pfx.Addr().Is4() {
					errs = multierror.Append(errs, fmt.Errorf("nodes[%d] (%s) enis[%d] (%s) prefixes: %q is not an IPv4 prefix (the lab emulates IPv4 only)", i, label, j, e.ID, pText))
					continue
				}
				ep.dests = append(ep.dests, pfx.Masked())
				ep.members = append(ep.members, pfx.Masked())
			}
			np.enis = append(np.enis, ep)
		}
		p.nodes = append(p.nodes, np)
	}

	// Endpoints: the ENI holding the IP (or a prefix containing it), else the
	// primary ENI of the endpoint's node (Flannel), else not placed.
	for si := range s.Services {
		svc := &s.Services[si]
		for ei, e := range svc.Endpoints {
			ep := Endpoint{Service: svc.Key(), IP: e.IP, Port: e.Port, Ready: e.IsReady(), node: -1, eni: -1}
			a, err := parseIPv4(e.IP)
			if err != nil {
				errs = multierror.Append(errs, fmt.Errorf("services[%d] (%s) endpoints[%d]: ip: %v", si, svc.Key(), ei, err))
				continue
			}
			if e.Port < 1 || e.Port > 65535 {
				errs = multierror.Append(errs, fmt.Errorf("services[%d] (%s) endpoints[%d]: port %d is outside 1..65535", si, svc.Key(), ei, e.Port))
				continue
			}
			ep.IP = a.String()
			ni, ej := p.eniHolding(a)
			if ni < 0 {
				ni, ej = p.primaryENIOf(s, e.Node)
				if ni >= 0 {
					// Routed to the node: the node must hold the address, and
					// the ENI's groups filter it.
					claim(a, "node "+p.nodes[ni].label)
					p.nodes[ni].addrs = appendAddr(p.nodes[ni].addrs, a)
					p.nodes[ni].enis[ej].dests = append(p.nodes[ni].enis[ej].dests, netip.PrefixFrom(a, 32))
				}
			} else if !containsAddr(p.nodes[ni].addrs, a) {
				// Inside one of the ENI's prefixes: hold it on the node.
				claim(a, "node "+p.nodes[ni].label)
				p.nodes[ni].addrs = appendAddr(p.nodes[ni].addrs, a)
			}
			if ni < 0 {
				ep.NotComparable = "no ENI holds this IP and its node has no primary ENI in the snapshot: the lab cannot place it"
			} else {
				ep.node, ep.eni = ni, ej
				ep.Node = p.nodes[ni].label
				ep.ENI = p.nodes[ni].enis[ej].id
				ep.Listening = ep.Ready
				if why := otherVPC(s, p.nodes[ni].label, p.nodes[ni].enis[ej].id); why != "" {
					ep.NotComparable = why + ": the lab joins every namespace on one bridge and does not model VPC routing"
				}
			}
			p.endpoints = append(p.endpoints, ep)
		}
	}

	// Gateway addresses: an address is held as is; inside a CIDR the lab
	// holds one free address; with none, it invents one and says so.
	for i, text := range s.Gateway.Addresses {
		pfx, err := parsePrefixOrAddr(text)
		if err != nil {
			errs = multierror.Append(errs, fmt.Errorf("gateway.addresses[%d]: %v", i, err))
			continue
		}
		if pfx.Bits() < 8 {
			errs = multierror.Append(errs, fmt.Errorf("gateway.addresses[%d]: %s is wider than /8: the lab will not pick a gateway address inside it; list the gateway's node IPs or vSwitch CIDRs", i, pfx))
			continue
		}
		a, ok := freeAddrIn(pfx, used)
		if !ok {
			errs = multierror.Append(errs, fmt.Errorf("gateway.addresses[%d]: every address of %s is already held by a node", i, pfx))
			continue
		}
		claim(a, "the gateway")
		p.gateway = append(p.gateway, a)
	}
	if len(s.Gateway.Addresses) == 0 {
		a, ok := freeAddrIn(inventedGatewayBase, used)
		if !ok {
			errs = multierror.Append(errs, fmt.Errorf("gateway.addresses is empty and no free address is left in %s", inventedGatewayBase))
		} else {
			claim(a, "the gateway")
			p.gateway = append(p.gateway, a)
			p.snap.Gateway.Addresses = []string{a.String()}
			p.notes = append(p.notes, fmt.Sprintf("gateway.addresses is empty: the lab's gateway uses %s, and the snapshot it emulates says so", a))
		}
	}

	for i := range p.nodes {
		for j := range p.nodes[i].enis {
			e := &p.nodes[i].enis[j]
			e.dests = normalizePrefixes(e.dests)
			e.members = normalizePrefixes(e.members)
		}
	}
	return p, errs.ErrorOrNil()
}

// eniHolding finds the ENI whose ips contain a, else whose prefixes contain it.
func (p *plan) eniHolding(a netip.Addr) (node, eni int) {
	for i, n := range p.nodes {
		for j, e := range n.enis {
			for _, m := range e.members {
				if m.Bits() == 32 && m.Addr() == a {
					return i, j
				}
			}
		}
	}
	for i, n := range p.nodes {
		for j, e := range n.enis {
			for _, m := range e.members {
				if m.Contains(a) {
					return i, j
				}
			}
		}
	}
	return -1, -1
}

// primaryENIOf finds the primary ENI of the node named (name or instance ID).
func (p *plan) primaryENIOf(s *snapshot.Snapshot, node string) (int, int) {
	if node == "" {
		return -1, -1
	}
	for i, n := range s.Nodes {
		if n.Name != node && n.InstanceID != node {
			continue
		}
		for j, e := range n.ENIs {
			if e.Primary {
				return i, j
			}
		}
	}
	return -1, -1
}

func parseIPv4(text string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(text))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", text)
	}
	if !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%s is IPv6: the lab emulates IPv4 only", a)
	}
	if a.IsLoopback() || a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return netip.Addr{}, fmt.Errorf("%s cannot be held by a lab host (loopback, multicast, broadcast or unspecified)", a)
	}
	return a, nil
}

func parsePrefixOrAddr(text string) (netip.Prefix, error) {
	text = strings.TrimSpace(text)
	if !strings.Contains(text, "/") {
		a, err := parseIPv4(text)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, 32), nil
	}
	pfx, err := netip.ParsePrefix(text)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", text)
	}
	if !pfx.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%s is IPv6: the lab emulates IPv4 only", pfx)
	}
	return pfx.Masked(), nil
}

// freeAddrIn returns the prefix's first usable address not in used: the
// address itself for a /32, else from network+1 on (skipping network and
// broadcast where they exist).
func freeAddrIn(pfx netip.Prefix, used map[netip.Addr]string) (netip.Addr, bool) {
	if pfx.Bits() == 32 {
		a := pfx.Addr()
		if _, taken := used[a]; taken {
			return a, false
		}
		if _, err := parseIPv4(a.String()); err != nil {
			return a, false
		}
		return a, true
	}
	a := pfx.Addr()
	if pfx.Bits() < 31 {
		a = a.Next()
	}
	for tries := 0; tries < 4096 && pfx.Contains(a); tries++ {
		if _, taken := used[a]; !taken {
			if _, err := parseIPv4(a.String()); err == nil && (pfx.Bits() >= 31 || pfx.Contains(a.Next())) {
				return a, true
			}
		}
		a = a.Next()
	}
	return netip.Addr{}, false
}

func appendAddr(list []netip.Addr, a netip.Addr) []netip.Addr {
	if containsAddr(list, a) {
		return list
	}
	return append(list, a)
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, b := range list {
		if a == b {
			return true
		}
	}
	return false
}

// normalizePrefixes sorts, dedupes and drops prefixes covered by others, so
// nftables interval sets never see overlapping elements.
func normalizePrefixes(in []netip.Prefix) []netip.Prefix {
	sorted := append([]netip.Prefix(nil), in...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Bits() != sorted[j].Bits() {
			return sorted[i].Bits() < sorted[j].Bits()
		}
		return sorted[i].Addr().Less(sorted[j].Addr())
	})
	var out []netip.Prefix
next:
	for _, p := range sorted {
		for _, q := range out {
			if q.Contains(p.Addr()) && q.Bits() <= p.Bits() {
				continue next
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr().Less(out[j].Addr()) })
	return out
}

// cloneSnapshot deep-copies the parts the lab may change.
func cloneSnapshot(s *snapshot.Snapshot) *snapshot.Snapshot {
	c := *s
	c.Gateway.Addresses = append([]string(nil), s.Gateway.Addresses...)
	return &c
}

// otherVPC says why the ENI (of the node labelled nodeLabel) is in another
// VPC than the gateway — its node's VPC or one of its groups' — or "".
// diagnose blocks such endpoints whatever their rules say (vpc-mismatch);
// the lab cannot reproduce that.
func otherVPC(s *snapshot.Snapshot, nodeLabel, eniID string) string {
	gwVPC := s.Gateway.VpcID
	groupVPC := map[string]string{}
	for i := range s.SecurityGroups {
		g := &s.SecurityGroups[i]
		groupVPC[g.ID] = g.VpcID
		if g.ID == s.Gateway.SecurityGroupID && g.VpcID != "" {
			gwVPC = g.VpcID
		}
	}
	if gwVPC == "" {
		return ""
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		for j := range n.ENIs {
			e := &n.ENIs[j]
			if e.ID != eniID {
				continue
			}
			if n.VpcID != "" && n.VpcID != gwVPC {
				return "node " + nodeLabel + " is in " + n.VpcID + ", the gateway in " + gwVPC
			}
			for _, g := range e.SecurityGroupIDs {
				if v := groupVPC[g]; v != "" && v != gwVPC {
					return "group " + g + " is in " + v + ", the gateway in " + gwVPC
				}
			}
			return ""
		}
	}
	return ""
}
