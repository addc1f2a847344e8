package checks

import (
	"fmt"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// GatewayEgress reports endpoints blocked by the gateway group's own egress.
var GatewayEgress = &diagnose.Check{
	Name: "gateway-egress-blocks",
	Doc: `Reports endpoints the gateway's own security group blocks on the way out.

The gateway group's egress rules are evaluated with its type's default: a basic (normal)
group allows outbound traffic no rule matches, an enterprise group denies it. Fires for an
endpoint the configuration denies when the egress side decides: an egress drop rule matches
first, or the gateway's group is enterprise and no egress rule allows the flow. Nothing on the
backend side (authorizations, inbound rules, ports) can fix that, so it comes before every
other cause. The gateway's group is managed by MSE: ECS refuses changes to it
(InvalidOperation.ResourceManagedByCloudProduct), so the fix goes through MSE.`,
	Codes:    []string{diagnose.CodeGatewayEgress},
	Requires: causeInputs,
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, cs := range f.causeGroups(diagnose.CodeGatewayEgress) {
			p.Report(f.gatewayEgressFinding(cs))
		}
		return nil
	},
}

func (f *facts) gatewayEgressFinding(cs []*cause) diagnose.Finding {
	c := cs[0]
	ep := c.ep
	proto, port := protocol(ep), ep.Endpoint.Port
	gwDesc := f.groupDesc(f.gwGroup)
	var specific []string
	var what, broken string
	if d := c.deciding; d != nil {
		what = "egress rule " + ruleName(*d) + " drops it"
		specific = append(specific, fmt.Sprintf("the gateway's group %s decides on the way out: egress rule %s matches the %s flow to port %d first", gwDesc, f.ruleText(*d), proto, port))
		broken = "egress drop " + ruleName(*d)
	} else {
		what = "no egress rule allows it and enterprise groups deny outbound traffic by default"
		specific = append(specific, fmt.Sprintf("the gateway's group %s is an enterprise group: outbound traffic no egress rule allows is denied, and none of its %s allows %s to port %d", gwDesc, words.Count(len(f.v.Eval.EgressRules()), "egress rule", "egress rules"), proto, port))
		broken = "enterprise egress default deny"
	}
	specific = append(specific, "the backend's inbound side does not matter here: the traffic never leaves the gateway's group")
	msg := fmt.Sprintf("%s %s blocked on %s %d by the gateway's own group %s: %s", who(cs), isAre(cs), proto, port, f.gwGroup, what)
	subjectsExtra := []string{f.gwGroup}
	if c.deciding != nil {
		subjectsExtra = append(subjectsExtra, ruleName(*c.deciding))
	}
	fd := f.endpointFinding(cs, diagnose.CodeGatewayEgress, nil, msg, specific, subjectsExtra...)
	fd.Chain = []diagnose.Link{
		{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Broken: true, Detail: broken},
		{Kind: diagnose.LinkEndpoint, ID: ep.Target()},
	}
	fd.Remediation = f.egressFix(cs)
	return fd
}

// egressFix allows the flow out of the gateway's group. The group is managed
// by MSE (alibaba-semantics.md: managed groups can be read, not modified),
// so the command that would add the egress rule is printed only for a group
// the data does not mark service-managed; for a managed one the steps say so
// and the command reads the current egress rules to attach to the ticket.
func (f *facts) egressFix(cs []*cause) diagnose.Remediation {
	ep := cs[0].ep
	proto, port := protocol(ep), ep.Endpoint.Port
	managed := true
	if g := f.v.Groups[f.gwGroup]; g != nil {
		managed = g.ServiceManaged
	}
	var dests []string
	for i, c := range cs {
		if i == maxListed {
			break
		}
		dests = append(dests, c.ep.Endpoint.IP)
	}
	add := f.cmdECSAuthorizeEgress(f.gwGroup, proto, portRangeOf(port), dests, why(ep.ServiceKey))
	read := f.cmdECSDescribeRules(f.gwGroup, snapshot.DirectionEgress)
	var steps []string
	var cmds []command
	if managed {
		steps = append(steps,
			fmt.Sprintf("The gateway's group %s is managed by MSE: ECS refuses changes to it (InvalidOperation.ResourceManagedByCloudProduct), so you cannot add or remove its egress rules yourself.", f.gwGroup),
			fmt.Sprintf("Open a ticket with MSE support for gateway %s: ask for an egress rule in %s allowing %s port %d to %s (attach its current egress rules: the DescribeSecurityGroupAttribute command below).", f.gwID, f.gwGroup, proto, port, strings.Join(dests, ", ")),
			"If the gateway was created with an enterprise security-group type on purpose, ask MSE whether its managed group's egress can be opened; otherwise a gateway of the basic type (which allows outbound traffic by default) avoids this.",
		)
		cmds = append(cmds, read)
	} else {
		steps = append(steps,
			fmt.Sprintf("ECS console → Network & Security → Security Groups → %s → Manage Rules → Outbound → Add Rule: action Allow, protocol %s, port %d, destination %s, priority 1 (the AuthorizeSecurityGroupEgress command below).", f.gwGroup, proto, port, strings.Join(dests, ", ")),
		)
		cmds = append(cmds, add)
	}
	if d := cs[0].deciding; d != nil && d.RuleID != "" {
		steps = append(steps, fmt.Sprintf("An accept of priority 1 still loses to the drop %s if it also has priority 1 (drop wins ties): the drop's priority or scope must change too.", ruleName(*d)))
	}
	return f.remedy(steps, cmds...)
}

var _ = explains(Article{
	Code: diagnose.CodeGatewayEgress,
	Symptom: `The gateway cannot reach a backend (HTTP 503 "upstream connect error or disconnect/reset
before headers") although the backend's group is authorized for the right port.`,
	Cause: `The traffic is stopped on its way out of the gateway, by the gateway's own security group:
an egress drop rule matches first, or the gateway's group is an enterprise group, which denies
outbound traffic that no egress rule allows (groups created by API come without the allow-all
egress rule the console adds).`,
	Detection: `The configuration denies the endpoint and the gateway group's egress side decides: its
egress rules with its type's default (basic: allow; enterprise: deny). Inbound rules on the
backend are not the cause; gwdoctor does not report port-changed or missing-authorization for it.`,
	Fix: `The gateway's group is managed by MSE and ECS refuses changes to it
(InvalidOperation.ResourceManagedByCloudProduct): read its egress rules and open a ticket with
MSE support asking for an egress rule to the backends' addresses and port:

  aliyun ecs DescribeSecurityGroupAttribute --RegionId cn-hangzhou --SecurityGroupId sg-gw --Direction egress

For a group that is not service-managed, add the egress rule yourself:

  aliyun ecs AuthorizeSecurityGroupEgress --RegionId cn-hangzhou --SecurityGroupId sg-gw \
    --Permissions.1.Policy accept --Permissions.1.Priority 1 --Permissions.1.IpProtocol TCP \
    --Permissions.1.PortRange 8080/8080 --Permissions.1.DestCidrIp 10.0.1.11/32`,
	Related: []string{diagnose.CodeDenyRuleShadows, diagnose.CodeGroupTypeMismatch},
})
