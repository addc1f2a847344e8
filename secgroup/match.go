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
	prio  int16 // 1..110 in valid data; larger values are clamped
	lo    int32 // inclusive port bounds; -1/-1 spans every int32
	hi    int32
	proto protoCode
	drop  bool
	// portMaybe: the port cannot be decided (port list or malformed range).
	portMaybe bool
	// srcFam is the family (4 or 6) of the rule's source CIDR, 0 when it
	// names none: a CIDR never matches a flow of the other family.
	// srcPartial marks a source CIDR holding some gateway addresses of its
	// family and not others (x.srcPrefix, decided per piece).
	srcFam     uint8
	srcPartial bool
	portWhy    string // why portMaybe
	portStr    string // " 8080/8080" for reasons, built once

	// x holds what few rules need (nil for most: kept out of line so the
	// 100,000 compiled rules of a large account stay small).
	x *ruleExtra
}

// ruleExtra is the rarely used part of a compiled rule.
type ruleExtra struct {
	srcPrefix netip.Prefix // a partial source CIDR
	// Ingress only: the rule's local destination (DestCidrIp or
	// Ipv6DestCidrIp), compared with the endpoint's address; inDestWhy says
	// why it cannot be (unreadable, a prefix list).
	inDest    netip.Prefix
	inDestWhy string
	// undecidable is why a field the model cannot decide (a source port
	// range) leaves the rule "may match" whenever it would match.
	undecidable string
	dest        *egressDest // egress rules only
}

// extra returns r.x, allocating it on first use.
func (r *compiledRule) extra() *ruleExtra {
	if r.x == nil {
		r.x = &ruleExtra{}
	}
	return r.x
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
		prio: int16(min(prio, math.MaxInt16)),
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
	if why := sourcePortsUndecidable(r.SourcePortRange); why != "" {
		cr.extra().undecidable = why
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

// sourcePortsUndecidable says why a rule's source port range cannot be
// decided: the gateway connects from an ephemeral port, so a range short of
// every port neither clearly matches nor clearly misses. "" when the rule
// has no range, or one covering every port.
func sourcePortsUndecidable(spr string) string {
	spr = strings.TrimSpace(spr)
	if spr == "" {
		return ""
	}
	pr, err := snapshot.ParsePortRange(spr)
	if err != nil {
		return "source port range " + strconv.Quote(spr) + " unreadable"
	}
	if pr.All || (pr.Start <= 1 && pr.End >= 65535) {
		return ""
	}
	return "source ports limited to " + pr.String() + ": the gateway connects from an ephemeral port, which may or may not fall inside"
}

// compileIngressPeers compiles what an ingress rule says about its peers:
// the source (against the gateway's addresses, once), the local
// destination, and its family.
func (e *Evaluator) compileIngressPeers(g *compiledGroup, cr *compiledRule, r *snapshot.Rule) {
	var c cidrResult
	cr.view.Source, cr.view.SourceWhy, c = e.sourceMatch(g, r)
	if c.fam != 0 {
		cr.srcFam, cr.srcPartial = c.fam, c.partial
		if c.partial {
			e.anyPartial[c.fam] = true
			cr.extra().srcPrefix, _ = parsePrefix(sourceCidrOf(r))
		}
	}
	switch dst := cmpOr(r.DestCidr, r.Ipv6DestCidr); {
	case r.DestCidr != "" && r.Ipv6DestCidr != "":
		cr.extra().inDestWhy = "the rule names both destCidr and ipv6DestCidr"
	case dst != "":
		p, err := parsePrefix(dst)
		if err != nil {
			cr.extra().inDestWhy = fmt.Sprintf("destination CIDR %q unreadable", dst)
		} else {
			cr.extra().inDest = p
		}
	case r.DestPrefixListID != "":
		cr.extra().inDestWhy = "destination prefix list " + r.DestPrefixListID + " not expanded"
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sourceCidrOf is the rule's source CIDR, IPv4 or IPv6, "" when none.
func sourceCidrOf(r *snapshot.Rule) string {
	if r.SourceCidr != "" {
		return r.SourceCidr
	}
	return r.Ipv6SourceCidr
}

// famOf is 4 or 6.
func famOf(a netip.Addr) uint8 {
	if a.Unmap().Is4() {
		return 4
	}
	return 6
}

// sourceMatch decides, once, whether an ingress rule's source is the
// gateway; for a source CIDR it also returns the CIDR as compiled.
func (e *Evaluator) sourceMatch(g *compiledGroup, r *snapshot.Rule) (Match, string, cidrResult) {
	if r.SourceCidr != "" && r.Ipv6SourceCidr != "" {
		return MaybeMatches, "the rule names both sourceCidr and ipv6SourceCidr", cidrResult{}
	}
	switch src := sourceCidrOf(r); {
	case src != "":
		c, ok := e.cidrs[src]
		if !ok {
			c = e.cidrCoversGateway(src)
			if e.cidrs != nil {
				e.cidrs[src] = c
			}
		}
		m, why := c.m, c.why
		if r.SourceGroupID != "" {
			why = "source CIDR wins over source group " + r.SourceGroupID + ": " + why
		}
		return m, why, c
	case r.SourcePrefixListID != "":
		return MaybeMatches, "prefix list " + r.SourcePrefixListID + " not expanded", cidrResult{}
	case r.SourceGroupID != "":
		k := refKey{g, r.SourceGroupID}
		c, ok := e.refs[k]
		if !ok {
			c.m, c.why = e.groupReferenceMatch(g, r.SourceGroupID, "source")
			if e.refs != nil {
				e.refs[k] = c
			}
		}
		return c.m, c.why, cidrResult{}
	}
	return NoMatch, "rule names no source (group, CIDR or prefix list)", cidrResult{}
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

// partialWhy starts the reason of a source CIDR holding only some gateway
// addresses: Evaluate decides such a rule per piece of the addresses.
const partialWhy = "partial: "

// cidrCoversGateway compares a source CIDR with the gateway's addresses of
// its family; the other family's addresses never meet it.
func (e *Evaluator) cidrCoversGateway(cidr string) cidrResult {
	p, err := parsePrefix(cidr)
	if err != nil {
		return cidrResult{m: MaybeMatches, why: fmt.Sprintf("source CIDR %q unreadable", cidr)}
	}
	fam := famOf(p.Addr())
	res := cidrResult{fam: fam}
	if note := e.addrsNote[fam]; note != "" {
		if p.Bits() == 0 {
			res.m, res.why = Matches, p.String()+" contains every gateway address"
			return res
		}
		res.m, res.why = MaybeMatches, note+": cannot tell whether "+p.String()+" contains them"
		return res
	}
	addrs := e.gwAddrs[fam]
	var inside, outside, partial []string
	for _, a := range addrs {
		switch {
		case p.Bits() <= a.Bits() && p.Contains(a.Addr()):
			inside = append(inside, a.String())
		case p.Overlaps(a):
			partial = append(partial, a.String())
		default:
			outside = append(outside, a.String())
		}
	}
	switch {
	case len(partial) == 0 && len(outside) == 0:
		res.m, res.why = Matches, p.String()+" contains every gateway address"
		return res
	case len(partial) == 0 && len(inside) == 0:
		res.m, res.why = NoMatch, p.String()+" contains no gateway address"
		return res
	}
	var parts []string
	if len(inside) > 0 {
		parts = append(parts, "all of "+strings.Join(inside, ", "))
	}
	if len(partial) > 0 {
		parts = append(parts, "part of "+strings.Join(partial, ", "))
	}
	if len(outside) > 0 {
		parts = append(parts, "none of "+strings.Join(outside, ", "))
	}
	res.m, res.partial = MaybeMatches, true
	res.why = partialWhy + p.String() + " holds " + strings.Join(parts, "; ") + ": decided per piece of the gateway's addresses"
	return res
}

// compileEgress compiles rule i of the gateway group as an egress rule.
func (e *Evaluator) compileEgress(gw *compiledGroup, i int) *compiledRule {
	c := e.compileRule(gw, i)
	cr := &c
	r := &gw.group.Rules[i]
	d := &egressDest{}
	cr.extra().dest = d
	switch dst := cmpOr(r.DestCidr, r.Ipv6DestCidr); {
	case r.DestCidr != "" && r.Ipv6DestCidr != "":
		d.bad = "the rule names both destCidr and ipv6DestCidr"
	case dst != "":
		p, err := parsePrefix(dst)
		if err != nil {
			d.bad = fmt.Sprintf("destination CIDR %q unreadable", dst)
		} else {
			d.prefix = p
		}
	case r.DestPrefixListID != "":
		d.prefixLst = r.DestPrefixListID
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

// flow is what matching needs of a query besides protocol and port: the
// family, the endpoint address, and — when the gateway's addresses are
// split — the piece being decided (invalid otherwise).
type flow struct {
	fam   uint8
	dest  netip.Addr
	piece netip.Prefix
}

// matchIngress is the hot path: protocol, family, port, the precomputed
// source (per piece for a partial CIDR), then the rarer fields.
func (r *compiledRule) matchIngress(pc protoCode, proto string, port int, f *flow) Match {
	if !r.protoMatches(pc, proto) || r.view.Source == NoMatch || (r.srcFam != 0 && r.srcFam != f.fam) {
		return NoMatch
	}
	m := r.view.Source
	if r.portMaybe {
		m = MaybeMatches
	} else if port < int(r.lo) || port > int(r.hi) {
		return NoMatch
	}
	if r.srcPartial {
		if !f.piece.IsValid() {
			m = MaybeMatches
		} else if sp := r.x.srcPrefix; sp.Bits() <= f.piece.Bits() && sp.Contains(f.piece.Addr()) {
			if !r.portMaybe {
				m = Matches
			}
		} else {
			return NoMatch
		}
	}
	if r.x != nil {
		return r.matchRare(m, f)
	}
	return m
}

// matchRare applies the local destination and the undecidable fields to a
// rule that otherwise matches (m).
func (r *compiledRule) matchRare(m Match, f *flow) Match {
	x := r.x
	switch {
	case x.inDest.IsValid() && f.dest.IsValid():
		if !x.inDest.Contains(f.dest.Unmap()) {
			return NoMatch
		}
	case x.inDest.IsValid(), x.inDestWhy != "":
		m = MaybeMatches
	}
	if x.undecidable != "" {
		m = MaybeMatches
	}
	return m
}

// explainRare is matchRare with the reasons in words, appended to why.
func (r *compiledRule) explainRare(m Match, why string, f *flow) (Match, string) {
	x := r.x
	switch {
	case x.inDest.IsValid() && f.dest.IsValid():
		if !x.inDest.Contains(f.dest.Unmap()) {
			return NoMatch, "destination " + x.inDest.String() + " does not contain the endpoint " + f.dest.String()
		}
		why += "; destination " + x.inDest.String() + " contains " + f.dest.String()
	case x.inDest.IsValid():
		m, why = MaybeMatches, why+"; endpoint address unknown: cannot tell whether destination "+x.inDest.String()+" contains it"
	case x.inDestWhy != "":
		m, why = MaybeMatches, why+"; "+x.inDestWhy
	}
	if x.undecidable != "" {
		m, why = MaybeMatches, why+"; "+x.undecidable
	}
	return m, why
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

// explainIngress is matchIngress with the reason in words, for the whole of
// the gateway's addresses (a partial CIDR "may match").
func (r *compiledRule) explainIngress(pc protoCode, proto string, port int, ps string, f *flow) (Match, string) {
	if !r.protoMatches(pc, proto) {
		return NoMatch, r.protoWhy(pc, proto)
	}
	if r.view.Source == NoMatch {
		return NoMatch, r.view.SourceWhy
	}
	if r.srcFam != 0 && r.srcFam != f.fam {
		return NoMatch, fmt.Sprintf("source %s is IPv%d, the flow IPv%d", sourceCidrOf(r.view.Ref.Rule), r.srcFam, f.fam)
	}
	portWhy, portM := r.explainPort(port, ps)
	if portM == NoMatch {
		return NoMatch, portWhy
	}
	m, why := Matches, portWhy+"; "+r.view.SourceWhy
	if portM == MaybeMatches || r.view.Source == MaybeMatches {
		var ws []string
		if portM == MaybeMatches {
			ws = append(ws, portWhy)
		}
		if r.view.Source == MaybeMatches {
			ws = append(ws, r.view.SourceWhy)
		}
		m, why = MaybeMatches, strings.Join(ws, "; ")
	}
	if r.x != nil {
		return r.explainRare(m, why, f)
	}
	return m, why
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
	if portM == NoMatch {
		return NoMatch, portWhy
	}
	if r.x != nil && r.x.undecidable != "" {
		return MaybeMatches, r.x.undecidable
	}
	switch {
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
	d := r.x.dest
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
