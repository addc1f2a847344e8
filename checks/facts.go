package checks

import (
	"cmp"
	"fmt"
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

	// authsByGroup are the MSE authorizations by backend group, in snapshot order.
	authsByGroup map[string][]*snapshot.Authorization
	// grantsByGroup are every way a group lets the gateway in: its
	// authorizations and its ingress accept rules whose source is the gateway.
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

// grant is one way the gateway is let into a group: an MSE authorization
// or an ingress accept rule whose source is the gateway.
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
	return fmt.Sprintf("rule %s (priority %d accept %s %s from the gateway)", ruleName(g.rule.Ref), g.rule.Priority, g.rule.Protocol, g.portText())
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
			if r.Drop || r.Source != secgroup.Matches {
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

// groupType is a group's type, normal when unstated.
func groupType(g *snapshot.SecurityGroup) string {
	return cmp.Or(strings.ToLower(g.Type), snapshot.GroupTypeNormal)
}

// coveringGroups returns the groups with a grant covering (proto, port).
func (f *facts) coveringGroups(proto string, port int) []string {
	key := cmp.Or(proto, snapshot.ProtocolTCP) + "/" + fmt.Sprint(port)
	if gs, ok := f.coveringByPort[key]; ok {
		return gs
	}
	var out []string
	for i := range f.v.Snapshot.SecurityGroups {
		g := &f.v.Snapshot.SecurityGroups[i]
		if !f.canGrant(g) {
			continue
		}
		for _, gr := range f.grantsByGroup[g.ID] {
			if gr.covers(proto, port) {
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

// canGrant reports whether a grant on g can let the gateway in at all: g is
// of the gateway's type and in its VPC (as far as the data tells).
func (f *facts) canGrant(g *snapshot.SecurityGroup) bool {
	if f.gwType != "" && groupType(g) != f.gwType {
		return false
	}
	return f.gwVPC == "" || g.VpcID == "" || g.VpcID == f.gwVPC
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

// gatewayRulesCovering returns group's gateway-sourced accept rules covering (proto, port).
func (f *facts) gatewayRulesCovering(group, proto string, port int) []grant {
	var out []grant
	for _, gr := range f.grantsByGroup[group] {
		if gr.rule != nil && gr.covers(proto, port) {
			out = append(out, gr)
		}
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
