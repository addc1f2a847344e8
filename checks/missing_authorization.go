package checks

import (
	"fmt"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// causeInputs are the inputs of the root-cause checks: without
// authorizations, groups, nodes and endpoints no cause can be named.
var causeInputs = []diagnose.Input{diagnose.InputAuthorizations, diagnose.InputSecurityGroups, diagnose.InputNodes, diagnose.InputEndpoints}

// MissingAuthorization reports blocked endpoints that nothing lets the gateway reach.
var MissingAuthorization = &diagnose.Check{
	Name: "missing-authorization",
	Doc: `Reports endpoints the gateway cannot reach because nothing authorizes it.

It fires for an endpoint the security groups deny when no MSE authorization and no
gateway-sourced accept rule covers the endpoint's port on any group of the endpoint's node,
and no more specific cause applies (deny-rule-shadows, vpc-mismatch, security-group-type-
mismatch, authorization-out-of-sync, port-changed, multiple-security-groups, wrong-node).
One finding per service and ENI group set; the fix authorizes the group of the endpoint's ENI.`,
	Codes:    []string{diagnose.CodeMissingAuthorization},
	Requires: causeInputs,
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, cs := range f.causeGroups(diagnose.CodeMissingAuthorization) {
			ep := cs[0].ep
			port := ep.Endpoint.Port
			group := f.firstGroup(ep.GroupIDs)
			ports := portRangeOf(port)
			specific := []string{fmt.Sprintf("no authorization and no rule targeting the gateway (sourced from its group, or from a CIDR inside its addresses) covers %s/%d on any group of %s (%s)",
				protocol(ep), port, backendNoun(ep), f.groupsDesc(backendGroupIDs(ep)))}
			if n := len(f.v.Snapshot.Gateway.Authorizations); n == 0 {
				specific = append(specific, "the gateway has no security-group authorizations at all")
			} else {
				specific = append(specific, fmt.Sprintf("the gateway's %d authorization(s) cover other groups or ports, none %s/%d", n, protocol(ep), port))
			}
			groupText := group
			if o := f.originShort(ep); o != "" {
				groupText += " (" + o + ")"
			}
			fd := f.endpointFinding(cs, diagnose.CodeMissingAuthorization, nil,
				fmt.Sprintf("%s %s blocked: the gateway is not authorized for group %s on %s %d", who(cs), isAre(cs), groupText, protocol(ep), port),
				specific, group)
			fd.Chain = f.chain(ep, "", "", "", "", diagnose.LinkAuthorization, "no authorization for "+group+" "+ports)
			note := ""
			if isServerless(ep) {
				// The pod's group was set at its creation: name where it came from.
				note = group + " is the group of " + backendNoun(ep)
			}
			steps, cmds := f.grantAccess(group, ports, ep.ServiceKey, note)
			if len(steps) == 1 {
				steps = append(steps, "MSE creates the inbound rule in "+group+" (source: the gateway's group "+f.gwGroup+"); the gateway reaches the endpoint within seconds. Re-run gwdoctor to confirm.")
			}
			switch {
			case isServerless(ep):
				more, moreCmds := f.serverlessSteps(ep, "")
				steps, cmds = append(steps, more...), append(cmds, moreCmds...)
			case ep.Kind == snapshot.BackendECS:
				steps = append(steps, f.ecsInstanceStep(ep, ""))
			}
			fd.Remediation = f.remedy(steps, cmds...)
			p.Report(fd)
		}
		return nil
	},
}

var _ = explains(Article{
	Code: diagnose.CodeMissingAuthorization,
	Symptom: `Requests through the gateway to the service fail with HTTP 503 "upstream connect error or
disconnect/reset before headers. reset reason: connection timeout" (Envoy), and the
gateway's service list shows the endpoints unhealthy. The pods themselves are fine.`,
	Cause: `The MSE cloud-native gateway reaches pods directly, from its own managed security group.
The backend's security groups deny inbound traffic that no rule allows, so until the
backend's group is authorized for the gateway (MSE console: Security Group Authorization,
which adds an inbound accept rule with the gateway's group as source), every connection is
dropped silently and times out.`,
	Detection: `The endpoint's ENI (the one holding the pod IP, or the node's primary ENI for routed pod
CIDRs) is found, the rules of all its groups are evaluated for the gateway: deny. Neither an
authorization nor a gateway-sourced accept rule covers the port on any group of the node,
and no more specific cause applies.`,
	Fix: `MSE console → Cloud-native Gateway → Gateways → your gateway → Security Group
Authorization → Add Security Group Authorization: pick the security group of the node (or
pod ENI) that runs the backend and enter the pod's port (the Service targetPort), e.g.
8080/8080.

  aliyun mse AddSecurityGroupRule --GatewayUniqueId gw-… --SecurityGroupId sg-… \
    --PortRange 8080/8080 --Description "MSE gateway to shop/orders"

ECI and ACS pods (virtual nodes, ACK Serverless, ACS) have their own ENI and group, set when
the pod is created — by the annotation k8s.aliyun.com/eci-security-group (ACS:
network.alibabacloud.com/security-group-ids), else the default (kube-system/eci-profile
securityGroupId, else the cluster's security group). The finding says which. Authorize that
group, or recreate the pods with an authorized group in the pod template's annotation (a
running pod's group cannot change), or change the default for new pods. Plain ECS instances:
ECS console → Instances → the instance → Security Groups.`,
	Related: []string{diagnose.CodeWrongNode, diagnose.CodePortChanged, diagnose.CodeMultipleGroups},
})
