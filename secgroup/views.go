package secgroup

import (
	"math"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Helpers for the check catalog: they expose the compiled rules so a check
// can tell "authorized, but for another port" from "not authorized at all",
// and find drops that shadow an authorization, without re-implementing the
// matching semantics.

// IngressRules returns groupID's ingress rules in evaluation order (priority,
// then drop before accept), each with its source already matched against the
// gateway. readable is false — and rules nil — when the group or its rules
// are not in the data. The slice is built once per group and shared by every
// caller: read it, never modify it.
func (e *Evaluator) IngressRules(groupID string) (rules []RuleView, readable bool) {
	cg := e.groups[groupID]
	if cg == nil || !cg.rulesKnown {
		return nil, false
	}
	cg.viewsOnce.Do(func() {
		cg.views = make([]RuleView, len(cg.ingress))
		for i, r := range cg.ingress {
			cg.views[i] = r.view
		}
	})
	return cg.views, true
}

// EgressRules returns the gateway group's egress rules in evaluation order.
// EgressEvaluated reports whether Evaluate considers them at all.
func (e *Evaluator) EgressRules() []RuleView {
	rules := make([]RuleView, len(e.egress))
	for i, r := range e.egress {
		rules[i] = r.view
	}
	return rules
}

// EgressEvaluated reports whether the gateway group's egress side takes part
// in decisions: it lists egress rules, or its rules could not be read.
func (e *Evaluator) EgressEvaluated() bool { return e.egressOn }

// GatewaySourceMatch says whether the source of ingress rule ruleIndex (its
// position in the group's rules in the snapshot) of groupID is the gateway:
// the same answer and reason the evaluator uses, independent of protocol and
// port.
func (e *Evaluator) GatewaySourceMatch(groupID string, ruleIndex int) (Match, string) {
	cg := e.groups[groupID]
	if cg == nil || !cg.known {
		return NoMatch, "group " + groupID + " is not in the snapshot"
	}
	if !cg.rulesKnown {
		return MaybeMatches, cg.missing
	}
	for _, r := range cg.ingress {
		if r.view.Ref.Index == ruleIndex {
			return r.view.Source, r.view.SourceWhy
		}
	}
	return NoMatch, "not an ingress rule of " + groupID
}

// RulesFromGateway returns groupID's ingress accept rules whose source
// definitely matches the gateway (Matches; a partial or undecidable source is
// left out — use IngressRules for those), in evaluation order. Whether they
// cover a port is RuleView.Covers.
func (e *Evaluator) RulesFromGateway(groupID string) []RuleRef {
	cg := e.groups[groupID]
	if cg == nil || !cg.rulesKnown {
		return nil
	}
	var out []RuleRef
	for _, r := range cg.ingress {
		if !r.drop && r.view.Source == Matches {
			out = append(out, r.view.Ref)
		}
	}
	return out
}

// GroupReadable reports whether groupID and its rules are in the data, and
// if not, why (as recorded in the snapshot's missing parts).
func (e *Evaluator) GroupReadable(groupID string) (bool, string) {
	cg := e.groups[groupID]
	if cg == nil {
		return false, "group " + groupID + " is not in the snapshot"
	}
	if !cg.rulesKnown {
		return false, cg.missing
	}
	return true, ""
}

// GatewayAddressesKnown reports whether the gateway's source addresses are in
// the data; without them CIDR rules other than 0.0.0.0/0 are undecidable.
func (e *Evaluator) GatewayAddressesKnown() bool { return e.addrsListed }

// Covers says whether the rule's protocol and port range cover the flow,
// ignoring the source: MaybeMatches when the range is an unexpanded port
// list. protocol empty means TCP.
func (v RuleView) Covers(protocol string, port int) (Match, string) {
	protocol = cmpProto(protocol)
	if v.Protocol != snapshot.ProtocolAll && !strings.EqualFold(v.Protocol, protocol) {
		return NoMatch, "protocol " + v.Protocol + " does not match " + protocol
	}
	if v.PortListID != "" {
		return MaybeMatches, "port list " + v.PortListID + " not expanded"
	}
	if !v.PortsOK {
		return MaybeMatches, "port range unreadable"
	}
	r := &compiledRule{view: v}
	r.lo, r.hi = int32(v.Ports.Start), int32(v.Ports.End)
	if v.Ports.All {
		r.lo, r.hi = math.MinInt32, math.MaxInt32
	}
	why, m := r.explainPort(port, strconv.Itoa(port))
	return m, why
}
