package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// InvalidRule reports rules that cannot take effect as written.
var InvalidRule = &diagnose.Check{
	Name: "invalid-rule",
	Doc: `Reports security-group rules that cannot take effect as written.

A source-group (or destination-group) reference inside an enterprise group, or to an
enterprise group: enterprise groups can neither reference nor be referenced, so the rule
never matches. The gateway's own authorization rule in an enterprise group is reported as
security-group-type-mismatch instead. And rules using a port list or a prefix list that the
data does not expand: the evaluator cannot tell what they match, so verdicts they could decide
become unknown. One finding per group and kind.`,
	Codes:    []string{diagnose.CodeInvalidRule},
	Requires: []diagnose.Input{diagnose.InputSecurityGroups},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for gi := range p.View.Snapshot.SecurityGroups {
			g := &p.View.Snapshot.SecurityGroups[gi]
			if readable, _ := p.View.Eval.GroupReadable(g.ID); !readable {
				continue
			}
			var refs, lists []string
			var refIDs, listIDs []string
			var firstRef *snapshot.Rule
			for i := range g.Rules {
				r := &g.Rules[i]
				name := ruleName(refOf(g, i))
				if why := f.enterpriseReference(g, r); why != "" {
					refs = append(refs, name+" ("+ruleBody(r)+"): "+why)
					refIDs = append(refIDs, name)
					if firstRef == nil {
						firstRef = r
					}
				}
				var missing []string
				if r.PortRangeListID != "" {
					missing = append(missing, "port list "+r.PortRangeListID)
				}
				if r.SourcePrefixListID != "" {
					missing = append(missing, "prefix list "+r.SourcePrefixListID)
				}
				if len(missing) > 0 {
					lists = append(lists, name+" ("+ruleBody(r)+"): "+strings.Join(missing, " and ")+" not expanded in the data")
					listIDs = append(listIDs, name)
				}
			}
			if len(refs) > 0 {
				p.Report(diagnose.Finding{
					Code:     diagnose.CodeInvalidRule,
					Subjects: append([]string{g.ID}, refIDs...),
					Message:  fmt.Sprintf("%d rule(s) of %s reference security groups across an enterprise group and can never match", len(refs), g.ID),
					Evidence: append([]string{"group " + f.groupDesc(g.ID) + "; enterprise groups can neither reference other groups nor be referenced"}, capList(refs)...),
					Chain:    []diagnose.Link{{Kind: diagnose.LinkBackendGroup, ID: g.ID}, {Kind: diagnose.LinkRule, ID: refIDs[0], Broken: true, Detail: "group reference across an enterprise group"}},
					Remediation: f.remedy([]string{
						f.stepECSRule(g.ID) + ": replace each group reference by the CIDR of the peers it was meant for (source CIDR), or move the groups to the basic (normal) type.",
					}, f.cmdECSRevoke(g.ID, firstRef.ID, firstRef.Direction)),
				})
			}
			if len(lists) > 0 {
				p.Report(diagnose.Finding{
					Code:     diagnose.CodeInvalidRule,
					Subjects: append([]string{g.ID}, listIDs...),
					Message:  fmt.Sprintf("%d rule(s) of %s use port or prefix lists the data does not expand: verdicts they could decide are unknown", len(lists), g.ID),
					Evidence: append([]string{"group " + f.groupDesc(g.ID)}, capList(lists)...),
					Chain:    []diagnose.Link{{Kind: diagnose.LinkBackendGroup, ID: g.ID}, {Kind: diagnose.LinkRule, ID: listIDs[0], Broken: true, Detail: "list not expanded"}},
					Remediation: f.remedy([]string{
						"Collect the lists' entries (live collection with ecs:DescribePrefixListAttributes / the port-range-list permission), or write the expanded ranges into the snapshot's rules, and diagnose again.",
					}, f.prefixListCommands(g)...),
				})
			}
		}
		return nil
	},
}

func refOf(g *snapshot.SecurityGroup, i int) secgroup.RuleRef {
	return secgroup.RuleRef{GroupID: g.ID, Index: i, RuleID: g.Rules[i].ID, Rule: &g.Rules[i]}
}

// prefixListCommands read the prefix lists g's rules use (the first few).
func (f *facts) prefixListCommands(g *snapshot.SecurityGroup) []command {
	var ids []string
	for i := range g.Rules {
		if id := g.Rules[i].SourcePrefixListID; id != "" && !slices.Contains(ids, id) && len(ids) < maxListed {
			ids = append(ids, id)
		}
	}
	cmds := make([]command, len(ids))
	for i, id := range ids {
		cmds[i] = f.cmdPrefixList(id)
	}
	return cmds
}

// enterpriseReference says why a rule's group reference cannot work, or "".
// The gateway's group referenced by an authorized enterprise group is
// GWD106's, not this check's.
func (f *facts) enterpriseReference(g *snapshot.SecurityGroup, r *snapshot.Rule) string {
	peer := r.SourceGroupID
	if strings.EqualFold(r.Direction, snapshot.DirectionEgress) {
		peer = r.DestGroupID
	} else if r.SourceCidr != "" {
		return "" // the CIDR wins over the group
	}
	if peer == "" {
		return ""
	}
	if peer == f.gwGroup && len(f.authsByGroup[g.ID]) > 0 {
		return ""
	}
	if groupType(g) == snapshot.GroupTypeEnterprise {
		return "enterprise group " + g.ID + " cannot reference group " + peer
	}
	if pg := f.v.Groups[peer]; pg != nil && groupType(pg) == snapshot.GroupTypeEnterprise {
		return "enterprise group " + peer + " cannot be referenced"
	}
	return ""
}

var _ = explains(Article{
	Code: diagnose.CodeInvalidRule,
	Symptom: `A rule is visible in the ECS console but has no effect, or gwdoctor reports endpoints as
unknown because of a rule.`,
	Cause: `Enterprise (advanced) security groups can neither reference other groups nor be referenced:
a source- or destination-group rule across an enterprise group never matches. Rules that use
a port list or prefix list can only be evaluated when the list's entries are known.`,
	Detection: `Every rule is read: group references where either side is an enterprise group (except the
gateway's own authorization rule, GWD106), and port or prefix lists without entries in the data.`,
	Fix: `Replace group references by source CIDRs, or use basic groups on both sides. For lists, collect
their entries (aliyun ecs DescribePrefixListAttributes) or expand them in the snapshot.`,
	Related: []string{diagnose.CodeGroupTypeMismatch, diagnose.CodeVerdictUnknown},
})
