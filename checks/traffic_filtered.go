package checks

import (
	"fmt"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// TrafficFiltered reports endpoints the configuration allows but a probe
// could not reach.
var TrafficFiltered = &diagnose.Check{
	Name: "traffic-filtered",
	Doc: `Reports endpoints the security groups allow but a probe timed out on (or found unreachable).

An error when the probe came from the gateway's path (the gateway, or a host in the gateway's
security group and vSwitch): the endpoint is blocked. A warning when it came from elsewhere (an
operator's laptop): the verdict stays as configured and the warning says only that vantage
point cannot connect.

Something gwdoctor does not model drops the traffic: a host firewall (iptables/nftables on
the node), a Kubernetes NetworkPolicy, a vSwitch network ACL, a route. Also fires when the
configuration cannot decide and a probe from the gateway's own network timed out, and when the
gateway's own health check (vantage gateway-healthcheck, read from MSE ListGatewayService)
fails an endpoint the configuration allows or cannot decide: then it says which causes the
evidence still allows (a filter, or the app failing the check). The
evidence says what the probe's vantage point proves: a timeout seen from the gateway's
network shows the gateway's path drops; seen from elsewhere (an operator's laptop) it shows
only that this vantage point cannot connect.`,
	Codes:    []string{diagnose.CodeTrafficFiltered},
	Requires: []diagnose.Input{diagnose.InputProbes, diagnose.InputEndpoints},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, cs := range f.causeGroups(diagnose.CodeTrafficFiltered) {
			ep := cs[0].ep
			if ep.HealthDecided {
				p.Report(healthCheckFailing(f, cs))
				continue
			}
			pr := ep.Probe
			config := "the security groups allow the gateway on " + fmt.Sprint(ep.Endpoint.Port)
			if ep.Decision.Verdict != secgroup.Allow {
				config = "the security groups cannot decide (" + ep.Decision.Verdict.String() + ")"
			}
			specific := []string{config + ", but the probe from " + orUnknown(pr.From) + " was " + pr.State}
			if pr.From != diagnose.ProbeFromGateway {
				specific = append(specific, "this vantage point is not the gateway's network: the finding shows that "+orUnknown(pr.From)+" cannot connect; probe from a host in the gateway's vSwitch (gwdoctor diagnose --probe --probe-from gateway) to prove the gateway's path")
			}
			fd := f.endpointFinding(cs, diagnose.CodeTrafficFiltered, nil,
				fmt.Sprintf("%s: configuration allows the gateway, but a probe from %s was %s — something outside the security groups filters", who(cs), orUnknown(pr.From), pr.State),
				specific)
			fd.Chain = f.chain(ep, f.authIDsFor(f.firstGroup(ep.GroupIDs)), "", decidingName(ep), "", diagnose.LinkProbe, pr.State+" from "+orUnknown(pr.From))
			ns, _ := splitKey(ep.ServiceKey)
			fd.Remediation = f.remedy(
				[]string{
					"Check the node's host firewall for rules dropping the port (iptables -S; nft list ruleset) on " + orUnknown(ep.NodeLabel()) + ".",
					"Check Kubernetes NetworkPolicies selecting the pods: a policy that does not allow the gateway's vSwitch CIDR drops its traffic.",
					"Check the network ACL of the backend's vSwitch (VPC console → Network ACLs) and the route tables.",
					"Probe again from a host in the gateway's vSwitch to confirm (the gwdoctor probe command below).",
				},
				command{line: "kubectl -n " + quote(ns) + " get networkpolicy"},
				f.cmdNetworkACLs(),
				command{line: "gwdoctor probe " + quote(ep.Target())},
			)
			p.Report(fd)
		}
		reportVantageOnly(p, f)
		return nil
	},
}

// reportVantageOnly warns about endpoints the configuration allows whose
// probe failed from a vantage point off the gateway's path: the verdict
// stays reachable (diagnose.JoinProbe), and the warning says that this
// vantage point, not necessarily the gateway, cannot connect. One warning
// per service, vantage and probe state.
func reportVantageOnly(p *diagnose.Pass, f *facts) {
	index := map[string]int{}
	var groups [][]*cause
	for _, ep := range p.View.Endpoints {
		if !ep.ProbeVantageOnly || ep.Probe == nil {
			continue
		}
		k := ep.ServiceKey + "\x00" + ep.Probe.From + "\x00" + ep.Probe.State
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], &cause{ep: ep, code: diagnose.CodeTrafficFiltered, byProbe: true})
	}
	for _, cs := range groups {
		ep := cs[0].ep
		pr := ep.Probe
		from := orUnknown(pr.From)
		specific := []string{
			"the security groups allow the gateway on " + protocol(ep) + " " + fmt.Sprint(ep.Endpoint.Port) + ", and the verdict stays reachable",
			"the probe from " + from + " was " + pr.State + ": " + from + " is not on the gateway's path, so this shows only that " + from + " cannot connect (routing, VPN, an ACL on its own way in), not that the gateway cannot",
		}
		fd := f.endpointFinding(cs, diagnose.CodeTrafficFiltered, diagnose.Sev(diagnose.Warning),
			fmt.Sprintf("%s: configuration allows the gateway; a probe from %s was %s — that vantage point cannot connect, which says nothing about the gateway's path", who(cs), from, pr.State),
			specific)
		fd.Chain = f.chain(ep, f.authIDsFor(f.firstGroup(ep.GroupIDs)), "", decidingName(ep), "", diagnose.LinkProbe, pr.State+" from "+from+" (not the gateway's path)")
		fd.Remediation = diagnose.Remediation{
			Steps: []string{
				"Probe from the gateway's path to decide: on a host in the gateway's security group (" + orNone(f.gwGroup) + ") and vSwitch, run gwdoctor probe " + ep.Target() + ", or gwdoctor diagnose --probe --probe-from gateway there.",
				"If only this vantage point fails, check its route to the backend's VPC (VPN, CEN, bastion).",
			},
			Commands: []string{"gwdoctor probe " + ep.Target()},
		}
		p.Report(fd)
	}
}

// healthCheckFailing is the finding for endpoints the gateway's own health
// check fails while the configuration allows (or cannot decide): it names
// what the evidence still allows — a filter the model does not cover, or
// the app failing the check — from what the probes saw.
func healthCheckFailing(f *facts, cs []*cause) diagnose.Finding {
	ep := cs[0].ep
	config := "the security groups allow the gateway on " + protocol(ep) + " " + fmt.Sprint(ep.Endpoint.Port)
	if ep.Decision.Verdict != secgroup.Allow {
		config = "the security groups cannot decide (" + ep.Decision.Verdict.String() + "); the gateway's own health check decides: blocked"
	}
	var allows, summary string
	pr := ep.Probe
	switch {
	case pr != nil && pr.State == snapshot.ProbeOpen && diagnose.VantageOf(pr.From) == diagnose.VantageGatewayPath:
		summary = "the app fails the gateway's health check"
		allows = "a probe from the gateway's path connected, so nothing filters the port: only the app failing the health check fits (wrong health-check path or port, error answers, answers slower than the check's timeout)"
	case pr != nil && pr.State == snapshot.ProbeOpen:
		summary = "a filter on the gateway's path, or the app failing the check"
		allows = "a probe from " + orUnknown(pr.From) + " connected, so the app listens: either something filters the gateway's path only (a host firewall or NetworkPolicy that lets " + orUnknown(pr.From) + " in but not the gateway's vSwitch, a network ACL), or the app fails the health check"
	case pr != nil && (pr.State == snapshot.ProbeFiltered || pr.State == snapshot.ProbeUnreachable) && diagnose.VantageOf(pr.From) == diagnose.VantageGatewayPath:
		summary = "something outside the security groups drops the gateway's traffic"
		allows = "a probe from the gateway's path was " + pr.State + " too, so something drops the traffic (host firewall, NetworkPolicy, network ACL, route); whether the app would pass its check cannot be seen"
	default:
		summary = "a filter the security groups do not show, or the app failing the check"
		allows = "the evidence allows a host firewall, a NetworkPolicy, a network ACL, or the app failing its health check; probe from the gateway's vSwitch to tell them apart: a timeout means a filter, a connection means the app fails its check"
	}
	specific := []string{config, healthLine(ep), allows}
	if !ep.Endpoint.IsReady() {
		specific = append(specific, "the pod is not ready: its own readiness probe fails too, which points at the app")
	}
	fd := f.endpointFinding(cs, diagnose.CodeTrafficFiltered, nil,
		fmt.Sprintf("%s: the gateway's own health check fails it although %s — %s", who(cs), configShort(ep), summary), specific)
	fd.Chain = f.chain(ep, f.authIDsFor(f.firstGroup(ep.GroupIDs)), "", decidingName(ep), "", diagnose.LinkHealthCheck, "failing ("+healthAt(ep.Health)+")")
	ns, _ := splitKey(ep.ServiceKey)
	fd.Remediation = f.remedy(
		[]string{
			"Check the service's health check in the MSE console (Cloud-native gateway → Routes → Services → the service → Health check): protocol, path, port and expected status must match what the app serves.",
			"Check the app on " + ep.Target() + " (its logs, and the pod's readiness: kubectl describe pod).",
			"Check Kubernetes NetworkPolicies selecting the pods and the node's host firewall (iptables -S; nft list ruleset) on " + orUnknown(ep.NodeLabel()) + " for rules dropping the gateway's vSwitch CIDR.",
			"Check the network ACL of the backend's vSwitch (VPC console → Network ACLs).",
			"Probe from a host in the gateway's vSwitch to tell a filter from the app (the gwdoctor probe command below): a timeout means a filter, a connection means the app fails its check.",
		},
		command{line: "kubectl -n " + quote(ns) + " get networkpolicy"},
		f.cmdNetworkACLs(),
		command{line: "gwdoctor probe " + quote(ep.Target())},
	)
	return fd
}

// configShort is what the configuration says, for a finding's message.
func configShort(ep *diagnose.Endpoint) string {
	if ep.Decision.Verdict == secgroup.Allow {
		return "the security groups allow the gateway"
	}
	return "the security groups cannot decide"
}

func decidingName(ep *diagnose.Endpoint) string {
	if d := ep.Decision.Deciding; d != nil {
		return ruleName(*d)
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "an unnamed vantage point"
	}
	return s
}

var _ = explains(Article{
	Code: diagnose.CodeTrafficFiltered,
	Symptom: `The gateway times out connecting to a backend (HTTP 503 "upstream connect error or
disconnect/reset before headers. reset reason: connection timeout"), yet the security groups
are authorized correctly.`,
	Cause: `Something the security-group model does not cover drops the traffic silently: a host
firewall on the node, a Kubernetes NetworkPolicy, a network ACL on the vSwitch, or routing.`,
	Detection: `The configuration allows the gateway (or cannot decide) and a probe of the endpoint timed
out (filtered) or got ICMP unreachable. A probe from the gateway's own network proves the
gateway's path drops; from elsewhere it only shows that vantage point cannot connect. The
gateway's own health check failing the endpoint (MSE ListGatewayService UnhealthyEndpoints)
blocks it too: then a probe that connects narrows the cause to the app failing the check.`,
	Fix: `Check, in order: NetworkPolicies (kubectl get networkpolicy), the node's firewall
(iptables -S, nft list ruleset), the vSwitch's network ACL (aliyun vpc DescribeNetworkAcls),
routes. Confirm from a host in the gateway's vSwitch: gwdoctor probe IP:PORT.`,
	Related: []string{diagnose.CodeContradictory, diagnose.CodeServiceDown},
})
