package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// ServerlessDrift reports services whose serverless pods work today, while
// the default group new pods get would not let the gateway in.
var ServerlessDrift = &diagnose.Check{
	Name: "serverless-default-drift",
	Doc: `Reports services whose new ECI or ACS pods will be unreachable: the default group is not authorized.

A serverless pod (ECI on a virtual node or in ACK Serverless, or an ACS pod) gets its security
group when it is created: the group its annotation names (k8s.aliyun.com/eci-security-group,
network.alibabacloud.com/security-group-ids), else the default — securityGroupId of
kube-system/eci-profile for ECI pods (kube-system/acs-profile for ACS pods), else the
cluster's security group. It fires for a
service with such pods that name no group, some of which the gateway reaches today, when the
current default group is denied for the service's port: the next pods (scale-out, rollout,
eviction) get the default and will be unreachable. Nothing is broken yet, so it is a warning.
Services whose serverless pods all name their group in the annotation are left out: new pods of
the same template name it too.`,
	Codes:    []string{diagnose.CodeServerlessDrift},
	Requires: []diagnose.Input{diagnose.InputAuthorizations, diagnose.InputSecurityGroups, diagnose.InputEndpoints},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, svc := range p.View.Services {
			key := svc.Key()
			for _, kind := range []string{snapshot.BackendECI, snapshot.BackendACS} {
				if fd, ok := f.serverlessDrift(key, kind); ok {
					p.Report(fd)
				}
			}
		}
		return nil
	},
}

// serverlessDrift decides GWD304 for one service and serverless kind.
func (f *facts) serverlessDrift(key, kind string) (diagnose.Finding, bool) {
	def, from, fromProfile := f.defaultGroup(kind)
	if def == "" {
		return diagnose.Finding{}, false
	}
	var defaulted []*diagnose.Endpoint // pods that took the default
	working := map[int][]*diagnose.Endpoint{}
	var ports []int
	for _, ep := range f.v.ByService[key] {
		if ep.Kind != kind || len(ep.Endpoint.AnnotatedSecurityGroupIDs) > 0 {
			continue
		}
		defaulted = append(defaulted, ep)
		if ep.Decision.Verdict == secgroup.Allow {
			if working[ep.Endpoint.Port] == nil {
				ports = append(ports, ep.Endpoint.Port)
			}
			working[ep.Endpoint.Port] = append(working[ep.Endpoint.Port], ep)
		}
	}
	// Pods that do not work today are explained by their cause findings,
	// whose fixes include changing the default.
	var denied []int
	for _, port := range ports {
		d := f.v.Eval.Evaluate(secgroup.Query{GroupIDs: []string{def}, Protocol: protocol(working[port][0]), Port: port})
		if d.Verdict == secgroup.Deny {
			denied = append(denied, port)
		}
	}
	if len(denied) == 0 {
		return diagnose.Finding{}, false
	}
	ep := working[denied[0]][0]
	pk := podKind(ep)
	var portTexts []string
	for _, p := range denied {
		portTexts = append(portTexts, fmt.Sprint(p))
	}
	var carried []string
	for _, p := range denied {
		for _, e := range working[p] {
			for _, g := range e.GroupIDs {
				if !slices.Contains(carried, g) {
					carried = append(carried, g)
				}
			}
		}
	}
	ev := []string{
		fmt.Sprintf("new %ss that name no group in annotation %s get the default %s: %s", pk, groupAnnotation(ep), f.groupDesc(def), from),
		fmt.Sprintf("the gateway is denied on %s/%s into %s: no authorization or gateway-sourced accept rule covers it", protocol(ep), strings.Join(portTexts, ","), def),
		fmt.Sprintf("%d of the service's %d %ss without the annotation %s reachable today through %s (the default when they were created, or changed since)",
			len(working[denied[0]]), len(defaulted), pk, isAreN(len(working[denied[0]])), f.groupsDesc(carried)),
		"the next pods (scale-out, rollout, eviction) get " + def + " and will be unreachable; " + immutableNote(ep),
		f.gatewayLine(),
	}
	var labels []string
	for _, e := range working[denied[0]] {
		labels = append(labels, e.Label())
	}
	ev = append(ev, "reachable "+pk+"s now: "+strings.Join(capList(labels), ", "))
	ports0 := portRangeOf(denied[0])
	cm := profileName(kind)
	grantSteps, grantCmds := f.grantAccess(def, ports0, key, def+" is the default group of new "+pk+"s")
	defaultStep := fmt.Sprintf("Or make the default an authorized group again: in the ConfigMap kube-system/%s set securityGroupId to %s (the kubectl command below; new pods only).", cm, carried[0])
	if !fromProfile {
		defaultStep = fmt.Sprintf("Or make an authorized group the default of new pods: in the ConfigMap kube-system/%s set securityGroupId to %s (the kubectl command below; it takes precedence over the cluster's security group; new pods only).", cm, carried[0])
	}
	steps := append(grantSteps, defaultStep,
		fmt.Sprintf("Or name an authorized group in the workload's pod template: annotation %s: %q, so new pods do not depend on the default.", groupAnnotation(ep), carried[0]))
	cmds := append(grantCmds, cmdProfileDefault(cm, carried[0]))
	defLink := cm
	if !fromProfile {
		defLink = "cluster " + orNone(f.v.Snapshot.Cluster.ID)
	}
	return diagnose.Finding{
		Code:     diagnose.CodeServerlessDrift,
		Subjects: []string{key, def},
		Services: []string{key},
		Message: fmt.Sprintf("new %ss of %s will be unreachable: the default group %s is not authorized for port %s (running pods work through %s)",
			pk, key, def, strings.Join(portTexts, ","), strings.Join(carried, ",")),
		Evidence: ev,
		Chain: []diagnose.Link{
			{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: "gateway " + f.gwID},
			{Kind: diagnose.LinkBackendGroup, ID: def, Broken: true, Detail: "default for new " + pk + "s; no grant for port " + strings.Join(portTexts, ",")},
			{Kind: "default", ID: defLink, Detail: from},
		},
		Remediation: f.remedy(steps, cmds...),
	}, true
}

var _ = explains(Article{
	Code: diagnose.CodeServerlessDrift,
	Symptom: `Everything works today. After a rollout, a scale-out or an eviction, the new pods on the
virtual node (ECI) or the new ACS pods are unreachable from the gateway (HTTP 503 "upstream
connect error or disconnect/reset before headers") while the old ones still work.`,
	Cause: `A serverless pod gets its security group when it is created, from its annotation
(k8s.aliyun.com/eci-security-group for ECI, network.alibabacloud.com/security-group-ids for
ACS) or else from the default: securityGroupId of the kube-system/eci-profile ConfigMap
(virtual nodes and ACK Serverless; acs-profile for ACS pods), else the cluster's security group (ACK Serverless / ACS:
the group on the cluster's Basic Information tab). The running pods were created when the
default was a group the gateway is authorized for; the default has changed since (or the
running pods were moved by hand), so new pods get a group the gateway cannot reach. A running
pod's group cannot be changed: only new pods are affected.`,
	Detection: `For each service with ECI or ACS pods whose annotation names no group, and which the
gateway reaches today, gwdoctor evaluates the current default group
(cluster.eciProfileSecurityGroupId or acsProfileSecurityGroupId, else
cluster.securityGroupId in the snapshot) for the
service's port: deny.
Pods that name their group in the annotation are left out: new pods of the same template name
it too.`,
	Fix: `Authorize the default group in MSE (console: Security Group Authorization → Add Security
Group Authorization; the port is the pod's port):

  aliyun mse AddSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-… --SecurityGroupId sg-<default> \
    --PortRange 8080/8080 --Description "MSE gateway to shop/orders"

or set the default back to an authorized group (new pods only):

  kubectl -n kube-system patch configmap eci-profile --type merge \
    -p '{"data":{"securityGroupId":"sg-<authorized>"}}'

or name an authorized group in the workload's pod template annotation.`,
	Related: []string{diagnose.CodeMissingAuthorization, diagnose.CodeWrongNode, diagnose.CodeNodePoolDrift},
})

// isAreN is the verb for a count.
func isAreN(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
