package secgroup

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Evaluate decides whether the gateway reaches the flow q. It is the fast
// path: no trail, and the ingress part is memoised per (group set, protocol,
// port, family), so it is cheap for the many endpoints that share a set and a
// port. q.Protocol empty means TCP.
//
// The returned Decision shares its Deciding, Uncertain, Notes and Pieces
// with the evaluator's cache: treat them as read-only.
func (e *Evaluator) Evaluate(q Query) Decision {
	if e.gwID == "" {
		return gatewayGroupUnknown
	}
	gs := e.lookupSet(q.GroupIDs)
	proto := cmpProto(q.Protocol)
	pc := parseProto(proto)
	f := flowOf(q)
	in := e.ingressCached(gs, pc, proto, q.Port, &f)
	// With no groups known on the ENI, egress destination-group rules are
	// undecidable too: the ingress Unknown stands alone.
	if !e.egressOn || len(gs.ids) == 0 {
		return in
	}
	out := e.egressDecide(gs, pc, proto, q, nil)
	return combine(in, out)
}

// flowOf is the query's family and destination; an unset Dest is IPv4.
func flowOf(q Query) flow {
	f := flow{fam: 4, dest: q.Dest.Unmap()}
	if f.dest.IsValid() {
		f.fam = famOf(f.dest)
	}
	return f
}

// gatewayGroupUnknown is every decision when the snapshot does not say which
// security group the gateway sends from (the gateway could not be read): any
// source-group rule might name it, and it might even share a group with the
// endpoint (intra-group access), so nothing can be decided.
var gatewayGroupUnknown = Decision{Verdict: Unknown, Reason: ReasonUndecidable,
	Notes: []string{"the gateway's security group is unknown (the gateway could not be read), so no rule's source can be matched against it"}}

// Explain returns the same decision as Evaluate together with every rule
// considered, in evaluation order (ingress rules of all groups on the ENI
// merged, then the gateway group's egress rules when those are evaluated),
// each with its Match and a short reason; the deciding rule is Decisive.
// It is for findings and evidence: it allocates and does not use the cache.
func (e *Evaluator) Explain(q Query) Explanation {
	if e.gwID == "" {
		return Explanation{Decision: gatewayGroupUnknown}
	}
	gs := e.lookupSet(q.GroupIDs)
	proto := cmpProto(q.Protocol)
	pc := parseProto(proto)
	f := flowOf(q)
	trail := make([]Considered, 0, len(gs.rules)+len(e.egress))
	d := e.ingress(gs, pc, proto, q.Port, &f, &trail)
	if e.egressOn && len(gs.ids) > 0 {
		d = combine(d, e.egressDecide(gs, pc, proto, q, &trail))
	}
	// Every piece's deciding rule decided something: mark them all.
	deciding := map[*snapshot.Rule]bool{}
	if d.Deciding != nil {
		deciding[d.Deciding.Rule] = true
	}
	for _, p := range d.Pieces {
		if p.Deciding != nil {
			deciding[p.Deciding.Rule] = true
		}
	}
	for i := range trail {
		if deciding[trail[i].Ref.Rule] {
			trail[i].Decisive = true
		}
	}
	return Explanation{Decision: d, Considered: trail}
}

func cmpProto(p string) string {
	if p == "" {
		return snapshot.ProtocolTCP
	}
	return p
}

// ingressCached memoises ingress decisions per group set. Flows with a
// protocol or port outside the table (unusual protocols, port -1), and sets
// whose rules name a local destination, are computed each time.
func (e *Evaluator) ingressCached(gs *groupSet, pc protoCode, proto string, port int, f *flow) Decision {
	if pc == protoOther || port < 0 || port > 65535 || gs.destDependent {
		return e.ingress(gs, pc, proto, port, f, nil)
	}
	key := uint32(pc)<<16 | uint32(port)
	if f.fam == 6 {
		key |= 1 << 24
	}
	gs.mu.RLock()
	d, ok := gs.results[key]
	gs.mu.RUnlock()
	if ok {
		return d
	}
	d = e.ingress(gs, pc, proto, port, f, nil)
	gs.mu.Lock()
	gs.results[key] = d
	gs.mu.Unlock()
	return d
}

// outcome is the three-valued result of scanning an ordered rule list: the
// first definite match decides, unless an earlier "may match" rule with the
// other policy could decide instead. This is exact: every assignment of
// match/no-match to the maybe rules gives either the first definite match's
// policy or the policy of some maybe rule before it.
type outcome struct {
	first    int   // index of the first definite match, -1 when none
	deny     bool  // the baseline: first definite match's policy, or the default
	mattered []int // maybe rules before first whose policy differs from deny
}

// scan walks rules in order. match is called for each rule; with a trail it
// must be called for every rule, otherwise the scan stops at the first
// definite match.
func scan(rules []*compiledRule, defaultDeny bool, all bool, match func(i int, r *compiledRule) Match) outcome {
	o := outcome{first: -1}
	var maybeBuf [8]int
	maybes := maybeBuf[:0]
	for i, r := range rules {
		m := match(i, r)
		if o.first >= 0 {
			continue
		}
		switch m {
		case Matches:
			o.first = i
			if !all {
				goto done
			}
		case MaybeMatches:
			maybes = append(maybes, i)
		}
	}
done:
	o.deny = defaultDeny
	if o.first >= 0 {
		o.deny = rules[o.first].drop
	}
	for _, i := range maybes {
		if rules[i].drop != o.deny {
			o.mattered = append(o.mattered, i)
		}
	}
	return o
}

// ingress decides the ingress side for one group set. With trail non-nil it
// records every rule considered. When some rule's source CIDR holds only
// some of the gateway's addresses of the flow's family, each piece of them
// is decided apart and the answers combined (combinePieces).
func (e *Evaluator) ingress(gs *groupSet, pc protoCode, proto string, port int, f *flow, trail *[]Considered) Decision {
	if len(gs.ids) == 0 {
		return Decision{Verdict: Unknown, Reason: ReasonUndecidable,
			Notes: []string{"the ENI has no security groups in the data (an ENI always has at least one): its rules are unknown"}}
	}
	ps := gs.pieces[famIndex(f.fam)]
	if gs.gwState == intraAllow {
		ps = nil // the gateway is a member: its addresses do not matter
	}
	if ps == nil {
		f.piece = netip.Prefix{}
		return e.ingressWhole(gs, pc, proto, port, f, trail)
	}
	if trail != nil {
		// The trail shows each rule once, against all the gateway's
		// addresses (a partial CIDR "may match"); the pieces carry the rest.
		ps := strconv.Itoa(port)
		for _, r := range gs.rules {
			m, why := r.explainIngress(pc, proto, port, ps, f)
			*trail = append(*trail, Considered{Ref: r.view.Ref, Match: m, Why: why})
		}
	}
	// One decision per signature (the pieces inside the same partial
	// CIDRs), usually two or three however finely the CIDRs cut.
	var buf [4]Decision
	decided := buf[:0]
	for _, rep := range ps.reps {
		pf := *f
		pf.piece = rep
		decided = append(decided, e.ingressWhole(gs, pc, proto, port, &pf, nil))
	}
	return e.combinePieces(ps.pieces, decided, f.fam)
}

// ingressWhole decides the ingress side for f.piece (all the gateway's
// addresses when invalid).
func (e *Evaluator) ingressWhole(gs *groupSet, pc protoCode, proto string, port int, f *flow, trail *[]Considered) Decision {
	start := 0
	if trail != nil {
		start = len(*trail)
	}
	// The fast path scans only rules whose source can be the gateway; the
	// others are NoMatch whatever the port, so the outcome is the same.
	rules := gs.relevant
	var ps string
	if trail != nil {
		rules = gs.rules
		ps = strconv.Itoa(port)
	}
	o := scan(rules, true, trail != nil, func(i int, r *compiledRule) Match {
		if trail == nil {
			return r.matchIngress(pc, proto, port, f)
		}
		m, why := r.explainIngress(pc, proto, port, ps, f)
		*trail = append(*trail, Considered{Ref: r.view.Ref, Match: m, Why: why})
		return m
	})

	var d Decision
	switch {
	case gs.gwState == intraAllow:
		d = Decision{Verdict: Allow, Reason: ReasonIntraGroup, Notes: []string{
			"the gateway's group " + e.gwID + " is on this ENI with innerAccessPolicy accept: members reach each other whatever the custom rules say"}}
		return d
	case len(o.mattered) > 0:
		d = undecided(rules, o, "no rule matches and the default denies", func(r *compiledRule) string {
			_, why := r.explainIngress(pc, proto, port, strconv.Itoa(port), f)
			return why
		})
	case o.first >= 0:
		r := rules[o.first]
		d = Decision{Verdict: verdictOf(r.drop), Reason: ReasonRule, Deciding: &r.view.Ref}
	default:
		d = Decision{Verdict: Deny, Reason: ReasonDefaultDeny}
	}
	if gs.gwState == intraDrop {
		d.Notes = append(d.Notes, "the gateway's group "+e.gwID+" is on this ENI with innerAccessPolicy drop: custom rules decide")
	}

	if len(gs.unreadable) > 0 || gs.gwState == intraUnknown {
		notes := append([]string(nil), gs.unreadable...)
		if gs.gwState == intraUnknown {
			notes = append(notes, "the gateway's group "+e.gwID+" is on this ENI but its innerAccessPolicy is unknown: intra-group access may allow the flow")
		}
		if d.Verdict == Deny && d.Deciding != nil && rules[o.first].prio <= 1 && gs.gwState != intraUnknown {
			// A priority-1 drop cannot be overridden by any rule of the
			// unreadable groups (drop wins ties, nothing ranks higher).
			notes = append(notes, "a priority-1 drop decides: no rule in the unreadable groups can override it")
			d.Notes = append(d.Notes, notes...)
		} else {
			d = Decision{Verdict: Unknown, Reason: ReasonUndecidable, Uncertain: d.Uncertain,
				Notes: append(d.Notes, notes...)}
		}
	}

	if trail != nil {
		annotateAfter((*trail)[start:], o.first, rules, d.Deciding != nil)
	}
	return d
}

// combinePieces merges the decisions of the pieces of the gateway's
// addresses: one decision when they all agree; otherwise Pieces lists them
// (merged per gateway address and decision) and the verdict is Allow when
// all allow, Deny when all deny, Partial when some deny and the others
// allow or cannot be decided, Unknown when some allow and others cannot be
// decided.
func (e *Evaluator) combinePieces(pieces []uncut, decided []Decision, fam uint8) Decision {
	// decided is indexed by signature (uncut.sig).
	same := true
	for _, d := range decided[1:] {
		if !sameDecision(d, decided[0]) {
			same = false
			break
		}
	}
	if same {
		return decided[0]
	}
	var out []Piece
	var allow, deny, unknown int
	for _, u := range pieces {
		d := decided[u.sig]
		switch d.Verdict {
		case Allow:
			allow++
		case Deny:
			deny++
		default:
			unknown++
		}
		addr := e.gwAddrs[fam][u.addr]
		merged := false
		for j := range out {
			p := &out[j]
			if p.Address == addr && p.Verdict == d.Verdict && p.Reason == d.Reason && sameRef(p.Deciding, d.Deciding) && slices.Equal(p.Notes, d.Notes) {
				p.Prefixes = append(p.Prefixes, u.prefix)
				merged = true
				break
			}
		}
		if merged {
			continue
		}
		p := Piece{Prefixes: []netip.Prefix{u.prefix}, Address: addr, Verdict: d.Verdict, Reason: d.Reason, Deciding: d.Deciding, Notes: d.Notes}
		if v := e.vswitchOf(u.prefix); v != nil {
			p.VSwitchID, p.ZoneID = v.id, v.zone
		}
		out = append(out, p)
	}
	res := Decision{Pieces: out}
	switch {
	case deny == 0 && unknown == 0:
		res.Verdict = Allow
	case allow == 0 && unknown == 0:
		res.Verdict = Deny
	case deny > 0:
		res.Verdict = Partial
	default:
		res.Verdict = Unknown
	}
	// The decision's own deciding rule: the first denied piece's when any
	// piece is denied (the finding's subject), else the first piece's.
	lead := out[0]
	for _, p := range out {
		if p.Verdict == Deny {
			lead = p
			break
		}
	}
	res.Reason, res.Deciding = lead.Reason, lead.Deciding
	if res.Verdict == Unknown {
		res.Reason, res.Deciding = ReasonUndecidable, nil
	}
	for _, d := range decided {
		if d.Verdict == Unknown {
			for _, u := range d.Uncertain {
				if !slices.ContainsFunc(res.Uncertain, func(x RuleRef) bool { return x.Rule == u.Rule }) {
					res.Uncertain = append(res.Uncertain, u)
				}
			}
		}
	}
	for _, p := range out {
		res.Notes = append(res.Notes, p.Describe())
	}
	return res
}

// Describe says in words how the piece was decided, e.g. "from zone
// cn-hangzhou-h (vsw-1, 192.168.1.0/24): 192.168.1.0/24 denied: no rule
// matches (default deny)".
func (p Piece) Describe() string {
	head := "from " + p.Zone() + ": " + p.PrefixText() + " "
	switch {
	case p.Verdict == Unknown:
		return head + "undecidable: " + strings.Join(p.Notes, "; ")
	case p.Reason == ReasonIntraGroup:
		return head + "allowed by intra-group access"
	case p.Deciding != nil:
		return head + policyPast(p.Verdict == Deny) + " by rule " + refLabel(*p.Deciding)
	case p.Verdict == Deny:
		return head + "denied: no rule matches (default deny)"
	}
	return head + p.Verdict.String()
}

func sameDecision(a, b Decision) bool {
	return a.Verdict == b.Verdict && a.Reason == b.Reason && sameRef(a.Deciding, b.Deciding) && slices.Equal(a.Notes, b.Notes)
}

func sameRef(a, b *RuleRef) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Rule == b.Rule
}

func verdictOf(drop bool) Verdict {
	if drop {
		return Deny
	}
	return Allow
}

// undecided builds the Unknown decision for an outcome whose maybe rules
// matter, naming each of them and what it would change.
func undecided(rules []*compiledRule, o outcome, defaultName string, explain func(r *compiledRule) string) Decision {
	d := Decision{Verdict: Unknown, Reason: ReasonUndecidable}
	otherwise := defaultName
	if o.first >= 0 {
		otherwise = "rule " + ruleLabel(rules[o.first]) + " decides"
	}
	for _, i := range o.mattered {
		r := rules[i]
		d.Uncertain = append(d.Uncertain, r.view.Ref)
		d.Notes = append(d.Notes, fmt.Sprintf("rule %s may match (%s): if it does the flow is %s by it, otherwise %s",
			ruleLabel(r), explain(r), policyPast(r.drop), otherwise))
	}
	return d
}

func policyPast(drop bool) string {
	if drop {
		return "denied"
	}
	return "allowed"
}

// ruleLabel names a rule for notes: "sg-a/sgr-1 (priority 1 drop TCP 8080/8080)".
func ruleLabel(r *compiledRule) string {
	id := r.view.Ref.RuleID
	if id == "" {
		id = fmt.Sprintf("#%d", r.view.Ref.Index)
	}
	pol := snapshot.PolicyAccept
	if r.drop {
		pol = snapshot.PolicyDrop
	}
	ports := r.view.PortListID
	if r.view.PortsOK {
		ports = r.view.Ports.String()
	}
	return fmt.Sprintf("%s/%s (priority %d %s %s %s)", r.view.Ref.GroupID, id, r.prio, pol, r.view.Protocol, ports)
}

// annotateAfter explains, for rules after the first definite match, why a
// matching one did not decide.
func annotateAfter(trail []Considered, first int, rules []*compiledRule, decided bool) {
	if first < 0 {
		return
	}
	for i := first + 1; i < len(trail); i++ {
		if trail[i].Match == NoMatch {
			continue
		}
		switch {
		case !decided:
			trail[i].Why += "; never reached: rule " + ruleLabel(rules[first]) + " matches first"
		case rules[i].prio == rules[first].prio:
			trail[i].Why += "; at equal priority the deciding drop wins"
		default:
			trail[i].Why += "; lower priority than the deciding rule"
		}
	}
}

// egressDecide evaluates the gateway group's egress rules for the flow.
// Allow means egress lets it out; Deny and Unknown carry ReasonEgress.
func (e *Evaluator) egressDecide(gs *groupSet, pc protoCode, proto string, q Query, trail *[]Considered) Decision {
	if !e.gw.rulesKnown {
		return Decision{Verdict: Unknown, Reason: ReasonEgress, Notes: []string{
			e.gw.missing + ": the gateway's egress rules are unknown"}}
	}
	enterprise := e.gw.typ == snapshot.GroupTypeEnterprise
	start := 0
	if trail != nil {
		start = len(*trail)
	}
	o := scan(e.egress, enterprise, trail != nil, func(i int, r *compiledRule) Match {
		m, why := r.matchEgress(pc, proto, q.Port, q.Dest, gs.ids, trail != nil)
		if trail != nil {
			*trail = append(*trail, Considered{Ref: r.view.Ref, Match: m, Why: "egress: " + why})
		}
		return m
	})
	var d Decision
	switch {
	case len(o.mattered) > 0:
		def := "the default allows"
		if enterprise {
			def = "the enterprise default denies"
		}
		d = undecided(e.egress, o, def, func(r *compiledRule) string {
			_, why := r.matchEgress(pc, proto, q.Port, q.Dest, gs.ids, true)
			return why
		})
		d.Reason = ReasonEgress
		for i := range d.Notes {
			d.Notes[i] = "egress: " + d.Notes[i]
		}
	case o.first >= 0:
		r := e.egress[o.first]
		d = Decision{Verdict: verdictOf(r.drop), Reason: ReasonEgress, Deciding: &r.view.Ref}
	case enterprise:
		d = Decision{Verdict: Deny, Reason: ReasonEgress, Notes: []string{
			"egress: no egress rule of the enterprise gateway group " + e.gwID + " matches, and enterprise groups deny outbound traffic by default"}}
	default:
		d = Decision{Verdict: Allow, Reason: ReasonEgress}
	}
	if trail != nil {
		annotateAfter((*trail)[start:], o.first, e.egress, d.Deciding != nil)
	}
	return d
}

// combine merges the ingress and egress decisions: deny if either denies
// (egress named first, as it is the less obvious block), unknown if either
// is unknown and none denies.
func combine(in, out Decision) Decision {
	switch out.Verdict {
	case Allow:
		return in
	case Deny:
		d := Decision{Verdict: Deny, Reason: ReasonEgress, Deciding: out.Deciding, Notes: out.Notes}
		if in.Verdict == Deny {
			also := "ingress also denies: no rule matches"
			if in.Deciding != nil {
				also = "ingress also denies: rule " + refLabel(*in.Deciding) + " decides"
			}
			d.Notes = append(append([]string(nil), out.Notes...), also)
		}
		return d
	}
	switch in.Verdict {
	case Deny, Partial:
		// The denied pieces stay denied whatever egress does; the allowed
		// ones are as undecidable as egress.
		d := in
		d.Notes = append(append([]string(nil), in.Notes...), out.Notes...)
		if len(in.Pieces) > 0 {
			d.Pieces = slices.Clone(in.Pieces)
			for i := range d.Pieces {
				if d.Pieces[i].Verdict == Allow {
					d.Pieces[i].Verdict, d.Pieces[i].Reason, d.Pieces[i].Deciding = Unknown, ReasonEgress, nil
					d.Pieces[i].Notes = out.Notes
				}
			}
		}
		return d
	case Unknown:
		return Decision{Verdict: Unknown, Reason: ReasonUndecidable,
			Uncertain: append(append([]RuleRef(nil), in.Uncertain...), out.Uncertain...),
			Notes:     append(append([]string(nil), in.Notes...), out.Notes...)}
	}
	return out
}

func refLabel(r RuleRef) string {
	id := r.RuleID
	if id == "" {
		id = fmt.Sprintf("#%d", r.Index)
	}
	return r.GroupID + "/" + id
}

// Shadowed returns the considered ingress accept rules that match the flow
// but lose to the deciding drop (at higher or equal priority): the evidence
// for "a deny rule shadows the authorization".
func (x Explanation) Shadowed() []Considered {
	if x.Verdict != Deny || x.Deciding == nil || !strings.EqualFold(x.Deciding.Rule.Policy, snapshot.PolicyDrop) {
		return nil
	}
	var out []Considered
	after := false
	for _, c := range x.Considered {
		if c.Decisive {
			after = true
			continue
		}
		if after && c.Match == Matches && c.Ref.Rule.Direction == x.Deciding.Rule.Direction &&
			!strings.EqualFold(c.Ref.Rule.Policy, snapshot.PolicyDrop) {
			out = append(out, c)
		}
	}
	return out
}
