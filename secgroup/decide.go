package secgroup

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Evaluate decides whether the gateway reaches the flow q. It is the fast
// path: no trail, and the ingress part is memoised per (group set, protocol,
// port), so it is cheap for the many endpoints that share a set and a port.
// q.Protocol empty means TCP.
//
// The returned Decision shares its Deciding, Uncertain and Notes with the
// evaluator's cache: treat them as read-only.
func (e *Evaluator) Evaluate(q Query) Decision {
	if e.gwID == "" {
		return gatewayGroupUnknown
	}
	gs := e.lookupSet(q.GroupIDs)
	proto := cmpProto(q.Protocol)
	pc := parseProto(proto)
	in := e.ingressCached(gs, pc, proto, q.Port)
	// With no groups known on the ENI, egress destination-group rules are
	// undecidable too: the ingress Unknown stands alone.
	if !e.egressOn || len(gs.ids) == 0 {
		return in
	}
	out := e.egressDecide(gs, pc, proto, q, nil)
	return combine(in, out)
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
	trail := make([]Considered, 0, len(gs.rules)+len(e.egress))
	d := e.ingress(gs, pc, proto, q.Port, &trail)
	if e.egressOn && len(gs.ids) > 0 {
		d = combine(d, e.egressDecide(gs, pc, proto, q, &trail))
	}
	if d.Deciding != nil {
		for i := range trail {
			if trail[i].Ref.Rule == d.Deciding.Rule {
				trail[i].Decisive = true
			}
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
// protocol or port outside the table (unusual protocols, port -1) are
// computed each time.
func (e *Evaluator) ingressCached(gs *groupSet, pc protoCode, proto string, port int) Decision {
	if pc == protoOther || port < 0 || port > 65535 {
		return e.ingress(gs, pc, proto, port, nil)
	}
	key := uint32(pc)<<16 | uint32(port)
	gs.mu.RLock()
	d, ok := gs.results[key]
	gs.mu.RUnlock()
	if ok {
		return d
	}
	d = e.ingress(gs, pc, proto, port, nil)
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
// records every rule considered.
func (e *Evaluator) ingress(gs *groupSet, pc protoCode, proto string, port int, trail *[]Considered) Decision {
	if len(gs.ids) == 0 {
		return Decision{Verdict: Unknown, Reason: ReasonUndecidable,
			Notes: []string{"the ENI has no security groups in the data (an ENI always has at least one): its rules are unknown"}}
	}
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
			return r.matchIngress(pc, proto, port)
		}
		m, why := r.explainIngress(pc, proto, port, ps)
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
			_, why := r.explainIngress(pc, proto, port, strconv.Itoa(port))
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
	case Deny:
		d := in
		d.Notes = append(append([]string(nil), in.Notes...), out.Notes...)
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
