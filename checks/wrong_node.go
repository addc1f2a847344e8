package checks

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// WrongNode reports blocked endpoints whose node is not in any of the groups
// the gateway is authorized for.
var WrongNode = &diagnose.Check{
	Name: "wrong-node",
	Doc: `Reports endpoints on nodes that are not in the authorized security groups.

It fires for an endpoint the security groups deny when authorizations (or gateway-sourced
accept rules) covering its port exist, but for groups that the endpoint's node is not in:
they sit on other nodes, or on none. This is the FAQ's "the authorized group is not the
group of the node the pod runs on" — typically a pod rescheduled to another node pool. The
finding names the node running the pod, its groups, and the nodes that carry the authorized
groups. One finding per service and ENI group set.`,
	Codes:    []string{diagnose.CodeWrongNode},
	Requires: causeInputs,
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		memo := map[string]string{}
		distinct := map[*grant][]grant{} // endpoints of one port share c.grants
		for _, cs := range f.causeGroups(diagnose.CodeWrongNode) {
			c := cs[0]
			ep := c.ep
			port := ep.Endpoint.Port
			group := f.firstGroup(ep.GroupIDs)
			ports := portRangeOf(port)
			var specific []string
			if ep.Kind == snapshot.BackendPod {
				specific = append(specific, fmt.Sprintf("the pod runs on node %s, whose groups are %s — none is authorized for %s/%d",
					nodeDesc(ep.Node), f.groupsDesc(diagnose.NodeGroupIDs(ep.Node)), protocol(ep), port))
			} else {
				specific = append(specific, fmt.Sprintf("%s is in %s — none is authorized for %s/%d",
					backendNoun(ep), f.groupsDesc(backendGroupIDs(ep)), protocol(ep), port))
			}
			var authIDs []string
			grants, ok := distinct[&c.grants[0]]
			if !ok {
				grants = f.distinctGrants(c.grants)
				distinct[&c.grants[0]] = grants
			}
			for i, gr := range grants {
				if i == maxListed {
					// The most relevant come first; the rest are counted, not copied.
					specific = append(specific, fmt.Sprintf("… and %s for other groups", words.Count(len(grants)-maxListed, "more grant", "more grants")))
					break
				}
				line := "the gateway is authorized by " + gr.label()
				nodes := f.v.NodesByGroup[gr.group]
				if len(nodes) == 0 {
					line += "; no node carries " + gr.group
				} else {
					line += "; " + carrierNoun(nodes) + " in " + gr.group + ": " + nodeList(nodes)
				}
				specific = append(specific, line)
				if gr.auth != nil {
					authIDs = appendOnce(authIDs, gr.auth.ID)
				}
			}
			where := carriersText(f.v, c.groups, memo)
			groupText := strings.Join(backendGroupIDs(ep), ",")
			if o := f.originShort(ep); o != "" {
				groupText += " (" + o + ")"
			}
			authorized := diagnose.BoundedList(c.groups, maxListed)
			msg := fmt.Sprintf("%s %s blocked on %s %d: %s is in %s, but the gateway is authorized for %s (on %s)",
				who(cs), isAre(cs), protocol(ep), ep.Endpoint.Port, backendNoun(ep), groupText, authorized, where)
			fd := f.endpointFinding(cs, diagnose.CodeWrongNode, nil, msg, specific, append([]string{group}, c.groups[:min(len(c.groups), maxListed)]...)...)
			authLink := diagnose.BoundedList(authIDs, maxListed)
			fd.Chain = f.chain(ep, authLink, "authorizes "+authorized, "", "", diagnose.LinkBackendGroup,
				backendNoun(ep)+" is not in "+authorized)
			switch {
			case isServerless(ep):
				grantSteps, grantCmds := f.grantAccess(group, ports, ep.ServiceKey, group+" is the group of "+backendNoun(ep))
				steps, cmds := f.serverlessSteps(ep, c.groups[0])
				fd.Remediation = f.remedy(append(grantSteps, steps...), append(grantCmds, cmds...)...)
				p.Report(fd)
				continue
			case ep.Kind == snapshot.BackendECS:
				grantSteps, grantCmds := f.grantAccess(group, ports, ep.ServiceKey, group+" is the group of "+backendNoun(ep))
				fd.Remediation = f.remedy(append(grantSteps, f.ecsInstanceStep(ep, c.groups[0])), append(grantCmds, f.cmdJoinGroup(ep, c.groups[0]))...)
				p.Report(fd)
				continue
			}
			steps, cmds := f.grantAccess(group, ports, ep.ServiceKey, group+" is the group of node "+ep.NodeLabel())
			fd.Remediation = f.remedy(append(steps,
				"Or run the pods only on nodes in the authorized group(s) "+authorized+" (node selector or affinity on their node pool), if that was the intent.",
				"Check the node pool of "+ep.NodeLabel()+": every node pool that may run these pods needs its group authorized.",
			), cmds...)
			p.Report(fd)
		}
		return nil
	},
}

// carriersText names the first nodes that carry any of groups and counts
// the rest: "nodes a, b, c, d, e and 245 more", or "no node". The answer is
// memoised per group list (by a hash of it): wrong-node findings share a
// few lists, each of up to every authorized group.
func carriersText(v *diagnose.View, groups []string, memo map[string]string) string {
	if len(groups) == 0 {
		return "no node"
	}
	h := fnv.New64a()
	for _, g := range groups {
		h.Write([]byte(g))
		h.Write([]byte{0})
	}
	key := strconv.FormatUint(h.Sum64(), 16) + "/" + strconv.Itoa(len(groups))
	if s, ok := memo[key]; ok {
		return s
	}
	seen := map[*snapshot.Node]bool{}
	var first []*snapshot.Node
	for _, g := range groups {
		for _, n := range v.NodesByGroup[g] {
			if !seen[n] {
				seen[n] = true
				if len(first) < maxListed {
					first = append(first, n)
				}
			}
		}
	}
	s := "no node"
	if len(first) > 0 {
		names := make([]string, len(first))
		for i, n := range first {
			names[i] = diagnose.NodeName(n)
		}
		s = carrierNoun(first) + " " + strings.Join(names, ", ")
		if more := len(seen) - len(first); more > 0 {
			s += fmt.Sprintf(" and %d more", more)
		}
	}
	memo[key] = s
	return s
}

func appendOnce(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// capList keeps the first maxListed names and says how many more.
func capList(xs []string) []string {
	if len(xs) <= maxListed {
		return xs
	}
	return append(append([]string{}, xs[:maxListed]...), fmt.Sprintf("… and %d more", len(xs)-maxListed))
}

var _ = explains(Article{
	Code: diagnose.CodeWrongNode,
	Symptom: `Some or all requests to a service fail with HTTP 503 "upstream connect error or
disconnect/reset before headers" although a security-group authorization exists for the
gateway. Often it worked before: the pods were rescheduled, or the service moved to another
node pool.`,
	Cause: `The authorization was added for the security group of one set of nodes, but the pods now
run on a node that is not in that group (another node pool, another group). The MSE FAQ's first
case: the group authorized is not the group of the node the backend runs on — authorize
the security group that the node running the pod belongs to.`,
	Detection: `For each endpoint the configuration denies, gwdoctor finds its node and the node's groups.
Authorizations (or gateway-sourced accept rules) covering the endpoint's port exist, but all
for groups that none of the node's ENIs carry. The finding names the node running the pod,
its groups, the authorized groups and the nodes that carry them.`,
	Fix: `Authorize the node's group — MSE console → Cloud-native Gateway → Gateways → your gateway →
Security Group Authorization → Add Security Group Authorization: select the group of the node
that runs the pod, port range = the pod's port.

  aliyun mse AddSecurityGroupRule --GatewayUniqueId gw-… --SecurityGroupId sg-<node group> \
    --PortRange 8080/8080 --Description "MSE gateway to shop/orders"

Or pin the pods to the node pool whose group is authorized (nodeSelector/affinity). Every
node pool that may run the pods needs its group authorized.

ECI and ACS pods (virtual nodes, ACK Serverless, ACS) have their own ENI and group, set when
the pod is created — by the annotation k8s.aliyun.com/eci-security-group (ACS:
network.alibabacloud.com/security-group-ids), else the default (kube-system/eci-profile
securityGroupId, else the cluster's security group). The finding says which. Authorize that
group, or recreate the pods with an authorized group in the pod template's annotation (a
running pod's group cannot change), or change the default for new pods. No node pool or affinity
applies to them. Plain ECS instances: ECS console → Instances → the instance → Security
Groups → Add to Security Group (JoinSecurityGroup).`,
	Related: []string{diagnose.CodeMissingAuthorization, diagnose.CodeMultipleGroups, diagnose.CodeNodePoolDrift, diagnose.CodePartialReachability},
})
