package checks

import (
	"fmt"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// PortChanged reports endpoints whose groups let the gateway in, but on
// other ports than the one the endpoint listens on now.
var PortChanged = &diagnose.Check{
	Name: "port-changed",
	Doc: `Reports endpoints whose groups are authorized for the gateway, but not for the port they use now.

Configuration: the security groups deny the endpoint, while the groups on its ENI do let the
gateway in — on other ports (authorized 8080/8080, the pod now listens on 8081). The finding
says which ports are authorized and which is used, and whether a probe shows the old port
closed. Probe: the configuration allows the endpoint's port but a probe is refused there,
while other endpoints of the same service use another port — the service moved and the
endpoint list or the authorization lags behind (issue 8's decision table).`,
	Codes:    []string{diagnose.CodePortChanged},
	Requires: causeInputs,
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, cs := range f.causeGroups(diagnose.CodePortChanged) {
			if cs[0].byProbe {
				p.Report(f.portChangedByProbe(cs))
			} else {
				p.Report(f.portChangedByConfig(cs))
			}
		}
		return nil
	},
}

func (f *facts) portChangedByConfig(cs []*cause) diagnose.Finding {
	c := cs[0]
	ep := c.ep
	port := ep.Endpoint.Port
	ports := portRangeOf(port)
	var authorized, authIDs, ruleIDs []string
	var specific []string
	for _, gr := range f.distinctGrants(c.grants) {
		authorized = appendOnce(authorized, gr.portText())
		specific = append(specific, "the gateway is granted "+gr.group+" by "+gr.label()+fmt.Sprintf(" — not %s port %d", protocol(ep), port))
		if gr.auth != nil {
			authIDs = appendOnce(authIDs, gr.auth.ID)
		} else {
			ruleIDs = appendOnce(ruleIDs, ruleName(gr.rule.Ref))
		}
	}
	specific = append([]string{fmt.Sprintf("authorized port(s) %s; the endpoint uses %d now", strings.Join(authorized, ", "), port)}, specific...)
	// A probe of the old port on the same IP shows whether the service moved.
	for _, gr := range c.grants {
		if !gr.portOK || gr.ports.All || gr.ports.Start != gr.ports.End {
			continue
		}
		old := diagnose.JoinHostPort(ep.Endpoint.IP, gr.ports.Start)
		if ps := f.v.Probes[old]; len(ps) > 0 {
			pr := ps[len(ps)-1]
			line := fmt.Sprintf("probe of the authorized port %s from %s: %s", old, pr.From, pr.State)
			if pr.State == snapshot.ProbeRefused {
				line += " — nothing listens on the authorized port any more: the service moved to " + fmt.Sprint(port)
			}
			specific = append(specific, line)
		}
	}
	group := c.groups[0]
	msg := fmt.Sprintf("%s %s blocked: the gateway is granted %s on port(s) %s, but the endpoint now listens on %s %d",
		who(cs), isAre(cs), strings.Join(c.groups, ","), strings.Join(authorized, ", "), protocol(ep), port)
	fd := f.endpointFinding(cs, diagnose.CodePortChanged, nil, msg, specific, append(append(append([]string{}, c.groups...), authIDs...), ruleIDs...)...)
	fd.Chain = f.chain(ep, strings.Join(authIDs, ","), "ports "+strings.Join(authorized, ", "), strings.Join(ruleIDs, ","), "", diagnose.LinkAuthorization,
		fmt.Sprintf("authorized %s, endpoint uses %d", strings.Join(authorized, ", "), port))
	steps, cmds := f.grantAccess(group, ports, ep.ServiceKey, fmt.Sprintf("the pod's port — the Service targetPort — is %d now", port))
	for _, gr := range c.grants {
		if gr.auth != nil && !f.portInUse(gr) {
			steps = append(steps, f.stepMSEDelete(gr.auth.ID, gr.group, gr.portText(), true)+" Only if no backend in "+gr.group+" uses "+gr.portText()+" any more (no endpoint in this snapshot does).")
			cmds = append(cmds, f.cmdMSEDelete(gr.auth.ID, true))
		}
	}
	fd.Remediation = f.remedy(steps, cmds...)
	return fd
}

// portInUse reports whether an endpoint in the snapshot whose ENI carries
// the grant's group uses a port the grant covers.
func (f *facts) portInUse(gr grant) bool {
	for port := range f.portsByGroup[gr.group] {
		if gr.covers(port.proto, port.port) {
			return true
		}
	}
	return false
}

func (f *facts) portChangedByProbe(cs []*cause) diagnose.Finding {
	c := cs[0]
	ep := c.ep
	port := ep.Endpoint.Port
	others := make([]string, len(c.ports))
	for i, p := range c.ports {
		others[i] = fmt.Sprint(p)
	}
	specific := []string{
		fmt.Sprintf("the configuration lets the gateway in on %d, but a probe was refused there: nothing listens on %d any more", port, port),
		fmt.Sprintf("other endpoints of %s use port(s) %s: the service's port changed and this endpoint still points at the old one", ep.ServiceKey, strings.Join(others, ", ")),
	}
	msg := fmt.Sprintf("%s %s refused on the authorized port %d while %s now uses port(s) %s", who(cs), isAre(cs), port, ep.ServiceKey, strings.Join(others, ", "))
	fd := f.endpointFinding(cs, diagnose.CodePortChanged, nil, msg, specific)
	fd.Chain = f.chain(ep, "", "", "", "", diagnose.LinkEndpoint, fmt.Sprintf("nothing listens on %d", port))
	ns, name := splitKey(ep.ServiceKey)
	fd.Remediation = diagnose.Remediation{
		Steps: []string{
			fmt.Sprintf("Check which port the pods listen on now and make the Service's targetPort match (the gateway dials the pod's port): kubectl -n %s get endpointslices -l kubernetes.io/service-name=%s", ns, name),
			"Authorize the new port for the gateway if it is not yet (see the port-changed or missing-authorization findings of the other endpoints), then remove the old port's authorization once nothing uses it.",
		},
		Commands: []string{
			fmt.Sprintf("kubectl -n %s get endpointslices -l kubernetes.io/service-name=%s -o wide", quote(ns), quote(name)),
		},
	}
	return fd
}

// splitKey splits "ns/name"; a key without a namespace is ("default", key).
func splitKey(key string) (string, string) {
	if ns, name, ok := strings.Cut(key, "/"); ok {
		return ns, name
	}
	return "default", key
}

var _ = explains(Article{
	Code: diagnose.CodePortChanged,
	Symptom: `A service that worked through the gateway fails with HTTP 503 "upstream connect error or
disconnect/reset before headers" after a deployment; the pods are healthy and the node's group
is authorized.`,
	Cause: `The authorization covers the port the service used to listen on (e.g. 8080/8080); the new
version listens on another port (8081). The gateway dials the pod's port (the Service
targetPort), not the Service port, so the authorization must cover the pod's port. MSE FAQ:
"the port of the backend service changed".`,
	Detection: `Configuration: the endpoint is denied while the groups on its ENI let the gateway in on
other ports; gwdoctor names the authorized ports and the port used now, and shows a probe of
the old port when one was recorded (refused = nothing listens there any more).
Probe: the configuration allows the port, a probe is refused on it, and other endpoints of
the service use another port.`,
	Fix: `Authorize the new port — MSE console → Cloud-native Gateway → Gateways → your gateway →
Security Group Authorization → Add Security Group Authorization (same group, new port):

  aliyun mse AddSecurityGroupRule --GatewayUniqueId gw-… --SecurityGroupId sg-… \
    --PortRange 8081/8081 --Description "MSE gateway to shop/payments"

then delete the old authorization once nothing uses the old port, with its inbound rule:

  aliyun mse DeleteSecurityGroupRule --GatewayUniqueId gw-… --Id 1001 --CascadingDelete true

A range (e.g. 8080/8090) or 1/65535 avoids this at the cost of openness (see GWD302).`,
	Related: []string{diagnose.CodeServiceDown, diagnose.CodeBroadAuthorization, diagnose.CodeMissingAuthorization},
})
