// Package secgroup implements the security-group semantics of DESIGN.md as
// pure functions: port and protocol matching, source matching against the
// gateway, intra-group access, priority with drop winning ties, default deny.
// It does no I/O.
package secgroup

import (
	"net/netip"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Verdict is the configuration's answer for one flow.
type Verdict int

const (
	// Unknown: the data cannot decide (missing rules, unexpanded lists,
	// unknown gateway addresses, a CIDR covering only some of them).
	Unknown Verdict = iota
	Allow
	Deny
)

// String returns "unknown", "allow" or "deny", as in the report JSON.
func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return "unknown"
}

// Match is how one rule relates to the flow.
type Match int

const (
	NoMatch Match = iota
	Matches
	// MaybeMatches: the rule matches for some gateway addresses only, or the
	// data cannot tell (unexpanded prefix or port list, unknown addresses).
	MaybeMatches
)

func (m Match) String() string {
	switch m {
	case Matches:
		return "matches"
	case MaybeMatches:
		return "may match"
	}
	return "no match"
}

// Reason says how a Decision was reached.
type Reason int

const (
	// ReasonRule: the deciding rule's policy decided.
	ReasonRule Reason = iota
	// ReasonIntraGroup: the gateway's own normal group is on the ENI with
	// innerAccessPolicy accept.
	ReasonIntraGroup
	// ReasonDefaultDeny: no rule matched.
	ReasonDefaultDeny
	// ReasonUndecidable: rules that may or may not match change the outcome,
	// or some group's rules are missing from the snapshot.
	ReasonUndecidable
	// ReasonEgress: the gateway group's egress rules decided (deny or unknown).
	ReasonEgress
	// ReasonOtherVPC: the backend is in another VPC than the gateway, so no
	// rule can let the gateway reach it (set by diagnose, which knows the
	// node's VPC; the evaluator sees only groups).
	ReasonOtherVPC
)

// RuleRef identifies a rule in the snapshot.
type RuleRef struct {
	GroupID string
	// Index is the rule's position in the group's rules.
	Index int
	// RuleID is the rule's id, possibly empty.
	RuleID string
	Rule   *snapshot.Rule
}

// Query is one flow from the gateway to an endpoint.
type Query struct {
	// GroupIDs are the groups on the endpoint's ENI.
	GroupIDs []string
	// Protocol is the flow's protocol, "TCP" for the gateway.
	Protocol string
	Port     int
	// Dest is the endpoint address, used only by gateway egress rules with a
	// destination CIDR.
	Dest netip.Addr
}

// Decision is the evaluator's answer for one flow.
type Decision struct {
	Verdict Verdict
	Reason  Reason
	// Deciding is the rule whose policy decided (ReasonRule, or the egress
	// rule for ReasonEgress); nil otherwise.
	Deciding *RuleRef
	// Uncertain lists the rules whose MaybeMatches made the verdict Unknown,
	// and Notes says in words why (missing rules of a group, partial CIDR, …).
	Uncertain []RuleRef
	Notes     []string
}

// Considered is one rule the evaluator looked at, and why it matched or not.
type Considered struct {
	Ref   RuleRef
	Match Match
	// Why is a short reason, e.g. "port 8081 outside 8080/8080",
	// "source sg-gw is the gateway's group", "enterprise groups cannot be referenced".
	Why string
	// Decisive marks the rule that decided.
	Decisive bool
}

// Explanation is a Decision with the full trail of rules considered, in
// evaluation order (priority, then drop before accept), ingress then egress.
type Explanation struct {
	Decision
	Considered []Considered
}
