package secgroup

import (
	"fmt"
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
type compiledRule struct {
	view  RuleView
	prio  int
	drop  bool
	proto protoCode
	lo    int // inclusive port bounds; all ports is 0..65535
	hi    int
	// portMaybe: the port cannot be decided (port list or malformed range).
	portMaybe bool
	portWhy   string // why portMaybe
	srcMatch  Match
	srcWhy    string

	// Egress only: the destination.
	destPrefix    netip.Prefix // valid when the rule has a readable destCidr
	destBad       string       // destCidr present but unreadable
	destGroup     string       // destGroupId, when no destCidr
	destGroupOK   Match        // whether the reference can work (type, VPC)
	destGroupWhy  string
	destPrefixLst string
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
func compileRule(g *compiledGroup, i int) *compiledRule {
	r := &g.group.Rules[i]
	cr := &compiledRule{
		prio: r.Priority,
		drop: strings.EqualFold(r.Policy, snapshot.PolicyDrop),
	}
	if cr.prio <= 0 {
		cr.prio = 1
	}
	proto := strings.ToUpper(strings.TrimSpace(r.Protocol))
	if proto == "" {
		proto = snapshot.ProtocolTCP
	}
	cr.proto = parseProto(proto)
	cr.view = RuleView{
		Ref:        RuleRef{GroupID: g.id, Index: i, RuleID: r.ID, Rule: r},
		Priority:   cr.prio,
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
		cr.lo, cr.hi = 0, 65535
	default:
		pr, err := snapshot.ParsePortRange(r.PortRange)
		if err != nil {
			cr.portMaybe = true
			cr.portWhy = "port range unreadable: " + err.Error()
			break
		}
		cr.view.Ports, cr.view.PortsOK = pr, true
		if pr.All {
			cr.lo, cr.hi = 0, 65535
		} else {
			cr.lo, cr.hi = pr.Start, pr.End
		}
	}
	return cr
}

// sourceMatch decides, once, whether an ingress rule's source is the gateway.
func (e *Evaluator) sourceMatch(g *compiledGroup, r *snapshot.Rule) (Match, string) {
	switch {
	case r.SourceCidr != "":
		m, why := e.cidrCoversGateway(r.SourceCidr)
		if r.SourceGroupID != "" {
			why = "source CIDR wins over source group " + r.SourceGroupID + ": " + why
		}
		return m, why
	case r.SourcePrefixListID != "":
		return MaybeMatches, "prefix list " + r.SourcePrefixListID + " not expanded"
	case r.SourceGroupID != "":
		return e.groupReferenceMatch(g, r.SourceGroupID, "source")
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
	cr := compileRule(gw, i)
	r := &gw.group.Rules[i]
	switch {
	case r.DestCidr != "":
		p, err := parsePrefix(r.DestCidr)
		if err != nil {
			cr.destBad = fmt.Sprintf("destination CIDR %q unreadable", r.DestCidr)
		} else {
			cr.destPrefix = p
		}
	case r.SourcePrefixListID != "":
		cr.destPrefixLst = r.SourcePrefixListID
	case r.DestGroupID != "":
		cr.destGroup = r.DestGroupID
		cr.destGroupOK, cr.destGroupWhy = e.groupReferenceMatch(gw, r.DestGroupID, "destination")
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
	if !r.protoMatches(pc, proto) || r.srcMatch == NoMatch {
		return NoMatch
	}
	if r.portMaybe {
		return MaybeMatches
	}
	if port < r.lo || port > r.hi {
		return NoMatch
	}
	return r.srcMatch
}

// explainIngress is matchIngress with the reason in words.
func (r *compiledRule) explainIngress(pc protoCode, proto string, port int) (Match, string) {
	if !r.protoMatches(pc, proto) {
		return NoMatch, "protocol " + r.view.Protocol + " does not match " + proto
	}
	if r.srcMatch == NoMatch {
		return NoMatch, r.srcWhy
	}
	portWhy, portM := r.explainPort(port)
	if portM == NoMatch {
		return NoMatch, portWhy
	}
	if portM == MaybeMatches || r.srcMatch == MaybeMatches {
		var why []string
		if portM == MaybeMatches {
			why = append(why, portWhy)
		}
		if r.srcMatch == MaybeMatches {
			why = append(why, r.srcWhy)
		}
		return MaybeMatches, strings.Join(why, "; ")
	}
	return Matches, portWhy + "; " + r.srcWhy
}

func (r *compiledRule) explainPort(port int) (string, Match) {
	if r.portMaybe {
		return r.portWhy, MaybeMatches
	}
	ps := strconv.Itoa(port)
	if r.view.Ports.All {
		return "all ports (-1/-1)", Matches
	}
	if port < r.lo || port > r.hi {
		return "port " + ps + " outside " + r.view.Ports.String(), NoMatch
	}
	return "port " + ps + " inside " + r.view.Ports.String(), Matches
}

// matchEgress matches an egress rule of the gateway group against the flow
// to dest on an ENI carrying the groups in set.
func (r *compiledRule) matchEgress(pc protoCode, proto string, port int, dest netip.Addr, set []string, explain bool) (Match, string) {
	if !r.protoMatches(pc, proto) {
		if !explain {
			return NoMatch, ""
		}
		return NoMatch, "protocol " + r.view.Protocol + " does not match " + proto
	}
	destM, destWhy := r.destMatch(dest, set, explain)
	if destM == NoMatch {
		return NoMatch, destWhy
	}
	var portWhy string
	portM := Matches
	if explain {
		portWhy, portM = r.explainPort(port)
	} else if r.portMaybe {
		portM = MaybeMatches
	} else if port < r.lo || port > r.hi {
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
	switch {
	case r.destPrefix.IsValid():
		if !dest.IsValid() {
			return MaybeMatches, "endpoint address unknown: cannot tell whether " + r.destPrefix.String() + " contains it"
		}
		if r.destPrefix.Contains(dest.Unmap()) {
			if !explain {
				return Matches, ""
			}
			return Matches, "destination " + r.destPrefix.String() + " contains " + dest.String()
		}
		if !explain {
			return NoMatch, ""
		}
		return NoMatch, "destination " + r.destPrefix.String() + " does not contain " + dest.String()
	case r.destBad != "":
		return MaybeMatches, r.destBad
	case r.destPrefixLst != "":
		return MaybeMatches, "prefix list " + r.destPrefixLst + " not expanded"
	case r.destGroup != "":
		if !contains(set, r.destGroup) {
			if !explain {
				return NoMatch, ""
			}
			return NoMatch, "destination group " + r.destGroup + " is not on the endpoint's ENI"
		}
		return r.destGroupOK, r.destGroupWhy
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
