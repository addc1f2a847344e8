package checks

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// cause is the root cause of one endpoint: the single, most specific code
// that explains why the gateway cannot reach it, with what the finding
// needs to say so.
//
// Causes are derived only from what grants the gateway access (grant): MSE
// authorizations, rules sourced from the gateway's group, and CIDR rules
// inside the gateway's addresses — never from an unrelated broad rule that
// happens to contain the gateway.
//
// Precedence for an endpoint the configuration denies (the first that
// applies wins; see the package documentation for why):
//
//  0. gateway-egress-blocks (GWD112): the gateway group's own egress (a drop,
//     or the enterprise default) decides; nothing on the backend can fix it.
//  1. deny-rule-shadows (GWD107): a drop decides although an accept matching
//     the gateway's flow exists: the access is there, a rule defeats it.
//  2. vpc-mismatch (GWD108): the node or a group on the ENI is in another VPC:
//     no source-group rule can work across VPCs, whatever is authorized.
//  3. security-group-type-mismatch (GWD106): a group on the ENI is of the
//     other type than the gateway's (and grants nothing by CIDR), or is
//     authorized / references the gateway's group while either side is
//     enterprise: enterprise groups cannot reference or be referenced.
//  4. authorization-out-of-sync (GWD109, error): an authorization covering
//     the port exists for a group on this ENI, but the inbound rule it
//     should have created is missing.
//  5. port-changed (GWD104): the ENI's groups grant the gateway other ports,
//     and no grant of theirs covers this one.
//  6. multiple-security-groups (GWD103, error): the node lets the gateway in
//     through a group on another of its ENIs, not on the one holding the IP.
//  7. wrong-node (GWD102): groups that let the gateway in on this port exist,
//     but the node is in none of them.
//  8. missing-authorization (GWD101): nothing lets the gateway in.
//
// Endpoints the configuration allows (or cannot decide) but a probe blocks:
// refused is service-down (GWD105), or port-changed when other endpoints of
// the service use another port; filtered or unreachable is traffic-filtered
// (GWD201). A failing gateway health check (the gateway's own vantage) is
// traffic-filtered too, with what the evidence allows: a filter, or the app
// failing its check.
type cause struct {
	ep   *diagnose.Endpoint
	code string
	// key groups endpoints of one service into one finding: endpoints with
	// the same key share the cause and the fix.
	key string
	// groups are the groups at the centre of the cause (the ENI's, the
	// mismatched one, the authorized ones elsewhere, …), grants the grants
	// that matter, other free-form details by code.
	groups []string
	grants []grant
	// shadowed are the accepts a drop overrides (GWD107).
	deciding *secgroup.RuleRef
	shadowed []grant
	// byProbe marks causes proven by a probe rather than by configuration.
	byProbe bool
	// ports are other ports the service uses (probe variant of GWD104).
	ports []int
}

func (f *facts) classify(ep *diagnose.Endpoint) *cause {
	switch {
	case ep.ENI != nil && ep.Decision.Verdict == secgroup.Partial:
		return f.classifyPartial(ep)
	case ep.ENI != nil && ep.Decision.Verdict == secgroup.Deny:
		return f.classifyDeny(ep)
	case ep.Verdict != diagnose.VerdictBlocked:
		return nil
	case ep.HealthDecided:
		// The gateway's own health check fails an endpoint the
		// configuration allows or cannot decide: something not modelled,
		// or the app itself (traffic-filtered says which the evidence allows).
		// Endpoints whose probes say different things get separate findings.
		key := "health-check"
		if ep.Probe != nil {
			key += " " + ep.Probe.State + " " + ep.Probe.From
		}
		return &cause{ep: ep, byProbe: true, code: diagnose.CodeTrafficFiltered, key: key}
	case ep.Probe == nil:
		return nil
	}
	c := &cause{ep: ep, byProbe: true}
	switch ep.Probe.State {
	case snapshot.ProbeRefused:
		var others []int
		for _, p := range f.portsByService[ep.ServiceKey] {
			if p != ep.Endpoint.Port {
				others = append(others, p)
			}
		}
		if len(others) > 0 {
			c.code, c.ports = diagnose.CodePortChanged, others
			c.key = "probe"
		} else {
			c.code, c.key = diagnose.CodeServiceDown, "probe"
		}
	default: // filtered, unreachable
		c.code, c.key = diagnose.CodeTrafficFiltered, ep.Probe.State
	}
	return c
}

func (f *facts) classifyDeny(ep *diagnose.Endpoint) *cause {
	c := &cause{ep: ep}
	proto, port := protocol(ep), ep.Endpoint.Port
	eniGroups := ep.GroupIDs
	setKey := strings.Join(eniGroups, ",")

	// 0. The gateway's own egress decides: nothing on the backend side can
	// fix it, whatever the backend's groups grant.
	if ep.Decision.Reason == secgroup.ReasonEgress {
		c.code, c.deciding = diagnose.CodeGatewayEgress, ep.Decision.Deciding
		c.key = "egress default"
		if c.deciding != nil {
			c.key = ruleName(*c.deciding)
		}
		return c
	}

	// 1. A drop that defeats an accept matching the gateway's flow.
	if d := ep.Decision.Deciding; d != nil && d.Rule != nil && strings.EqualFold(d.Rule.Policy, snapshot.PolicyDrop) {
		accepts := f.acceptsCovering(eniGroups, setKey, proto, port)
		if len(accepts) > 0 {
			c.code, c.deciding, c.shadowed, c.key = diagnose.CodeDenyRuleShadows, d, accepts, ruleName(*d)
			return c
		}
	}

	// 2. Another VPC: the node, or a group on the ENI.
	if f.gwVPC != "" {
		if ep.Node != nil && ep.Node.VpcID != "" && ep.Node.VpcID != f.gwVPC {
			c.code, c.key = diagnose.CodeVPCMismatch, "node "+ep.Node.VpcID
			return c
		}
		for _, g := range eniGroups {
			if sg := f.v.Groups[g]; sg != nil && sg.VpcID != "" && sg.VpcID != f.gwVPC {
				c.code, c.key, c.groups = diagnose.CodeVPCMismatch, "group "+g, []string{g}
				return c
			}
		}
	}

	// 3. A group reference that cannot work: a group of the other type on
	// the ENI, or an authorization / gateway-sourced rule where either side
	// is an enterprise group.
	if mismatched := f.typeMismatched(eniGroups); len(mismatched) > 0 {
		c.code, c.key, c.groups = diagnose.CodeGroupTypeMismatch, strings.Join(mismatched, ","), mismatched
		return c
	}

	// 4. Authorized for this port, but the inbound rule is missing.
	for _, g := range eniGroups {
		for _, gr := range f.grantsByGroup[g] {
			if gr.auth != nil && gr.covers(proto, port) && !f.hasGatewayRuleCovering(g, proto, port) {
				c.code, c.key, c.groups, c.grants = diagnose.CodeAuthorizationSync, "auth "+gr.auth.ID+" "+g, []string{g}, []grant{gr}
				return c
			}
		}
	}

	// 5. The ENI's groups grant the gateway other ports, and none this one.
	if gs := f.grantsIn(eniGroups); len(gs) > 0 && !slices.ContainsFunc(gs, func(g grant) bool { return g.covers(proto, port) }) {
		c.code, c.key, c.grants, c.groups = diagnose.CodePortChanged, setKey, gs, grantGroups(gs)
		return c
	}

	// 6. The node grants the gateway access through another ENI's groups. Not for
	// serverless pods: a virtual node's other ENIs are other pods'.
	if ep.Node != nil && !isServerless(ep) && ep.Node.KindOf() != snapshot.NodeKindVirtual {
		var elsewhere []string
		for _, g := range diagnose.NodeGroupIDs(ep.Node) {
			if !slices.Contains(eniGroups, g) && len(f.grantsByGroup[g]) > 0 {
				elsewhere = append(elsewhere, g)
			}
		}
		if len(elsewhere) > 0 {
			c.code, c.key, c.groups, c.grants = diagnose.CodeMultipleGroups, ep.ENI.ID, elsewhere, f.grantsIn(elsewhere)
			var covering []grant
			for _, gr := range c.grants {
				if gr.covers(proto, port) {
					covering = append(covering, gr)
				}
			}
			if len(covering) > 0 { // name the grants that would apply; others are noise
				c.grants = covering
			}
			return c
		}
	}

	// 7. Groups that grant the gateway this port exist, elsewhere.
	if covering := f.coveringGroups(proto, port); len(covering) > 0 && !slices.ContainsFunc(covering, func(g string) bool { return slices.Contains(eniGroups, g) }) {
		c.code, c.key, c.groups = diagnose.CodeWrongNode, setKey, covering
		c.grants = f.coveringGrants(proto, port, covering)
		return c
	}

	// 8. Nothing grants the gateway access.
	c.code, c.key = diagnose.CodeMissingAuthorization, setKey
	return c
}

// typeMismatched returns the ENI's groups whose reference to or from the
// gateway's group cannot work: of the other type than the gateway's group
// (and granting it nothing by CIDR), or — whatever the types — authorized
// or holding a gateway-sourced rule while either side is enterprise.
func (f *facts) typeMismatched(eniGroups []string) []string {
	if f.gwType == "" {
		return nil
	}
	var out []string
	for _, g := range eniGroups {
		sg := f.v.Groups[g]
		if sg == nil {
			continue
		}
		referenced := len(f.authsByGroup[g]) > 0 || f.referencesGateway(g)
		switch {
		case f.enterpriseInvolved(sg) && referenced:
			out = append(out, g)
		case groupType(sg) != f.gwType && !f.hasCIDRGrant(g):
			out = append(out, g)
		}
	}
	return out
}

// referencesGateway reports whether group has an ingress accept rule whose
// source is the gateway's group (no CIDR winning over it), whether or not
// it can match.
func (f *facts) referencesGateway(group string) bool {
	for _, r := range f.ingress[group] {
		if !r.Drop && r.Ref.Rule != nil && r.Ref.Rule.SourceCidr == "" && r.Ref.Rule.SourceGroupID == f.gwGroup && f.gwGroup != "" {
			return true
		}
	}
	return false
}

// hasCIDRGrant reports whether group grants the gateway access by CIDR.
func (f *facts) hasCIDRGrant(group string) bool {
	for _, gr := range f.grantsByGroup[group] {
		if gr.rule != nil && gr.rule.Ref.Rule != nil && gr.rule.Ref.Rule.SourceCidr != "" {
			return true
		}
	}
	return false
}

func grantGroups(gs []grant) []string {
	var out []string
	for _, g := range gs {
		if !slices.Contains(out, g.group) {
			out = append(out, g.group)
		}
	}
	return out
}

// acceptsCovering returns the accepts of the groups that match the
// gateway's flow on (proto, port) — grants or not: a drop that defeats any
// of them is what blocks, memoised per group set: endpoints share few sets and ports.
// Only called while building facts (single goroutine).
func (f *facts) acceptsCovering(groups []string, setKey, proto string, port int) []grant {
	key := setKey + "|" + proto + "|" + strconv.Itoa(port)
	if gs, ok := f.acceptsMemo[key]; ok {
		return gs
	}
	var out []grant
	for _, g := range groups {
		for k := range f.ingress[g] {
			r := &f.ingress[g][k]
			if !r.Drop && r.Source == secgroup.Matches && ruleCovers(r, proto, port) {
				out = append(out, grant{group: g, proto: r.Protocol, ports: r.Ports, portOK: r.PortsOK, rule: r})
			}
		}
	}
	f.acceptsMemo[key] = out
	return out
}

// hasGatewayRuleCovering reports whether group has an inbound accept rule
// naming the gateway's group as source (the rule an authorization creates)
// that covers (proto, port) — whether or not it can match, so a rule that
// exists is never called missing.
func (f *facts) hasGatewayRuleCovering(group, proto string, port int) bool {
	for k := range f.ingress[group] {
		r := &f.ingress[group][k]
		if r.Drop || r.Ref.Rule == nil || r.Ref.Rule.SourceCidr != "" || r.Ref.Rule.SourceGroupID != f.gwGroup || f.gwGroup == "" {
			continue
		}
		if ruleCovers(r, proto, port) {
			return true
		}
	}
	return false
}

// ruleCovers reports whether a rule's protocol and ports cover (proto, port).
func ruleCovers(r *secgroup.RuleView, proto string, port int) bool {
	if !r.PortsOK {
		return false
	}
	if r.Protocol != snapshot.ProtocolAll && !strings.EqualFold(r.Protocol, proto) {
		return false
	}
	return r.Ports.Contains(port)
}
