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
	// unknown gateway addresses, rule fields the model cannot decide).
	Unknown Verdict = iota
	Allow
	Deny
	// Partial: the flow is allowed from some of the gateway's addresses and
	// denied from others (e.g. one zone's vSwitch CIDR is authorized, the
	// other's is not). Decision.Pieces says which. Half the gateway's
	// traffic failing is an outage: the report calls it blocked.
	Partial
)

// String returns "unknown", "allow" or "deny", as in the report JSON.
func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	case Partial:
		return "partial"
	}
	return "unknown"
}

// Match is how one rule relates to the flow.
type Match int

const (
	NoMatch Match = iota
	Matches
	// MaybeMatches: the data cannot tell (unexpanded prefix or port list,
	// unknown addresses, a source port range), or — in RuleView.Source and
	// Explain's trail — the rule's CIDR holds some gateway addresses only;
	// Evaluate then decides each piece of the gateway's addresses apart
	// (Decision.Pieces).
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
	// Dest is the endpoint address. Its family is the flow's family (an
	// unset Dest means IPv4): only rule CIDRs and gateway addresses of that
	// family are compared. Gateway egress rules and ingress rules with a
	// destination CIDR compare it with their destination.
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
	// Pieces is set when some rule's CIDR holds only some of the gateway's
	// addresses (of the flow's family): the addresses are split into the
	// pieces no rule CIDR cuts, and each piece is decided by the ordinary
	// rules. Verdict is then Allow when every piece allows, Deny when every
	// piece denies, Partial when some deny and others allow (or cannot be
	// decided), Unknown otherwise. Deciding is the deciding rule when all
	// pieces share it, else the first denied piece's. Nil when every rule
	// treats all the gateway's addresses alike.
	Pieces []Piece
}

// Piece is a part of the gateway's source addresses that every rule of the
// flow treats alike, with its own decision. Pieces with the same decision
// inside one gateway address are merged into one Piece.
type Piece struct {
	// Prefixes are the piece's addresses, in address order.
	Prefixes []netip.Prefix
	// Address is the gateway address (an entry of gateway.addresses) that
	// holds the piece; VSwitchID and ZoneID name the gateway vSwitch whose
	// CIDR holds it (gateway.vswitches), empty when the snapshot does not say.
	Address   netip.Prefix
	VSwitchID string
	ZoneID    string
	// Verdict is Allow, Deny or Unknown; Reason and Deciding say how, as
	// for a whole Decision, and Notes why it is Unknown.
	Verdict  Verdict
	Reason   Reason
	Deciding *RuleRef
	Notes    []string
}

// Zone names the piece's place: "zone cn-hangzhou-h (vsw-1, 192.168.0.0/24)",
// or the gateway address when no vSwitch is known.
func (p Piece) Zone() string {
	switch {
	case p.ZoneID != "" && p.VSwitchID != "":
		return "zone " + p.ZoneID + " (" + p.VSwitchID + ", " + p.Address.String() + ")"
	case p.VSwitchID != "":
		return "vSwitch " + p.VSwitchID + " (" + p.Address.String() + ")"
	}
	return "gateway address " + p.Address.String()
}

// PrefixText lists the piece's prefixes, comma-separated.
func (p Piece) PrefixText() string {
	var b []byte
	for i, x := range p.Prefixes {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = x.AppendTo(b)
	}
	return string(b)
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
