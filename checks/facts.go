package checks

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// facts is what the checks derive from a view, computed once per view
// (diagnose.View.Cache) however many checks ask: the gateway's identity, its
// grants indexed by group and by port, and the one root-cause
// classification of every blocked endpoint. Everything is O(endpoints +
// authorizations + rules); nothing scans rules per endpoint.
type facts struct {
	v *diagnose.View

	gwID, gwGroup string
	gwType        string // normal | enterprise; "" when the gateway's group is not in the data
	gwVPC         string
	region        string
	// gwAddrs are the gateway's addresses (vSwitch CIDRs or node IPs) as
	// prefixes; nil when unknown or unreadable.
	gwAddrs []netip.Prefix

	// authsByGroup are the MSE authorizations by backend group, in snapshot order.
	authsByGroup map[string][]*snapshot.Authorization
	// grantsByGroup are every way a group grants the gateway access: its
	// authorizations, and its ingress accept rules that target the gateway —
	// sourced from the gateway's group, or from a CIDR inside the gateway's
	// addresses (DESIGN.md §7). A broad rule that merely contains the
	// gateway (SSH from the VPC CIDR, 443 from 0.0.0.0/0) is not a grant.
	grantsByGroup map[string][]grant
	// coveringByPort memoises, per (protocol, port), the groups with a grant
	// covering it, in group order.
	coveringByPort map[string][]string

	// causes holds, per endpoint (same index as View.Endpoints), its root
	// cause; nil for endpoints nothing needs to explain.
	causes []*cause
	// byEndpoint indexes causes by endpoint.
	byEndpoint map[*diagnose.Endpoint]*cause
	// portsByService lists each service's distinct endpoint ports.
	portsByService map[string][]int
	// ingress holds each readable group's ingress rules in evaluation order,
	// read once (IngressRules copies them).
	ingress map[string][]secgroup.RuleView
	// texts caches rule descriptions by *snapshot.Rule (ruleText).
	texts sync.Map
	// decisions caches decisionLines by group set and flow.
	decisions sync.Map
	// coveringGrantsMemo memoises coveringGrants while classifying.
	coveringGrantsMemo map[string][]grant
	// acceptsMemo memoises acceptsCovering while classifying.
	acceptsMemo map[string][]grant
	// portsByGroup is, per group, the (protocol, port) pairs endpoints on
	// ENIs carrying the group use.
	portsByGroup map[string]map[protoPort]bool
}

type protoPort struct {
	proto string
	port  int
}

const factsKey = "checks/facts"

// factsOf returns the view's shared facts, computing them on first use.
func factsOf(v *diagnose.View) *facts {
	return v.Cache(factsKey, func() any { return buildFacts(v) }).(*facts)
}

// grant is one way a group grants the gateway access: an MSE authorization
// or an ingress accept rule that targets the gateway (targetsGateway).
type grant struct {
	group  string
	proto  string
	ports  snapshot.PortRange
	portOK bool // false for an unexpanded port list
	auth   *snapshot.Authorization
	rule   *secgroup.RuleView
}

func (g grant) covers(proto string, port int) bool {
	if !g.portOK {
		return false
	}
	if g.proto != snapshot.ProtocolAll && !strings.EqualFold(g.proto, cmp.Or(proto, snapshot.ProtocolTCP)) {
		return false
	}
	return g.ports.Contains(port)
}

func (g grant) portText() string {
	if !g.portOK {
		return "port list"
	}
	return g.ports.String()
}

// label names the grant in evidence.
func (g grant) label() string {
	if g.auth != nil {
		return fmt.Sprintf("authorization %s (%s %s %s)", orNone(g.auth.ID), g.group, cmp.Or(g.auth.Protocol, snapshot.ProtocolTCP), g.portText())
	}
	from := "the gateway's group"
	if r := g.rule.Ref.Rule; r != nil && r.SourceCidr != "" {
		from = r.SourceCidr
	}
	return fmt.Sprintf("rule %s (priority %d accept %s %s from %s)", ruleName(g.rule.Ref), g.rule.Priority, g.rule.Protocol, g.portText(), from)
}

func buildFacts(v *diagnose.View) *facts {
	s := v.Snapshot
	f := &facts{
		v:              v,
		gwID:           s.Gateway.ID,
		gwGroup:        s.Gateway.SecurityGroupID,
		gwVPC:          s.Gateway.VpcID,
		region:         s.Region,
		authsByGroup:   map[string][]*snapshot.Authorization{},
		grantsByGroup:  map[string][]grant{},
		coveringByPort: map[string][]string{},
		portsByService: map[string][]int{},
		portsByGroup:   map[string]map[protoPort]bool{},
		ingress:        map[string][]secgroup.RuleView{},
		acceptsMemo:    map[string][]grant{},
	}
	for _, a := range s.Gateway.Addresses {
		p, err := parsePrefix(a)
		if err != nil {
			f.gwAddrs = nil
			break
		}
		f.gwAddrs = append(f.gwAddrs, p)
	}
	if g := v.Groups[f.gwGroup]; g != nil {
		f.gwType = groupType(g)
		if g.VpcID != "" {
			f.gwVPC = g.VpcID
		}
	}
	for i := range s.Gateway.Authorizations {
		a := &s.Gateway.Authorizations[i]
		f.authsByGroup[a.SecurityGroupID] = append(f.authsByGroup[a.SecurityGroupID], a)
		gr := grant{group: a.SecurityGroupID, proto: cmp.Or(a.Protocol, snapshot.ProtocolTCP), auth: a}
		if pr, err := snapshot.ParsePortRange(a.PortRange); err == nil {
			gr.ports, gr.portOK = pr, true
		}
		f.grantsByGroup[a.SecurityGroupID] = append(f.grantsByGroup[a.SecurityGroupID], gr)
	}
	for i := range s.SecurityGroups {
		id := s.SecurityGroups[i].ID
		rules, ok := v.Eval.IngressRules(id)
		if !ok {
			continue
		}
		f.ingress[id] = rules
		for k := range rules {
			r := &rules[k]
			if r.Drop || r.Source == secgroup.NoMatch || !f.targetsGateway(r.Ref.Rule) {
				continue
			}
			f.grantsByGroup[id] = append(f.grantsByGroup[id], grant{group: id, proto: r.Protocol, ports: r.Ports, portOK: r.PortsOK, rule: r})
		}
	}
	for _, svc := range v.Services {
		key := svc.Key()
		for _, ep := range svc.Endpoints {
			if !slices.Contains(f.portsByService[key], ep.Port) {
				f.portsByService[key] = append(f.portsByService[key], ep.Port)
			}
		}
	}
	for _, ep := range v.Endpoints {
		pp := protoPort{protocol(ep), ep.Endpoint.Port}
		for _, g := range ep.GroupIDs {
			m := f.portsByGroup[g]
			if m == nil {
				m = map[protoPort]bool{}
				f.portsByGroup[g] = m
			}
			m[pp] = true
		}
	}
	f.causes = make([]*cause, len(v.Endpoints))
	f.byEndpoint = map[*diagnose.Endpoint]*cause{}
	for i, ep := range v.Endpoints {
		if c := f.classify(ep); c != nil {
			f.causes[i] = c
			f.byEndpoint[ep] = c
		}
	}
	f.acceptsMemo = nil
	return f
}

// targetsGateway reports whether an ingress rule is written for the
// gateway: its source is the gateway's group (a CIDR, when set, wins over
// the group), or its source CIDR lies inside one of the gateway's addresses
// (equal included) in the same address family. With the gateway's addresses
// unknown, no CIDR rule is known to target it.
func (f *facts) targetsGateway(r *snapshot.Rule) bool {
	if r == nil {
		return false
	}
	if r.SourceCidr == "" {
		return r.SourcePrefixListID == "" && r.SourceGroupID != "" && r.SourceGroupID == f.gwGroup
	}
	p, err := parsePrefix(r.SourceCidr)
	if err != nil {
		return false
	}
	for _, a := range f.gwAddrs {
		if a.Addr().BitLen() == p.Addr().BitLen() && a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// parsePrefix reads a CIDR or a plain IP (a host prefix), masked.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// groupType is a group's type, normal when unstated.
func groupType(g *snapshot.SecurityGroup) string {
	return cmp.Or(strings.ToLower(g.Type), snapshot.GroupTypeNormal)
}

// coveringGroups returns the groups with a grant covering (proto, port)
// that can take effect (grantWorks).
func (f *facts) coveringGroups(proto string, port int) []string {
	key := cmp.Or(proto, snapshot.ProtocolTCP) + "/" + fmt.Sprint(port)
	if gs, ok := f.coveringByPort[key]; ok {
		return gs
	}
	var out []string
	for i := range f.v.Snapshot.SecurityGroups {
		g := &f.v.Snapshot.SecurityGroups[i]
		for _, gr := range f.grantsByGroup[g.ID] {
			if gr.covers(proto, port) && f.grantWorks(g, gr) {
				out = append(out, g.ID)
				break
			}
		}
	}
	// Authorizations may name groups that are not in the data (stale).
	for _, a := range f.v.Snapshot.Gateway.Authorizations {
		if f.v.Groups[a.SecurityGroupID] == nil && !slices.Contains(out, a.SecurityGroupID) {
			for _, gr := range f.grantsByGroup[a.SecurityGroupID] {
				if gr.covers(proto, port) {
					out = append(out, a.SecurityGroupID)
					break
				}
			}
		}
	}
	f.coveringByPort[key] = out
	return out
}

// grantWorks reports whether a grant on g can let the gateway in at all: g
// is in the gateway's VPC (as far as the data tells), and for a grant by
// group reference (an authorization, or a rule sourced from the gateway's
// group) neither side is an enterprise group. A CIDR grant works across
// group types.
func (f *facts) grantWorks(g *snapshot.SecurityGroup, gr grant) bool {
	if f.gwVPC != "" && g.VpcID != "" && g.VpcID != f.gwVPC {
		return false
	}
	if gr.rule != nil && gr.rule.Ref.Rule != nil && gr.rule.Ref.Rule.SourceCidr != "" {
		return true
	}
	return !f.enterpriseInvolved(g)
}

// enterpriseInvolved reports whether a group reference between the gateway's
// group and g crosses an enterprise group: such a reference never works,
// whichever types (DESIGN.md; alibaba-semantics.md).
func (f *facts) enterpriseInvolved(g *snapshot.SecurityGroup) bool {
	return f.gwType == snapshot.GroupTypeEnterprise || groupType(g) == snapshot.GroupTypeEnterprise
}

// grantsIn returns the grants of the given groups, in group order.
func (f *facts) grantsIn(groups []string) []grant {
	var out []grant
	for _, g := range groups {
		out = append(out, f.grantsByGroup[g]...)
	}
	return out
}

// distinctGrants drops the rules that merely mirror an authorization of the
// same group, protocol and ports (the rule MSE created for it), so evidence
// names each grant once.
func (f *facts) distinctGrants(gs []grant) []grant {
	var out []grant
	for _, g := range gs {
		if g.rule != nil && f.authorizedExactly(g.group, *g.rule) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// causeOf returns the classified cause of the endpoint at index i.
func (f *facts) causeOf(i int) *cause { return f.causes[i] }

// causeOfEndpoint returns the endpoint's classified cause, nil when none.
func (f *facts) causeOfEndpoint(ep *diagnose.Endpoint) *cause { return f.byEndpoint[ep] }

// protocol is the service's protocol, TCP when unstated.
func protocol(ep *diagnose.Endpoint) string {
	return cmp.Or(ep.Service.Protocol, snapshot.ProtocolTCP)
}
