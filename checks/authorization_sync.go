package checks

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// AuthorizationSync reports MSE authorizations and backend inbound rules
// that disagree.
var AuthorizationSync = &diagnose.Check{
	Name: "authorization-out-of-sync",
	Doc: `Reports MSE authorizations without their inbound rule, and gateway rules without their authorization.

Error: an authorization exists for a group but the group has no inbound accept rule from the
gateway covering the authorized ports — the rule was deleted in the ECS console, so the MSE
console shows the group authorized while traffic is denied. Reported per blocked endpoint
whose own ENI group is affected, and per authorization when no endpoint is (groups of the
other type, in another VPC or on no node are left to GWD106, GWD108 and GWD303).
Warning: an inbound accept rule whose source is the gateway's group has no authorization
with the same ports left — as after deleting the authorization without cascade: the MSE
console no longer shows access that the security group still grants.`,
	Codes:    []string{diagnose.CodeAuthorizationSync},
	Requires: []diagnose.Input{diagnose.InputAuthorizations, diagnose.InputSecurityGroups},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		reported := map[*snapshot.Authorization]bool{}
		if missing, _ := p.View.InputMissing(diagnose.InputNodes); !missing {
			if missing, _ := p.View.InputMissing(diagnose.InputEndpoints); !missing {
				for _, cs := range f.causeGroups(diagnose.CodeAuthorizationSync) {
					reported[cs[0].grants[0].auth] = true
					p.Report(f.syncEndpointFinding(cs))
				}
			}
		}
		f.syncAuthorizations(p, reported)
		f.syncOrphanRules(p)
		return nil
	},
}

func (f *facts) syncEndpointFinding(cs []*cause) diagnose.Finding {
	c := cs[0]
	ep := c.ep
	a := c.grants[0].auth
	group := c.groups[0]
	specific := []string{
		fmt.Sprintf("authorization %s grants the gateway %s %s — the MSE console shows %s as authorized", orNone(a.ID), group, a.PortRange, group),
		fmt.Sprintf("but %s has no inbound accept rule from the gateway's group %s covering %s/%d: the rule the authorization created is gone", group, f.gwGroup, protocol(ep), ep.Endpoint.Port),
	}
	msg := fmt.Sprintf("%s %s blocked: authorization %s for %s %s has no inbound rule in %s", who(cs), isAre(cs), orNone(a.ID), group, a.PortRange, group)
	fd := f.endpointFinding(cs, diagnose.CodeAuthorizationSync, diagnose.Sev(diagnose.Error), msg, specific, group, a.ID)
	fd.Chain = f.chain(ep, a.ID, group+" "+a.PortRange, "", "", diagnose.LinkRule, "inbound rule missing in "+group)
	fd.Remediation = f.syncFix(a)
	return fd
}

// syncFix re-creates the missing inbound rule: re-add the authorization (MSE
// writes the rule) or add the rule directly.
func (f *facts) syncFix(a *snapshot.Authorization) diagnose.Remediation {
	return f.remedy([]string{
		f.stepMSEDelete(a.ID, a.SecurityGroupID, a.PortRange, true) + " Then " + strings.TrimPrefix(f.stepMSEAdd(a.SecurityGroupID, a.PortRange), "MSE console → ") + " MSE writes the inbound rule again (the DeleteSecurityGroupRule and AddSecurityGroupRule commands below).",
		"Or, instead, add the inbound rule directly: " + f.stepECSRule(a.SecurityGroupID) + " → Add Rule: Allow, TCP, port " + a.PortRange + ", source: security group " + f.gwGroup + ", priority 1 (the AuthorizeSecurityGroup command below).",
	},
		f.cmdMSEDelete(a.ID, true),
		f.cmdMSEAdd(a.SecurityGroupID, a.PortRange, cmp.Or(a.Description, "gwdoctor: re-create authorization")),
		f.cmdECSAuthorizeGroup(a.SecurityGroupID, a.PortRange, "mse gateway "+f.gwID),
	)
}

// syncAuthorizations reports authorizations whose group lacks the rule,
// when no blocked endpoint reported them and no other check owns them.
func (f *facts) syncAuthorizations(p *diagnose.Pass, reported map[*snapshot.Authorization]bool) {
	nodesKnown := true
	if missing, _ := p.View.InputMissing(diagnose.InputNodes); missing {
		nodesKnown = false
	}
	for i := range f.v.Snapshot.Gateway.Authorizations {
		a := &f.v.Snapshot.Gateway.Authorizations[i]
		g := f.v.Groups[a.SecurityGroupID]
		if reported[a] || g == nil {
			continue // a group not in the data is GWD303's
		}
		if readable, _ := f.v.Eval.GroupReadable(g.ID); !readable {
			continue
		}
		if f.gwType != "" && (groupType(g) != f.gwType || f.enterpriseInvolved(g)) || f.gwVPC != "" && g.VpcID != "" && g.VpcID != f.gwVPC {
			continue // GWD106 / GWD108
		}
		if nodesKnown && len(f.v.NodesByGroup[g.ID]) == 0 {
			continue // GWD303
		}
		pr, err := snapshot.ParsePortRange(a.PortRange)
		if err != nil {
			continue
		}
		proto := cmp.Or(a.Protocol, snapshot.ProtocolTCP)
		if f.ruleCoversRange(g.ID, proto, pr) {
			continue
		}
		p.Report(diagnose.Finding{
			Code:     diagnose.CodeAuthorizationSync,
			Severity: diagnose.Sev(diagnose.Error),
			Subjects: []string{g.ID, orNone(a.ID)},
			Message:  fmt.Sprintf("authorization %s for %s %s has no inbound rule in %s: the rule it should have created is missing, although the console shows the group authorized", orNone(a.ID), g.ID, a.PortRange, g.ID),
			Evidence: []string{
				f.gatewayLine(),
				fmt.Sprintf("authorization %s: %s %s %s", orNone(a.ID), f.groupDesc(g.ID), proto, a.PortRange),
				fmt.Sprintf("%s has no inbound accept rule from %s covering %s %s", g.ID, f.gwGroup, proto, a.PortRange),
				"nodes in " + g.ID + ": " + nodeList(f.v.NodesByGroup[g.ID]),
			},
			Chain: []diagnose.Link{
				{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: "gateway " + f.gwID},
				{Kind: diagnose.LinkAuthorization, ID: orNone(a.ID), Detail: g.ID + " " + a.PortRange},
				{Kind: diagnose.LinkRule, ID: "none", Broken: true, Detail: "inbound rule missing in " + g.ID},
				{Kind: diagnose.LinkBackendGroup, ID: g.ID},
			},
			Remediation: f.syncFix(a),
		})
	}
}

// ruleCoversRange reports whether group has an inbound accept rule naming
// the gateway's group as source (the rule an authorization creates) whose
// protocol and ports cover the whole range — whether or not it can match, so
// a rule that exists is never reported missing.
func (f *facts) ruleCoversRange(group, proto string, pr snapshot.PortRange) bool {
	for k := range f.ingress[group] {
		r := &f.ingress[group][k]
		if r.Drop || !r.PortsOK || r.Ref.Rule == nil || r.Ref.Rule.SourceCidr != "" || f.gwGroup == "" || r.Ref.Rule.SourceGroupID != f.gwGroup {
			continue
		}
		if r.Protocol != snapshot.ProtocolAll && !strings.EqualFold(r.Protocol, proto) {
			continue
		}
		if r.Ports.All || (!pr.All && r.Ports.Start <= pr.Start && r.Ports.End >= pr.End) {
			return true
		}
	}
	return false
}

// syncOrphanRules reports inbound accept rules naming the gateway's group as
// source that no authorization with the same ports explains.
func (f *facts) syncOrphanRules(p *diagnose.Pass) {
	for _, g := range f.v.Snapshot.SecurityGroups {
		rules, ok := f.v.Eval.IngressRules(g.ID)
		if !ok || g.ID == f.gwGroup {
			continue
		}
		for _, r := range rules {
			rule := r.Ref.Rule
			if r.Drop || rule == nil || rule.SourceGroupID != f.gwGroup || rule.SourceCidr != "" || r.Source != secgroup.Matches {
				continue
			}
			if f.authorizedExactly(g.ID, r) {
				continue
			}
			var others []string
			for _, a := range f.authsByGroup[g.ID] {
				others = append(others, orNone(a.ID)+" "+a.PortRange)
			}
			ev := []string{
				f.gatewayLine(),
				"inbound rule " + f.ruleText(r.Ref) + " lets the gateway's group in",
			}
			if len(others) == 0 {
				ev = append(ev, "the gateway has no authorization for "+g.ID+" at all")
			} else {
				ev = append(ev, "the gateway's authorizations for "+g.ID+" cover other ports: "+strings.Join(others, ", "))
			}
			ev = append(ev, "an authorization deleted without cascade leaves its rule behind: the MSE console no longer shows access the group still grants")
			ports := r.Ports.String()
			if rule.PortRangeListID != "" {
				ports = "port list " + rule.PortRangeListID // no range to authorize until it is expanded
			}
			p.Report(diagnose.Finding{
				Code:     diagnose.CodeAuthorizationSync,
				Severity: diagnose.Sev(diagnose.Warning),
				Subjects: []string{g.ID, ruleName(r.Ref)},
				Message:  fmt.Sprintf("inbound rule %s lets the gateway in on %s, but no authorization for %s %s exists (left behind by a delete without cascade?)", ruleName(r.Ref), ports, g.ID, ports),
				Evidence: ev,
				Chain: []diagnose.Link{
					{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: "gateway " + f.gwID},
					{Kind: diagnose.LinkAuthorization, ID: "none", Broken: true, Detail: "no authorization for " + g.ID + " " + ports},
					{Kind: diagnose.LinkRule, ID: ruleName(r.Ref), Detail: ruleBody(rule)},
					{Kind: diagnose.LinkBackendGroup, ID: g.ID},
				},
				Remediation: f.remedy([]string{
					"If the gateway should still reach " + g.ID + " on " + ports + ": " + f.stepMSEAdd(g.ID, ports) + " (the console then shows what the group grants; the AddSecurityGroupRule command below).",
					"If not: " + f.stepECSRule(g.ID) + " → delete rule " + orNone(r.Ref.RuleID) + " (the RevokeSecurityGroup command below). Next time delete authorizations with the cascading option (CascadingDelete).",
				},
					f.cmdMSEAdd(g.ID, ports, cmp.Or(rule.Description, "gwdoctor: adopt existing rule")),
					f.cmdECSRevoke(g.ID, r.Ref.RuleID, snapshot.DirectionIngress),
				),
			})
		}
	}
}

// authorizedExactly reports whether an authorization of group has the
// rule's protocol and ports.
func (f *facts) authorizedExactly(group string, r secgroup.RuleView) bool {
	for _, gr := range f.grantsByGroup[group] {
		if gr.auth == nil || !gr.portOK || !r.PortsOK {
			continue
		}
		if (strings.EqualFold(gr.proto, r.Protocol) || gr.proto == snapshot.ProtocolAll) && gr.ports.Full() == r.Ports.Full() && (gr.ports.Full() || gr.ports == r.Ports) {
			return true
		}
	}
	return false
}

var _ = explains(Article{
	Code: diagnose.CodeAuthorizationSync,
	Symptom: `Error: the MSE console lists the backend's group under Security Group Authorization, yet
the gateway's requests fail with HTTP 503 "upstream connect error or disconnect/reset before
headers". Warning: the gateway still reaches a group that the console no longer lists.`,
	Cause: `An authorization and its inbound rule are two objects. The rule can be deleted in the ECS
console while the authorization stays (error), and deleting an authorization without the
cascading option leaves the inbound rule in the backend group (warning).`,
	Detection: `Error: an authorization exists for a group on the endpoint's ENI (or, with no endpoint
involved, for any group on a node) but the group has no inbound accept rule whose source is
the gateway's group covering the authorized ports.
Warning: a group has an inbound accept rule whose source is the gateway's group, with no
authorization of the same ports.`,
	Fix: `Error: delete the authorization and add it again (MSE writes the rule again), or add the rule:

  aliyun mse DeleteSecurityGroupRule --GatewayUniqueId gw-… --Id 1001 --CascadingDelete true
  aliyun mse AddSecurityGroupRule --GatewayUniqueId gw-… --SecurityGroupId sg-… --PortRange 8080/8080
  aliyun ecs AuthorizeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-… --IpProtocol tcp \
    --PortRange 8080/8080 --SourceGroupId sg-gw --Policy accept --Priority 1

Warning: re-add the authorization if the access is wanted, else revoke the leftover rule:

  aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-… --SecurityGroupRuleId.1 sgr-…`,
	Related: []string{diagnose.CodeStaleAuthorization, diagnose.CodeMissingAuthorization},
})
