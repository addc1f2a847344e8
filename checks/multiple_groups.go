package checks

import (
	"fmt"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// MultipleGroups reports nodes whose ENIs carry different groups when the
// gateway is authorized for only some of them.
var MultipleGroups = &diagnose.Check{
	Name: "multiple-security-groups",
	Doc: `Reports endpoints whose node carries the authorized group, but not on the ENI that holds the endpoint.

Error: the security groups deny an endpoint whose ENI has no grant for the gateway, while
another ENI of the same node carries a group that the gateway is authorized for — the Terway
case where pod IPs sit on secondary ENIs with their own groups (eni-config), so authorizing
the node's group does not cover the pods. Rules apply per ENI.
Warning: an endpoint on a secondary (pod) ENI is reachable, but another secondary ENI of the
same node does not let the gateway in on that port: it works only through one ENI's groups,
and a pod placed on the other ENI will be blocked.`,
	Codes:    []string{diagnose.CodeMultipleGroups},
	Requires: causeInputs,
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, cs := range f.causeGroups(diagnose.CodeMultipleGroups) {
			p.Report(f.multipleGroupsError(cs))
		}
		f.multipleGroupsWarnings(p)
		return nil
	},
}

func (f *facts) multipleGroupsError(cs []*cause) diagnose.Finding {
	c := cs[0]
	ep := c.ep
	port := ep.Endpoint.Port
	ports := portRangeOf(port)
	podGroup := f.firstGroup(ep.GroupIDs)
	specific := []string{fmt.Sprintf("the endpoint's ENI %s (%s) carries %s, with no grant for the gateway", ep.ENI.ID, eniKind(ep.ENI), f.groupsDesc(ep.GroupIDs))}
	for _, e := range ep.Node.ENIs {
		if e.ID == ep.ENI.ID {
			continue
		}
		specific = append(specific, fmt.Sprintf("%s's ENI %s (%s) carries %s", backendNoun(ep), e.ID, eniKind(&e), f.groupsDesc(e.SecurityGroupIDs)))
	}
	var authIDs []string
	for _, gr := range f.distinctGrants(c.grants) {
		specific = append(specific, "the gateway is let into "+gr.group+" by "+gr.label()+" — on another ENI, so it does not apply to "+ep.Endpoint.IP)
		if gr.auth != nil {
			authIDs = appendOnce(authIDs, gr.auth.ID)
		}
	}
	specific = append(specific, "security-group rules apply per ENI: traffic to "+ep.Endpoint.IP+" is filtered by "+ep.ENI.ID+"'s groups only")
	msg := fmt.Sprintf("%s %s blocked on %s %d: %s has the authorized group %s on another ENI, but the endpoint's ENI %s carries only %s",
		who(cs), isAre(cs), protocol(ep), ep.Endpoint.Port, backendNoun(ep), strings.Join(c.groups, ","), ep.ENI.ID, strings.Join(ep.GroupIDs, ","))
	fd := f.endpointFinding(cs, diagnose.CodeMultipleGroups, diagnose.Sev(diagnose.Error), msg, specific, append([]string{ep.ENI.ID}, append(ep.GroupIDs, c.groups...)...)...)
	fd.Chain = f.chain(ep, strings.Join(authIDs, ","), "authorizes "+strings.Join(c.groups, ","), "", "", diagnose.LinkENI,
		ep.ENI.ID+" lacks "+strings.Join(c.groups, ","))
	newSet := append(append([]string{}, ep.GroupIDs...), c.groups[0])
	if ep.Kind == snapshot.BackendECS {
		// An ECS instance with several ENIs: no pods, no Terway.
		steps, cmds := f.grantAccess(podGroup, ports, ep.ServiceKey, podGroup+" is the group of ENI "+ep.ENI.ID+", which holds "+ep.Endpoint.IP)
		fd.Remediation = f.remedy(append(steps,
			"Or, instead, add "+c.groups[0]+" to the ENI: ECS console → Network & Security → Elastic Network Interfaces → "+ep.ENI.ID+" → Modify → Security Groups (the ModifyNetworkInterfaceAttribute command below).",
		), append(cmds, f.cmdENIGroups(ep.ENI.ID, newSet))...)
		return fd
	}
	steps, cmds := f.grantAccess(podGroup, ports, ep.ServiceKey, podGroup+" is the group of the pod ENI "+ep.ENI.ID+"; authorizing it covers every pod ENI in that group")
	fd.Remediation = f.remedy(append(steps,
		"Or, instead, add "+c.groups[0]+" to the ENI: ECS console → Network & Security → Elastic Network Interfaces → "+ep.ENI.ID+" → Modify → Security Groups (an ENI's groups must be of one type and in one VPC, at most 5 by default; the ModifyNetworkInterfaceAttribute command below).",
		"With Terway, make new pod ENIs get an authorized group: edit the kube-system/eni-config ConfigMap (security_group / security_groups), then restart the terway pods; existing ENIs keep their groups until changed as above.",
	), append(cmds, f.cmdENIGroups(ep.ENI.ID, newSet))...)
	return fd
}

// multipleGroupsWarnings finds reachable endpoints on a secondary ENI whose
// node has another secondary ENI that the gateway cannot reach on the same
// port. Evaluate is memoised per group set and port, so this is one map
// lookup per (endpoint, sibling ENI).
func (f *facts) multipleGroupsWarnings(p *diagnose.Pass) {
	type key struct {
		svc, node string
		port      int
	}
	type warn struct {
		eps      []*diagnose.Endpoint
		via      *snapshot.ENI
		siblings []*snapshot.ENI
	}
	index := map[key]*warn{}
	var order []key
	for _, ep := range f.v.Endpoints {
		if ep.Verdict != diagnose.VerdictReachable || ep.Decision.Verdict != secgroup.Allow || ep.ENI == nil || ep.ENI.Primary || ep.Node == nil || countSecondary(ep.Node) < 2 ||
			isServerless(ep) || ep.Node.KindOf() != snapshot.NodeKindECS {
			continue
		}
		var blocked []*snapshot.ENI
		for i := range ep.Node.ENIs {
			sib := &ep.Node.ENIs[i]
			if sib.Primary || sib.ID == ep.ENI.ID {
				continue
			}
			d := f.v.Eval.Evaluate(secgroup.Query{GroupIDs: sib.SecurityGroupIDs, Protocol: protocol(ep), Port: ep.Endpoint.Port})
			if d.Verdict == secgroup.Deny {
				blocked = append(blocked, sib)
			}
		}
		if len(blocked) == 0 {
			continue
		}
		k := key{ep.ServiceKey, ep.NodeLabel(), ep.Endpoint.Port}
		w := index[k]
		if w == nil {
			w = &warn{via: ep.ENI, siblings: blocked}
			index[k] = w
			order = append(order, k)
		}
		w.eps = append(w.eps, ep)
	}
	for _, k := range order {
		w := index[k]
		ep := w.eps[0]
		var sibIDs []string
		var ev []string
		ev = append(ev, fmt.Sprintf("the endpoint is reachable through ENI %s, whose groups %s let the gateway in on %s/%d", w.via.ID, f.groupsDesc(w.via.SecurityGroupIDs), protocol(ep), k.port))
		for _, s := range w.siblings {
			sibIDs = append(sibIDs, s.ID)
			ev = append(ev, fmt.Sprintf("node %s's pod ENI %s carries %s: the gateway is denied on %d there", k.node, s.ID, f.groupsDesc(s.SecurityGroupIDs), k.port))
		}
		ev = append(ev, "a pod of "+k.svc+" scheduled onto "+strings.Join(sibIDs, ", ")+" would be blocked (rules apply per ENI)")
		var labels []string
		for _, e := range w.eps {
			labels = append(labels, e.Label())
		}
		subj := append(append([]string{k.svc}, labels...), k.node, w.via.ID)
		subj = append(subj, sibIDs...)
		group := f.firstGroup(w.siblings[0].SecurityGroupIDs)
		ports := portRangeOf(k.port)
		p.Report(diagnose.Finding{
			Code:     diagnose.CodeMultipleGroups,
			Severity: diagnose.Sev(diagnose.Warning),
			Subjects: subj,
			Services: []string{k.svc},
			Message: fmt.Sprintf("%s works only through ENI %s's groups on node %s: its other pod ENI(s) %s do not let the gateway in on %s port %d",
				k.svc, w.via.ID, k.node, strings.Join(sibIDs, ", "), protocol(ep), k.port),
			Evidence: append(ev, f.gatewayLine()),
			Chain: []diagnose.Link{
				{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: "gateway " + f.gwID},
				{Kind: diagnose.LinkBackendGroup, ID: strings.Join(w.siblings[0].SecurityGroupIDs, ","), Broken: true, Detail: "no grant for port " + fmt.Sprint(k.port)},
				{Kind: diagnose.LinkENI, ID: w.siblings[0].ID, Detail: "secondary"},
				{Kind: diagnose.LinkNode, ID: k.node},
			},
			Remediation: f.remedyGrant(group, ports, k.svc, "the group of the other pod ENI "+w.siblings[0].ID,
				"Or give all pod ENIs the same groups (Terway: kube-system/eni-config security_groups)."),
		})
	}
}

func countSecondary(n *snapshot.Node) int {
	c := 0
	for _, e := range n.ENIs {
		if !e.Primary {
			c++
		}
	}
	return c
}

var _ = explains(Article{
	Code: diagnose.CodeMultipleGroups,
	Symptom: `The gateway's requests to some pods fail with HTTP 503 "upstream connect error or
disconnect/reset before headers" although the node's security group is authorized. Often only
on clusters using Terway, or only for some pods of a service.`,
	Cause: `Security-group rules apply per ENI. With Terway, pod IPs live on secondary ENIs that may
carry other security groups than the node's primary ENI (kube-system/eni-config, or a
PodNetworking with its own groups). Authorizing the node's group then does not cover the
pods. The MSE FAQ's advice for nodes in several groups
amounts to this: authorize the group that applies to the traffic — for pod ENIs, the ENI's group.`,
	Detection: `Error: the endpoint's ENI (found by the ENI that holds the pod IP) has no grant for the
gateway, while another ENI of the same node carries an authorized group.
Warning: the endpoint is reachable through its pod ENI, but another pod ENI of the same node
does not let the gateway in on that port — the next pod placed there breaks.`,
	Fix: `Authorize the pod ENI's group (covers every ENI in that group):

  aliyun mse AddSecurityGroupRule --GatewayUniqueId gw-… --SecurityGroupId sg-<pod ENI group> \
    --PortRange 8080/8080 --Description "MSE gateway to pods"

or add the authorized group to the ENI (the call sets the ENI's whole list):

  aliyun ecs ModifyNetworkInterfaceAttribute --RegionId cn-hangzhou --NetworkInterfaceId eni-… \
    --SecurityGroupId.1 sg-<pod group> --SecurityGroupId.2 sg-<authorized group>

and with Terway set the authorized group in kube-system/eni-config so new pod ENIs get it.`,
	Related: []string{diagnose.CodeWrongNode, diagnose.CodeMissingAuthorization, diagnose.CodePartialReachability},
})
