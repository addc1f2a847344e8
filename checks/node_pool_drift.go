package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// NodePoolDrift reports node pools whose configuration lacks the authorized
// group that their current nodes carry.
var NodePoolDrift = &diagnose.Check{
	Name: "node-pool-drift",
	Doc: `Reports node pools whose configured groups lack the authorized group their nodes carry.

The pool's current nodes are in a group the gateway is authorized for (someone added it to
the instances by hand), but the pool's configuration (scaling group security_group_ids) does
not list it: nodes the pool adds — scale-out, node replacement, auto repair — get only the
configured groups, and pods scheduled there will be unreachable. Nothing is broken yet, so it
is a warning.`,
	Codes:    []string{diagnose.CodeNodePoolDrift},
	Requires: []diagnose.Input{diagnose.InputNodePools, diagnose.InputNodes, diagnose.InputAuthorizations},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		nodesByPool := map[string][]*snapshot.Node{}
		for i := range p.View.Snapshot.Nodes {
			n := &p.View.Snapshot.Nodes[i]
			if n.NodePool != "" {
				nodesByPool[n.NodePool] = append(nodesByPool[n.NodePool], n)
			}
		}
		for _, pool := range p.View.Snapshot.NodePools {
			nodes := nodesByPool[pool.ID]
			if len(nodes) == 0 || f.anyGranted(pool.SecurityGroupIDs) {
				continue
			}
			var drifted []string
			carriers := map[string][]*snapshot.Node{}
			for _, n := range nodes {
				for _, g := range diagnose.NodeGroupIDs(n) {
					if !slices.Contains(pool.SecurityGroupIDs, g) && len(f.grantsByGroup[g]) > 0 {
						if carriers[g] == nil {
							drifted = append(drifted, g)
						}
						carriers[g] = append(carriers[g], n)
					}
				}
			}
			if len(drifted) == 0 {
				continue
			}
			name := pool.ID
			if pool.Name != "" {
				name += " (" + pool.Name + ")"
			}
			ev := []string{fmt.Sprintf("node pool %s is configured with %s: none lets the gateway in", name, f.groupsDesc(pool.SecurityGroupIDs))}
			for _, g := range drifted {
				var grants []string
				for _, gr := range f.distinctGrants(f.grantsByGroup[g]) {
					grants = append(grants, gr.label())
				}
				ev = append(ev, fmt.Sprintf("%d of its %d nodes carry %s, which the gateway is let into by %s: %s", len(carriers[g]), len(nodes), g, strings.Join(grants, "; "), nodeList(carriers[g])))
			}
			ev = append(ev, "nodes the pool adds (scale-out, replacement, auto repair) get only the configured groups: pods placed on them will be blocked")
			want := append(slices.Clone(pool.SecurityGroupIDs), drifted...)
			p.Report(diagnose.Finding{
				Code:     diagnose.CodeNodePoolDrift,
				Subjects: append([]string{pool.ID}, drifted...),
				Message:  fmt.Sprintf("node pool %s is configured without %s that its nodes carry: nodes it adds will be unreachable from the gateway", name, strings.Join(drifted, ",")),
				Evidence: ev,
				Chain: []diagnose.Link{
					{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: "gateway " + f.gwID},
					{Kind: diagnose.LinkBackendGroup, ID: strings.Join(drifted, ","), Detail: "authorized; on the pool's nodes"},
					{Kind: "node-pool", ID: pool.ID, Broken: true, Detail: "configured with " + strings.Join(pool.SecurityGroupIDs, ",")},
				},
				Remediation: f.poolDriftFix(&pool, name, drifted, want),
			})
		}
		return nil
	},
}

func (f *facts) anyGranted(groups []string) bool {
	for _, g := range groups {
		if len(f.grantsByGroup[g]) > 0 {
			return true
		}
	}
	return false
}

var _ = explains(Article{
	Code: diagnose.CodeNodePoolDrift,
	Symptom: `Everything works today. After a scale-out, a node replacement or an auto-repair, pods on the
new nodes are unreachable from the gateway (HTTP 503 "upstream connect error or
disconnect/reset before headers") while the old ones work.`,
	Cause: `The authorized group was added to the pool's existing instances by hand, not to the node
pool's configuration. New nodes get only the pool's configured groups.`,
	Detection: `A node pool's configured groups (scaling_group.security_group_ids) have no grant for the
gateway, while some of the pool's current nodes carry a group that has one.`,
	Fix: `Add the group to the node pool — ACK console → Clusters → cluster → Nodes → Node Pools →
pool → Edit → Security Group — or through the API (ModifyClusterNodePool):

  aliyun cs PUT /clusters/c-1234/nodepools/np-1234 --region cn-hangzhou --header 'Content-Type=application/json' \
    --body '{"scaling_group":{"security_group_ids":["sg-pool","sg-authorized"]}}'

or authorize the pool's configured group for the gateway.`,
	Related: []string{diagnose.CodeWrongNode, diagnose.CodePartialReachability},
})

// poolDriftFix adds the granted groups to the pool, or, instead, grants the
// gateway the pool's configured group — by authorization, or by CIDR rule
// when an enterprise group is involved (grantAccess).
func (f *facts) poolDriftFix(pool *snapshot.NodePool, name string, drifted, want []string) diagnose.Remediation {
	group := f.firstGroup(pool.SecurityGroupIDs)
	grantSteps, grantCmds := f.grantAccess(group, f.grantsByGroup[drifted[0]][0].portText(), "node pool "+pool.ID, "so any node of the pool is covered")
	steps := append([]string{
		"ACK console → Clusters → your cluster → Nodes → Node Pools → " + name + " → Edit → Security Group: add " + strings.Join(drifted, ", ") + " (new nodes get it; the pool's groups must be of one type; the ModifyClusterNodePool command below).",
		"Or, instead: " + grantSteps[0],
	}, grantSteps[1:]...)
	return f.remedy(steps, append([]command{f.cmdNodePoolGroups(pool.ID, want)}, grantCmds...)...)
}
