package secgroup

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// RuleView is one compiled rule as the checks see it: the reference, the
// normalised values, and — for ingress rules — how its source relates to the
// gateway, computed once. Values are read-only.
type RuleView struct {
	Ref RuleRef
	// Priority is the effective priority (0 in the data means 1).
	Priority int
	// Drop is true for a drop rule, false for accept.
	Drop bool
	// Protocol is upper-case; "ALL" matches any protocol.
	Protocol string
	// Ports is the parsed port range; PortsOK is false when the rule has no
	// readable range (a port list, or a malformed value).
	Ports   snapshot.PortRange
	PortsOK bool
	// PortListID is set when the rule uses an unexpanded port list.
	PortListID string
	// Source is how the rule's source matches the gateway (ingress rules),
	// with the reason in words. Egress rules leave it NoMatch and empty.
	Source    Match
	SourceWhy string
}

// compiledRule is a RuleView plus what the hot path needs in cheap form.
// The source match against the gateway lives in view.Source/SourceWhy.
type compiledRule struct {
	view RuleView
	// order sorts rules within a group: priority, drop first, position.
	order uint64
	prio  int32
	lo    int32 // inclusive port bounds; -1/-1 spans every int32
	hi    int32
	proto protoCode
	drop  bool
	// portMaybe: the port cannot be decided (port list or malformed range).
	portMaybe bool
	portWhy   string // why portMaybe
	portStr   string // " 8080/8080" for reasons, built once

	dest *egressDest // egress rules only
}

// egressDest is the destination of a gateway egress rule.
type egressDest struct {
	prefix    netip.Prefix // valid when the rule has a readable destCidr
	bad       string       // destCidr present but unreadable
	group     string       // destGroupId, when no destCidr
	groupOK   Match        // whether the reference can work (type, VPC)
	groupWhy  string
	prefixLst string
}

type protoCode uint8

const (
	protoAll protoCode = iota
	protoTCP
	protoUDP
	protoICMP
	protoGRE
	protoICMPv6
	protoOther
)

func parseProto(s string) protoCode {
	switch s {
	case "TCP", "":
		return protoTCP
	case "UDP":
		return protoUDP
	}
	switch strings.ToUpper(s) {
	case snapshot.ProtocolAll:
		return protoAll
	case snapshot.ProtocolTCP:
		return protoTCP
	case snapshot.ProtocolUDP:
		return protoUDP
	case snapshot.ProtocolICMP:
		return protoICMP
	case snapshot.ProtocolGRE:
		return protoGRE
	case snapshot.ProtocolICMPv6:
		return protoICMPv6
	}
	return protoOther
}

// compileRule compiles the protocol, ports and priority of rule i of g.
// An empty protocol is read as TCP, as for authorizations.
func (e *Evaluator) compileRule(g *compiledGroup, i int) compiledRule {
	r := &g.group.Rules[i]
	prio := max(r.Priority, 1)
	cr := compiledRule{
		prio: int32(prio),
		drop: strings.EqualFold(r.Policy, snapshot.PolicyDrop),
	}
	cr.order = uint64(prio)<<33 | uint64(i)
	if !cr.drop {
		cr.order |= 1 << 32
	}
	proto := strings.ToUpper(strings.TrimSpace(r.Protocol))
	if proto == "" {
		proto = snapshot.ProtocolTCP
	}
	cr.proto = parseProto(proto)
	cr.view = RuleView{
		Ref:        RuleRef{GroupID: g.id, Index: i, RuleID: r.ID, Rule: r},
		Priority:   prio,
		Drop:       cr.drop,
		Protocol:   proto,
		PortListID: r.PortRangeListID,
	}
	switch {
	case r.PortRangeListID != "":
		cr.portMaybe = true
		cr.portWhy = "port list " + r.PortRangeListID + " not expanded"
	case strings.TrimSpace(r.PortRange) == "":
		// ECS omits the range for protocols without ports.
		cr.view.Ports, cr.view.PortsOK = snapshot.AllPorts, true
		cr.lo, cr.hi = math.MinInt32, math.MaxInt32
	default:
		pr, err := snapshot.ParsePortRange(r.PortRange)
		if err != nil {
			cr.portMaybe = true
			cr.portWhy = "port range unreadable: " + err.Error()
			break
		}
		cr.view.Ports, cr.view.PortsOK = pr, true
		ps, ok := e.portStrs[pr]
		if !ok {
			ps = " " + pr.String()
			e.portStrs[pr] = ps
		}
		cr.portStr = ps
		if pr.All {
			cr.lo, cr.hi = math.MinInt32, math.MaxInt32 // any port, -1 included
		} else {
			cr.lo, cr.hi = int32(pr.Start), int32(pr.End)
		}
	}
	return cr
}

// sourceMatch decides, once, whether an ingress rule's source is the gateway.
func (e *Evaluator) sourceMatch(g *compiledGroup, r *snapshot.Rule) (Match, string) {
	switch {
	case r.SourceCidr != "":
		c, ok := e.cidrs[r.SourceCidr]
		if !ok {
			c.m, c.why = e.cidrCoversGateway(r.SourceCidr)
			if e.cidrs != nil {
				e.cidrs[r.SourceCidr] = c
			}
		}
		m, why := c.m, c.why
		if r.SourceGroupID != "" {
			why = "source CIDR wins over source group " + r.SourceGroupID + ": " + why
		}
		return m, why
	case r.SourcePrefixListID != "":
		return MaybeMatches, "prefix list " + r.SourcePrefixListID + " not expanded"
	case r.SourceGroupID != "":
		k := refKey{g, r.SourceGroupID}
		c, ok := e.refs[k]
		if !ok {
			c.m, c.why = e.groupReferenceMatch(g, r.SourceGroupID, "source")
			if e.refs != nil {
				e.refs[k] = c
			}
		}
		return c.m, c.why
	}
	return NoMatch, "rule names no source (group, CIDR or prefix list)"
}

// groupReferenceMatch decides whether a rule of group g naming peer (its
// source group, or for egress its destination group) can match: both normal,
// same VPC. For ingress peer must be the gateway's group; the caller handles
// egress membership.
func (e *Evaluator) groupReferenceMatch(g *compiledGroup, peer, role string) (Match, string) {
	if role == "source" && peer != e.gwID {
		return NoMatch, "source group " + peer + " is not the gateway's group"
	}
	if g.typ == snapshot.GroupTypeEnterprise {
		return NoMatch, "enterprise group " + g.id + " cannot reference other groups"
	}
	p := e.groups[peer]
	if p == nil || !p.known {
		return MaybeMatches, "group " + peer + " is not in the snapshot: its type and VPC are unknown"
	}
	if p.typ == snapshot.GroupTypeEnterprise {
		return NoMatch, "enterprise group " + peer + " cannot be referenced as a " + role
	}
	// The gateway's group is in the gateway's VPC when it names none,
	// whichever side of the reference it is on.
	ruleVPC, peerVPC := g.vpc, p.vpc
	if g.id == e.gwID {
		ruleVPC = e.gwVPC
	}
	if peer == e.gwID {
		peerVPC = e.gwVPC
	}
	if ruleVPC != "" && peerVPC != "" && ruleVPC != peerVPC {
		if role == "source" {
			return NoMatch, fmt.Sprintf("group %s is in %s, the gateway's group %s in %s: source-group rules work only within one VPC", g.id, ruleVPC, peer, peerVPC)
		}
		return NoMatch, fmt.Sprintf("destination group %s is in %s, gateway in %s: group references work only within one VPC", peer, peerVPC, ruleVPC)
	}
	if role == "source" {
		return Matches, "source " + peer + " is the gateway's group"
	}
	return Matches, "destination " + peer + " is on the endpoint's ENI"
}

// cidrCoversGateway compares a source CIDR with the gateway's addresses.
func (e *Evaluator) cidrCoversGateway(cidr string) (Match, string) {
	p, err := parsePrefix(cidr)
	if err != nil {
		return MaybeMatches, fmt.Sprintf("source CIDR %q unreadable", cidr)
	}
	if e.addrsNote != "" {
		if p.Bits() == 0 {
			return Matches, p.String() + " contains every gateway address"
		}
		return MaybeMatches, e.addrsNote + ": cannot tell whether " + p.String() + " contains them"
	}
	var outside, partial []string
	for _, a := range e.gwAddrs {
		switch {
		case a.Addr().BitLen() == p.Addr().BitLen() && p.Bits() <= a.Bits() && p.Contains(a.Addr()):
		case p.Overlaps(a):
			partial = append(partial, a.String())
		default:
			outside = append(outside, a.String())
		}
	}
	switch {
	case len(partial) == 0 && len(outside) == 0:
		return Matches, p.String() + " contains every gateway address"
	case len(partial) == 0 && len(outside) == len(e.gwAddrs):
		return NoMatch, p.String() + " contains no gateway address"
	}
	return MaybeMatches, fmt.Sprintf("partial: %s contains only some gateway addresses (%s)",
		p.String(), strings.Join(append(partial, outside...), ", "))
}

// compileEgress compiles rule i of the gateway group as an egress rule.
func (e *Evaluator) compileEgress(gw *compiledGroup, i int) *compiledRule {
	c := e.compileRule(gw, i)
	cr := &c
	r := &gw.group.Rules[i]
	d := &egressDest{}
	cr.dest = d
	switch {
	case r.DestCidr != "":
		p, err := parsePrefix(r.DestCidr)
		if err != nil {
			d.bad = fmt.Sprintf("destination CIDR %q unreadable", r.DestCidr)
		} else {
			d.prefix = p
		}
	case r.SourcePrefixListID != "":
		d.prefixLst = r.SourcePrefixListID
	case r.DestGroupID != "":
		d.group = r.DestGroupID
		d.groupOK, d.groupWhy = e.groupReferenceMatch(gw, r.DestGroupID, "destination")
	}
	return cr
}

// protoMatches reports whether the rule covers the flow's protocol.
func (r *compiledRule) protoMatches(pc protoCode, proto string) bool {
	switch {
	case r.proto == protoAll:
		return true
	case pc != protoOther && r.proto != protoOther:
		return r.proto == pc
	}
	return strings.EqualFold(r.view.Protocol, proto)
}

// matchIngress is the hot path: protocol, port, then the precomputed source.
func (r *compiledRule) matchIngress(pc protoCode, proto string, port int) Match {
	if !r.protoMatches(pc, proto) || r.view.Source == NoMatch {
		return NoMatch
	}
	if r.portMaybe {
		return MaybeMatches
	}
	if port < int(r.lo) || port > int(r.hi) {
		return NoMatch
	}
	return r.view.Source
}

// protoMismatch holds the reasons for the known protocol pairs, so Explain
// does not build them for every rule.
var protoMismatch = func() (t [protoOther][protoOther]string) {
	names := [protoOther]string{"ALL", "TCP", "UDP", "ICMP", "GRE", "ICMPV6"}
	for i := range t {
		for j := range t[i] {
			t[i][j] = "protocol " + names[i] + " does not match " + names[j]
		}
	}
	return t
}()

func (r *compiledRule) protoWhy(pc protoCode, proto string) string {
	if r.proto < protoOther && pc < protoOther {
		return protoMismatch[r.proto][pc]
	}
	return "protocol " + r.view.Protocol + " does not match " + proto
}

// explainIngress is matchIngress with the reason in words.
func (r *compiledRule) explainIngress(pc protoCode, proto string, port int, ps string) (Match, string) {
	if !r.protoMatches(pc, proto) {
		return NoMatch, r.protoWhy(pc, proto)
	}
	if r.view.Source == NoMatch {
		return NoMatch, r.view.SourceWhy
	}
	portWhy, portM := r.explainPort(port, ps)
	if portM == NoMatch {
		return NoMatch, portWhy
	}
	if portM == MaybeMatches || r.view.Source == MaybeMatches {
		var why []string
		if portM == MaybeMatches {
			why = append(why, portWhy)
		}
		if r.view.Source == MaybeMatches {
			why = append(why, r.view.SourceWhy)
		}
		return MaybeMatches, strings.Join(why, "; ")
	}
	return Matches, portWhy + "; " + r.view.SourceWhy
}

// explainPort says whether port (written ps) is in the rule's range.
func (r *compiledRule) explainPort(port int, ps string) (string, Match) {
	if r.portMaybe {
		return r.portWhy, MaybeMatches
	}
	if r.view.Ports.All {
		return "all ports (-1/-1)", Matches
	}
	portStr := r.portStr
	if portStr == "" {
		portStr = " " + r.view.Ports.String()
	}
	if port < int(r.lo) || port > int(r.hi) {
		return "port " + ps + " outside" + portStr, NoMatch
	}
	return "port " + ps + " inside" + portStr, Matches
}

// matchEgress matches an egress rule of the gateway group against the flow
// to dest on an ENI carrying the groups in set.
func (r *compiledRule) matchEgress(pc protoCode, proto string, port int, dest netip.Addr, set []string, explain bool) (Match, string) {
	if !r.protoMatches(pc, proto) {
		if !explain {
			return NoMatch, ""
		}
		return NoMatch, r.protoWhy(pc, proto)
	}
	destM, destWhy := r.destMatch(dest, set, explain)
	if destM == NoMatch {
		return NoMatch, destWhy
	}
	var portWhy string
	portM := Matches
	if explain {
		portWhy, portM = r.explainPort(port, strconv.Itoa(port))
	} else if r.portMaybe {
		portM = MaybeMatches
	} else if port < int(r.lo) || port > int(r.hi) {
		portM = NoMatch
	}
	switch {
	case portM == NoMatch:
		return NoMatch, portWhy
	case portM == MaybeMatches && destM == MaybeMatches:
		return MaybeMatches, portWhy + "; " + destWhy
	case portM == MaybeMatches:
		return MaybeMatches, portWhy
	case destM == MaybeMatches:
		return MaybeMatches, destWhy
	}
	if !explain {
		return Matches, ""
	}
	return Matches, portWhy + "; " + destWhy
}

func (r *compiledRule) destMatch(dest netip.Addr, set []string, explain bool) (Match, string) {
	d := r.dest
	switch {
	case d.prefix.IsValid():
		if !dest.IsValid() {
			return MaybeMatches, "endpoint address unknown: cannot tell whether " + d.prefix.String() + " contains it"
		}
		if d.prefix.Contains(dest.Unmap()) {
			if !explain {
				return Matches, ""
			}
			return Matches, "destination " + d.prefix.String() + " contains " + dest.String()
		}
		if !explain {
			return NoMatch, ""
		}
		return NoMatch, "destination " + d.prefix.String() + " does not contain " + dest.String()
	case d.bad != "":
		return MaybeMatches, d.bad
	case d.prefixLst != "":
		return MaybeMatches, "prefix list " + d.prefixLst + " not expanded"
	case d.group != "":
		if !contains(set, d.group) {
			if !explain {
				return NoMatch, ""
			}
			return NoMatch, "destination group " + d.group + " is not on the endpoint's ENI"
		}
		return d.groupOK, d.groupWhy
	}
	return NoMatch, "rule names no destination (group or CIDR)"
}

func contains(sorted []string, id string) bool {
	for _, s := range sorted {
		if s == id {
			return true
		}
	}
	return false
}
