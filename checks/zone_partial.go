package checks

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// classifyPartial: the configuration lets the gateway in from some pieces of
// its addresses (zones, vSwitch CIDRs) and not from others. That is the
// cause, whatever else holds: the grants that work show what the missing
// piece needs. Endpoints sharing the group set and the same blocked pieces
// share a finding.
func (f *facts) classifyPartial(ep *diagnose.Endpoint) *cause {
	var blocked []string
	for _, p := range ep.Decision.Pieces {
		if p.Verdict != secgroup.Allow {
			blocked = append(blocked, p.Describe())
		}
	}
	return &cause{ep: ep, code: diagnose.CodeZonePartial, key: strings.Join(ep.GroupIDs, ",") + "|" + strings.Join(blocked, ";")}
}

// ZonePartial reports endpoints the gateway reaches from some of its zones
// only.
var ZonePartial = &diagnose.Check{
	Name: "zone-partial",
	Doc: `Reports endpoints the gateway reaches from some of its addresses and not from others.

An MSE gateway runs in two zones and sends from both vSwitch CIDRs (gateway.addresses,
named by gateway.vswitches). When the endpoint's groups let in one zone's CIDR and not the
other's — or a drop covers part of the gateway's addresses — the gateway's addresses are
split into the pieces no rule CIDR cuts, each piece is decided by the ordinary rules, and a
mix of allowed and denied pieces is this finding (config "partial", verdict blocked). It
names each blocked zone, vSwitch and CIDR with its deciding rule, and the fix grants the
missing piece what the working one has.`,
	Codes:    []string{diagnose.CodeZonePartial},
	Requires: causeInputs,
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, cs := range f.causeGroups(diagnose.CodeZonePartial) {
			p.Report(f.zonePartialFinding(cs))
		}
		return nil
	},
}

func (f *facts) zonePartialFinding(cs []*cause) diagnose.Finding {
	ep := cs[0].ep
	d := ep.Decision
	proto, port := protocol(ep), ep.Endpoint.Port
	var blocked, allowed []secgroup.Piece
	var specific []string
	for _, p := range d.Pieces {
		switch p.Verdict {
		case secgroup.Allow:
			allowed = append(allowed, p)
		default:
			blocked = append(blocked, p)
		}
		line := p.Describe()
		if p.Deciding != nil {
			line = "from " + p.Zone() + ": " + p.PrefixText() + " " + verbOf(p) + " by rule " + f.ruleText(*p.Deciding)
		}
		specific = append(specific, line)
	}
	var where, from []string
	for _, p := range blocked {
		if p.Verdict == secgroup.Deny {
			where = append(where, pieceWhere(p))
		}
	}
	for _, p := range allowed {
		from = append(from, pieceWhere(p))
	}
	msg := fmt.Sprintf("%s %s blocked for %s/%d from %s of the gateway; let in only from %s",
		who(cs), isAre(cs), proto, port, strings.Join(dedupe(where), ", "), cmp.Or(strings.Join(dedupe(from), ", "), "no other piece"))
	specific = append(specific, "the gateway sends from all its addresses (both zones' vSwitches): connections from the blocked piece time out, an outage for that share of the traffic even though the other zone works")

	steps, cmds := f.zonePartialFix(ep, blocked, allowed)
	fd := f.endpointFinding(cs, diagnose.CodeZonePartial, nil, msg, specific, ep.GroupIDs...)
	rule, detail := "", ""
	if len(allowed) > 0 && allowed[0].Deciding != nil {
		rule, detail = ruleName(*allowed[0].Deciding), ruleBody(allowed[0].Deciding.Rule)
	}
	fd.Chain = f.chain(ep, "", "", rule, detail, diagnose.LinkRule, "no rule lets in "+strings.Join(dedupe(where), ", "))
	fd.Remediation = f.remedy(steps, cmds...)
	return fd
}

// pieceWhere names a piece: its zone, and its prefixes when it is only part
// of the zone's address.
func pieceWhere(p secgroup.Piece) string {
	if len(p.Prefixes) == 1 && p.Prefixes[0] == p.Address {
		return p.Zone()
	}
	return p.Zone() + " for " + p.PrefixText()
}

func verbOf(p secgroup.Piece) string {
	if p.Verdict == secgroup.Deny {
		return "denied"
	}
	return "allowed"
}

func dedupe(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// zonePartialFix grants each blocked piece what the working piece has: the
// same accept rule for the blocked CIDR (the grant that works is a CIDR
// rule, or partial pieces could not arise), or, when a drop denies the
// piece, removing that drop.
func (f *facts) zonePartialFix(ep *diagnose.Endpoint, blocked, allowed []secgroup.Piece) (steps []string, cmds []command) {
	// The template: the first allowed piece's accept rule.
	var tmpl *snapshot.Rule
	tmplGroup := f.firstGroup(ep.GroupIDs)
	for _, p := range allowed {
		if p.Deciding != nil && p.Deciding.Rule != nil {
			tmpl, tmplGroup = p.Deciding.Rule, p.Deciding.GroupID
			break
		}
	}
	ipProto := strings.ToLower(protocol(ep))
	ports := portRangeOf(ep.Endpoint.Port)
	prio := 1
	if tmpl != nil {
		ipProto = strings.ToLower(cmp.Or(tmpl.Protocol, snapshot.ProtocolTCP))
		if tmpl.PortRange != "" && tmpl.PortRangeListID == "" {
			ports = tmpl.PortRange
		}
		prio = max(tmpl.Priority, 1)
	}
	droppedBy := false
	for _, p := range blocked {
		switch {
		case p.Verdict != secgroup.Deny:
			steps = append(steps, fmt.Sprintf("From %s the configuration cannot decide (%s): resolve that first (see the notes), then re-run gwdoctor.", p.Zone(), strings.Join(p.Notes, "; ")))
		case p.Deciding != nil && p.Deciding.Rule != nil && strings.EqualFold(p.Deciding.Rule.Policy, snapshot.PolicyDrop):
			r := p.Deciding
			droppedBy = true
			steps = append(steps, fmt.Sprintf("%s → rule %s (priority %d drop, source %s) denies the gateway's %s in %s: delete it, or narrow its source so it no longer holds the gateway's addresses.",
				f.stepECSRule(r.GroupID), ruleName(*r), max(r.Rule.Priority, 1), cmp.Or(r.Rule.SourceCidr, r.Rule.Ipv6SourceCidr, r.Rule.SourceGroupID, r.Rule.SourcePrefixListID), p.PrefixText(), p.Zone()))
			cmds = append(cmds, f.cmdECSRevoke(r.GroupID, r.RuleID, snapshot.DirectionIngress))
		default:
			cidrs := pieceCIDRs(p)
			steps = append(steps, fmt.Sprintf("%s → Add Rule: accept %s %s, priority %d, source %s (%s) — the same grant the working zone has.",
				f.stepECSRule(tmplGroup), strings.ToUpper(ipProto), ports, prio, strings.Join(cidrs, ", "), p.Zone()))
			cmds = append(cmds, f.cmdECSAuthorizeCidrList(tmplGroup, ipProto, ports, prio, cidrs, why(ep.ServiceKey)))
		}
	}
	if !droppedBy {
		// No drop in the way: the MSE authorization's rule (source: the
		// gateway's group) lets in every zone at once.
		steps = append(steps, fmt.Sprintf("Alternatively authorize %s in the MSE console (Security Group Authorization): its rule is sourced from the gateway's group %s and so covers every zone at once.", tmplGroup, f.gwGroup))
	}
	steps = append(steps, "Re-run gwdoctor: every piece of the gateway's addresses must come out allowed.")
	return steps, cmds
}

// pieceCIDRs are the CIDRs to grant for a blocked piece: its gateway address
// (the zone's vSwitch CIDR) when the whole address is blocked, else the
// piece's own prefixes.
func pieceCIDRs(p secgroup.Piece) []string {
	if len(p.Prefixes) == 1 && p.Prefixes[0] == p.Address {
		return []string{p.Address.String()}
	}
	var out []string
	for _, x := range p.Prefixes {
		out = append(out, x.String())
	}
	return out
}

// cmdECSAuthorizeCidrList adds inbound accepts from cidrs (IPv4 or IPv6),
// one permission each, in one call.
func (f *facts) cmdECSAuthorizeCidrList(group, ipProto, ports string, prio int, cidrs []string, why string) command {
	const api = "aliyun ecs AuthorizeSecurityGroup"
	switch {
	case f.region == "":
		return unknown(api, lookupRegion)
	case !knownID(group):
		return unknown(api, lookupGroup)
	case !validPorts(ports) && ipProto != "all":
		return unknown(api, lookupPorts(ports))
	}
	line := fmt.Sprintf("%s --RegionId %s --SecurityGroupId %s", api, quote(f.region), quote(group))
	for i, c := range cidrs {
		src := "SourceCidrIp"
		if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is6() {
			src = "Ipv6SourceCidrIp"
		}
		line += permission(i+1, "IpProtocol", strings.ToUpper(ipProto), "PortRange", ports, src, c, "Policy", "accept", "Priority", strconv.Itoa(prio), "Description", why)
	}
	return command{line: line}
}

var _ = explains(Article{
	Code: diagnose.CodeZonePartial,
	Symptom: `About half the requests through the gateway to the service fail with HTTP 503 "upstream
connect error … connection timeout", the rest succeed; which ones fail follows the gateway
replica (zone) that sends them, not the pod. A probe from one gateway host may well succeed.`,
	Cause: `An MSE gateway runs in two zones (GetGateway Vswitch and Vswitch2) and connects to backends
from both vSwitch CIDRs. The backend's security group lets in one zone's CIDR (an inbound
rule with source 192.168.0.0/24, say) but not the other's, or a drop covers part of the
gateway's addresses. Connections from the other zone are dropped silently.`,
	Detection: `The gateway's addresses (gateway.addresses, zones from gateway.vswitches) are split into the
pieces no rule CIDR cuts; each piece is decided with the ordinary rules (priority, drop wins
ties, default deny, all groups on the ENI merged). Some pieces allowed and others denied
is this finding; the report's endpoint row has config "partial", verdict blocked, and lists
the pieces with their deciding rules.`,
	Fix: `Grant the blocked zone what the working zone has: add the same inbound accept rule with the
blocked zone's vSwitch CIDR as source, or remove the drop that denies it. Or authorize the
group in the MSE console (Security Group Authorization), whose rule is sourced from the
gateway's group and so covers every zone.

  aliyun ecs AuthorizeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-app \
    --Permissions.1.IpProtocol TCP --Permissions.1.PortRange 8080/8080 \
    --Permissions.1.SourceCidrIp 192.168.1.0/24 --Permissions.1.Policy accept \
    --Permissions.1.Priority 1 --Permissions.1.Description 'gwdoctor: MSE gateway to shop/orders'`,
	Related: []string{diagnose.CodePartialReachability, diagnose.CodeMissingAuthorization, diagnose.CodeDenyRuleShadows},
})
