package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// GroupTypeMismatch reports backends in groups of the other type than the
// gateway's: an enterprise group can neither reference nor be referenced.
var GroupTypeMismatch = &diagnose.Check{
	Name: "security-group-type-mismatch",
	Doc: `Reports blocked backends whose security group is of the other type than the gateway's.

Basic (normal) and enterprise (advanced) groups cannot be mixed in source-group rules:
enterprise groups cannot reference other groups and cannot be referenced. So when the
gateway's managed group and the backend's group differ in type — or both are enterprise — the
inbound rule an authorization creates cannot take effect. Fires for an endpoint the groups
deny when a group on its ENI is of the other type and grants the gateway nothing by CIDR, or
is authorized (or names the gateway's group in a rule) while either side is enterprise,
whatever the types (and no egress, drop or VPC difference explains it first); and for an
authorization no blocked endpoint already reports that names a group of the other type, or
any group while either side is enterprise.`,
	Codes:    []string{diagnose.CodeGroupTypeMismatch},
	Requires: causeInputs,
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		reported := map[string]bool{}
		for _, cs := range f.causeGroups(diagnose.CodeGroupTypeMismatch) {
			c := cs[0]
			ep := c.ep
			for _, g := range c.groups {
				reported[g] = true
			}
			group := c.groups[0]
			gtype := groupType(f.v.Groups[group])
			specific := []string{fmt.Sprintf("the gateway's group %s is %s; the endpoint's group %s is %s", f.gwGroup, f.gwType, f.groupDesc(group), gtype)}
			var authIDs, ruleIDs []string
			for _, a := range f.authsByGroup[group] {
				authIDs = append(authIDs, a.ID)
				specific = append(specific, fmt.Sprintf("authorization %s (%s %s) exists, but cannot take effect: %s", orNone(a.ID), group, a.PortRange, typeReason(f.gwType, gtype)))
			}
			if rules, ok := f.v.Eval.IngressRules(group); ok {
				for _, r := range rules {
					if r.Ref.Rule != nil && r.Ref.Rule.SourceGroupID == f.gwGroup {
						ruleIDs = append(ruleIDs, ruleName(r.Ref))
						specific = append(specific, "inbound rule "+f.ruleText(r.Ref)+" names the gateway's group but cannot match: "+r.SourceWhy)
					}
				}
			}
			msg := fmt.Sprintf("%s %s blocked on %s %d: group %s is %s but the gateway's group %s is %s — group authorization cannot work across types",
				who(cs), isAre(cs), protocol(ep), ep.Endpoint.Port, group, gtype, f.gwGroup, f.gwType)
			if gtype == f.gwType {
				msg = fmt.Sprintf("%s %s blocked on %s %d: group %s and the gateway's group %s are both %s — enterprise groups can neither reference nor be referenced, so the group authorization cannot work",
					who(cs), isAre(cs), protocol(ep), ep.Endpoint.Port, group, f.gwGroup, gtype)
			}
			fd := f.endpointFinding(cs, diagnose.CodeGroupTypeMismatch, nil, msg, specific, append(append(append([]string{}, c.groups...), authIDs...), ruleIDs...)...)
			fd.Chain = f.chain(ep, strings.Join(authIDs, ","), "", strings.Join(ruleIDs, ","), "", diagnose.LinkBackendGroup, gtype+" group; gateway group is "+f.gwType)
			fd.Remediation = f.typeFix(group, gtype, ep.ServiceKey, portRangeOf(ep.Endpoint.Port), authIDs)
			p.Report(fd)
		}
		if f.gwType == "" {
			return nil
		}
		for _, a := range f.v.Snapshot.Gateway.Authorizations {
			g := f.v.Groups[a.SecurityGroupID]
			if g == nil || reported[a.SecurityGroupID] || groupType(g) == f.gwType && !f.enterpriseInvolved(g) {
				continue
			}
			reported[a.SecurityGroupID] = true
			gtype := groupType(g)
			var ids []string
			for _, x := range f.authsByGroup[a.SecurityGroupID] {
				ids = append(ids, x.ID)
			}
			p.Report(diagnose.Finding{
				Code:     diagnose.CodeGroupTypeMismatch,
				Subjects: append([]string{a.SecurityGroupID}, ids...),
				Message:  fmt.Sprintf("authorization %s names %s group %s, but the gateway's group %s is %s: it cannot take effect", orNone(a.ID), gtype, a.SecurityGroupID, f.gwGroup, f.gwType),
				Evidence: []string{
					f.gatewayLine(),
					fmt.Sprintf("authorization %s: %s %s", orNone(a.ID), f.groupDesc(a.SecurityGroupID), a.PortRange),
					typeReason(f.gwType, gtype),
					"no endpoint in the snapshot is blocked by it now; a backend placed in " + a.SecurityGroupID + " would be",
				},
				Chain: []diagnose.Link{
					{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: f.gwType},
					{Kind: diagnose.LinkAuthorization, ID: orNone(a.ID)},
					{Kind: diagnose.LinkBackendGroup, ID: a.SecurityGroupID, Broken: true, Detail: gtype},
				},
				Remediation: f.typeFix(a.SecurityGroupID, gtype, "", a.PortRange, ids),
			})
		}
		return nil
	},
}

func typeReason(gwType, backendType string) string {
	if backendType == "enterprise" {
		return "enterprise security groups cannot reference other groups, so a rule with the gateway's group as source never matches"
	}
	if gwType == "enterprise" {
		return "the gateway's enterprise group cannot be referenced as a source by other groups"
	}
	return "groups of different types cannot reference each other"
}

// typeFix: move the backend to a group of the gateway's type, or allow the
// gateway's addresses by CIDR (which works across types).
func (f *facts) typeFix(group, gtype, service, ports string, authIDs []string) diagnose.Remediation {
	desc := why(service)
	if service == "" {
		desc = "gwdoctor: MSE gateway " + f.gwID
	}
	byAddress := fmt.Sprintf("allow the gateway by address: %s → Add Rule: action Allow, protocol TCP, port %s, source = the gateway's vSwitch CIDR(s) %s, priority 1.",
		f.stepECSRule(group), ports, strings.Join(orPlaceholder(f.v.Snapshot.Gateway.Addresses, "the gateway's vSwitch CIDRs (not in the snapshot)"), ", "))
	var steps []string
	if f.gwType == snapshot.GroupTypeEnterprise {
		// No group of any type can reference an enterprise gateway group:
		// only addresses work.
		steps = []string{
			"Keeping the " + gtype + " group, " + byAddress,
			"An authorization (a rule sourced from the gateway's group) cannot work with the gateway's enterprise group " + f.gwGroup + ", whatever the backend's type; a gateway created with the basic type could use group authorizations.",
		}
	} else {
		steps = []string{
			"Select the same security-group type for the gateway and the backend (MSE FAQ): put the backend's ENI or instance in a " + f.gwType + " group and authorize that group for the gateway.",
			"Or, keeping the " + gtype + " group, " + byAddress,
		}
	}
	cmds := []command{f.cmdECSAuthorizeCidrs(group, ports, desc)}
	for _, id := range authIDs {
		steps = append(steps, f.stepMSEDelete(id, group, ports, true)+" The authorization cannot take effect; remove it once the CIDR rule (or the group change) is in place.")
		cmds = append(cmds, f.cmdMSEDelete(id, true))
	}
	return f.remedy(steps, cmds...)
}

func orPlaceholder(xs []string, ph string) []string {
	if len(xs) == 0 {
		return []string{ph}
	}
	return slices.Clone(xs)
}

var _ = explains(Article{
	Code: diagnose.CodeGroupTypeMismatch,
	Symptom: `The gateway cannot reach a backend (HTTP 503 "upstream connect error or disconnect/reset
before headers") although its security group is authorized in the MSE console and the inbound
rule is visible in the ECS console.`,
	Cause: `The gateway's managed security group and the backend's group are of different types
(basic vs enterprise/advanced). The authorization adds an inbound rule whose source is the
gateway's group, but enterprise groups cannot reference other groups and cannot be
referenced, so the rule never matches. MSE recommends selecting the same security-group type
for the gateway as for the backend when the gateway is created.`,
	Detection: `For an endpoint the groups deny, a group on its ENI is of the other type than the gateway's
managed group (read from ECS DescribeSecurityGroups). Also for an authorization naming a group
of the other type, even when no endpoint is affected yet.`,
	Fix: `Move the backend into a group of the gateway's type and authorize that group, or keep the
group and allow the gateway by CIDR (works across types):

  aliyun ecs AuthorizeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-legacy \
    --IpProtocol tcp --PortRange 8080/8080 --SourceCidrIp 192.168.0.0/24 --Policy accept \
    --Priority 1 --Description "MSE gateway by CIDR"

then delete the useless authorization:

  aliyun mse DeleteSecurityGroupRule --GatewayUniqueId gw-… --Id 1002 --CascadingDelete true`,
	Related: []string{diagnose.CodeInvalidRule, diagnose.CodeVPCMismatch},
})
