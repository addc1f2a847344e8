package checks

import (
	"fmt"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
)

// TrafficFiltered reports endpoints the configuration allows but a probe
// could not reach.
var TrafficFiltered = &diagnose.Check{
	Name: "traffic-filtered",
	Doc: `Reports endpoints the security groups allow but a probe timed out on (or found unreachable).

Something gwdoctor does not model drops the traffic: a host firewall (iptables/nftables on
the node), a Kubernetes NetworkPolicy, a vSwitch network ACL, a route. Also fires when the
configuration cannot decide and a probe from the gateway's own network timed out. The
evidence says what the probe's vantage point proves: a timeout seen from the gateway's
network shows the gateway's path drops; seen from elsewhere (an operator's laptop) it shows
only that this vantage point cannot connect.`,
	Codes:    []string{diagnose.CodeTrafficFiltered},
	Requires: []diagnose.Input{diagnose.InputProbes, diagnose.InputEndpoints},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, cs := range f.causeGroups(diagnose.CodeTrafficFiltered) {
			ep := cs[0].ep
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
		return nil
	},
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
gateway's path drops; from elsewhere it only shows that vantage point cannot connect.`,
	Fix: `Check, in order: NetworkPolicies (kubectl get networkpolicy), the node's firewall
(iptables -S, nft list ruleset), the vSwitch's network ACL (aliyun vpc DescribeNetworkAcls),
routes. Confirm from a host in the gateway's vSwitch: gwdoctor probe IP:PORT.`,
	Related: []string{diagnose.CodeContradictory, diagnose.CodeServiceDown},
})
