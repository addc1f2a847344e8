package checks

import (
	"fmt"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/words"
)

// DenyRuleShadows reports endpoints where a drop rule overrides the
// gateway's accept.
var DenyRuleShadows = &diagnose.Check{
	Name: "deny-rule-shadows",
	Doc: `Reports endpoints where a drop rule overrides the accept that lets the gateway in.

Fires for an endpoint the security groups deny by a drop rule while an accept rule whose
source is the gateway matches the same flow: the drop has a higher priority (smaller number)
or the same priority (at equal priority drop wins), in any group on the ENI — rules of all the
ENI's groups are merged. (A drop in the gateway group's own egress rules is GWD112.)
This comes first in the precedence: the authorization is present and would work; the drop is
what must change. One finding per service and deciding rule.`,
	Codes:    []string{diagnose.CodeDenyRuleShadows},
	Requires: causeInputs,
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, cs := range f.causeGroups(diagnose.CodeDenyRuleShadows) {
			c := cs[0]
			ep := c.ep
			d := *c.deciding
			prio := d.Rule.Priority
			if prio <= 0 {
				prio = 1
			}
			var specific []string
			var accepts []string
			minAccept := 100
			{
				specific = append(specific, "drop rule "+f.ruleText(d)+" decides")
				for i, gr := range c.shadowed {
					minAccept = min(minAccept, gr.rule.Priority)
					if i >= 3 {
						continue
					}
					accepts = append(accepts, ruleName(gr.rule.Ref))
					rel := "a higher priority"
					if gr.rule.Priority == prio {
						rel = "the same priority (drop wins ties)"
					}
					specific = append(specific, fmt.Sprintf("it overrides the accept %s, which matches the gateway's %s flow: the drop has %s", f.ruleText(gr.rule.Ref), protocol(ep), rel))
				}
				if n := len(c.shadowed) - 3; n > 0 {
					specific = append(specific, fmt.Sprintf("… and %s matching the gateway's flow that it overrides", words.Count(n, "more accept", "more accepts")))
				}
			}
			msg := fmt.Sprintf("%s %s blocked on %s %d: drop rule %s (priority %d) overrides the accept %s",
				who(cs), isAre(cs), protocol(ep), ep.Endpoint.Port, ruleName(d), prio, strings.Join(capN(accepts, 3), ","))
			fd := f.endpointFinding(cs, diagnose.CodeDenyRuleShadows, nil, msg, specific, append([]string{d.GroupID, ruleName(d)}, accepts...)...)
			fd.Chain = f.chain(ep, f.authIDsFor(d.GroupID), "", ruleName(d), "drop, priority "+fmt.Sprint(prio), diagnose.LinkRule, "")
			steps := []string{
				fmt.Sprintf("%s → rule %s: if the drop is meant for other sources, narrow its source (e.g. exclude the gateway's vSwitch) or lower its priority below the accept (a larger number than %d), or delete it.", f.stepECSRule(d.GroupID), orNone(d.RuleID), minAccept),
			}
			var cmds []command
			if d.RuleID == "" {
				cmds = append(cmds, f.cmdECSDescribeRules(d.GroupID, d.Rule.Direction))
			}
			if minAccept < 100 {
				cmds = append(cmds, f.cmdECSModifyPriority(d.GroupID, d.RuleID, d.Rule.Direction, minAccept+1))
				steps = append(steps, fmt.Sprintf("Lowering the drop to priority %d lets the accept (priority %d) decide for the gateway while the drop still applies to everything else (the ModifySecurityGroupRule command below).", minAccept+1, minAccept))
				steps = append(steps, "Or, if the drop is no longer wanted, delete it (the RevokeSecurityGroup command below).")
			}
			cmds = append(cmds, f.cmdECSRevoke(d.GroupID, d.RuleID, d.Rule.Direction))
			fd.Remediation = f.remedy(steps, cmds...)
			p.Report(fd)
		}
		return nil
	},
}

// authIDsFor lists the authorizations of a group, comma-separated.
func (f *facts) authIDsFor(group string) string {
	var ids []string
	for _, a := range f.authsByGroup[group] {
		ids = append(ids, orNone(a.ID))
	}
	return strings.Join(capN(ids, 3), ",")
}

var _ = explains(Article{
	Code: diagnose.CodeDenyRuleShadows,
	Symptom: `The gateway's requests fail with HTTP 503 "upstream connect error or disconnect/reset before
headers" although the authorization and its inbound rule are there.`,
	Cause: `A drop rule matches the same traffic with a higher priority (smaller number) or the same
priority — at equal priority drop wins. The rules of all groups on an ENI are merged and
sorted by priority, so a drop in any of them (often a broad "block port X from 0.0.0.0/0"
added during an incident) overrides the gateway's accept.`,
	Detection: `The evaluator's deciding rule for the endpoint is a drop, and an accept whose source is the
gateway matches the flow too. gwdoctor shows both rules, their priorities and every rule it
considered in order.`,
	Fix: `ECS console → Network & Security → Security Groups → the group → Manage Rules → Inbound:
narrow the drop's source, lower its priority below the accept, or delete it.

  aliyun ecs ModifySecurityGroupRule --RegionId cn-hangzhou --SecurityGroupId sg-… \
    --SecurityGroupRuleId sgr-… --Priority 6
  aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-… \
    --SecurityGroupRuleId.1 sgr-…`,
	Related: []string{diagnose.CodeContradictory, diagnose.CodeMissingAuthorization},
})
