package checks

import (
	"fmt"
	"slices"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// StaleAuthorization reports authorizations for groups that are gone or
// on no node.
var StaleAuthorization = &diagnose.Check{
	Name: "stale-authorization",
	Doc: `Reports authorizations naming a group that no longer exists or is on no node.

A group that is not in the data (and not recorded as uncollected under missing:) was deleted;
a group no ENI carries protects nothing — typically the node pool was deleted or moved to
another group, and the authorization should follow. Groups a node pool is still configured
with are not stale (the pool may be scaled to zero).`,
	Codes:    []string{diagnose.CodeStaleAuthorization},
	Requires: []diagnose.Input{diagnose.InputAuthorizations, diagnose.InputSecurityGroups, diagnose.InputNodes},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, a := range p.View.Snapshot.Gateway.Authorizations {
			g := a.SecurityGroupID
			var why string
			switch {
			case p.View.Groups[g] == nil:
				if missing, _ := p.View.Missing("securityGroups", g); missing {
					continue // not collected: unknown, not stale
				}
				why = "group " + g + " does not exist (it is not among the account's security groups)"
			case len(p.View.NodesByGroup[g]) == 0:
				if slices.ContainsFunc(p.View.Snapshot.NodePools, func(np snapshot.NodePool) bool { return slices.Contains(np.SecurityGroupIDs, g) }) {
					continue
				}
				why = "no ENI of any node carries group " + g + ", and no node pool is configured with it"
			default:
				continue
			}
			p.Report(diagnose.Finding{
				Code:     diagnose.CodeStaleAuthorization,
				Subjects: []string{g, orNone(a.ID)},
				Message:  fmt.Sprintf("authorization %s (%s %s) is stale: %s", orNone(a.ID), g, a.PortRange, why),
				Evidence: []string{
					f.gatewayLine(),
					fmt.Sprintf("authorization %s: %s %s", orNone(a.ID), g, a.PortRange),
					why,
				},
				Chain: []diagnose.Link{
					{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: "gateway " + f.gwID},
					{Kind: diagnose.LinkAuthorization, ID: orNone(a.ID)},
					{Kind: diagnose.LinkBackendGroup, ID: g, Broken: true, Detail: "stale"},
				},
				Remediation: f.remedy([]string{
					"If the backends moved, authorize the group they are in now (see the other findings), then " + f.stepMSEDelete(a.ID, g, a.PortRange, p.View.Groups[g] != nil),
				}, f.cmdMSEDelete(a.ID, p.View.Groups[g] != nil)),
			})
		}
		return nil
	},
}

var _ = explains(Article{
	Code: diagnose.CodeStaleAuthorization,
	Symptom: `The Security Group Authorization tab lists groups nobody recognises; sometimes the backends
that used them are unreachable since a node pool was replaced.`,
	Cause: `The group was deleted, or no instance uses it any more (its node pool was deleted or moved
to another group). The authorization no longer protects anything, and the backends it was
meant for are somewhere else.`,
	Detection: `An authorization names a group that is not in the account's groups (and was not merely
uncollected), or that no ENI carries and no node pool is configured with.`,
	Fix: `Authorize the group the backends use now, then delete the stale authorization:

  aliyun mse DeleteSecurityGroupRule --GatewayUniqueId gw-… --Id 1001 --CascadingDelete true`,
	Related: []string{diagnose.CodeWrongNode, diagnose.CodeAuthorizationSync},
})
