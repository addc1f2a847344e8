package checks

import (
	"fmt"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// ServiceDown reports services whose backends are not serving.
var ServiceDown = &diagnose.Check{
	Name: "service-down",
	Doc: `Reports services whose backends are not serving: no ready endpoint, pods not ready, or a refused probe.

Fires when a service has no ready endpoints (or none at all), when some pods are not ready
(the gateway's health check and Kubernetes take them out of rotation), and when a probe was
refused on a port the configuration allows (or cannot decide): a refused connection proves
the host was reached and nothing listens — from any vantage point. When other endpoints of
the service use another port, the refusal is reported as port-changed instead.`,
	Codes:    []string{diagnose.CodeServiceDown},
	Requires: []diagnose.Input{diagnose.InputEndpoints},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, svc := range p.View.Services {
			key := svc.Key()
			eps := p.View.ByService[key]
			var notReady []*diagnose.Endpoint
			for _, ep := range eps {
				if !ep.Endpoint.IsReady() {
					notReady = append(notReady, ep)
				}
			}
			switch {
			case len(eps) == 0:
				fd := f.serviceDownFinding(svc, nil, fmt.Sprintf("%s has no endpoints: the gateway has nothing to send requests to", key),
					[]string{"the service lists no endpoints (no pods selected, or all deleted)"})
				fd.Remediation = noEndpointsFix(svc)
				p.Report(fd)
			case len(notReady) > 0:
				msg := fmt.Sprintf("%s: %d of %d endpoints not ready", key, len(notReady), len(eps))
				switch {
				case len(eps) == 1:
					msg = fmt.Sprintf("%s has no ready endpoints: its only endpoint is not ready", key)
				case len(notReady) == len(eps):
					msg = fmt.Sprintf("%s has no ready endpoints: all %d are not ready", key, len(eps))
				}
				p.Report(f.serviceDownFinding(svc, notReady, msg, nil))
			}
		}
		for _, cs := range f.causeGroups(diagnose.CodeServiceDown) {
			var ready []*cause
			for _, c := range cs {
				if c.ep.Endpoint.IsReady() { // not-ready ones are in the finding above
					ready = append(ready, c)
				}
			}
			if len(ready) == 0 {
				continue
			}
			ep := ready[0].ep
			config := fmt.Sprintf("the configuration lets the gateway in on %d", ep.Endpoint.Port)
			if ep.Decision.Verdict != secgroup.Allow {
				config = fmt.Sprintf("the configuration cannot decide whether the gateway is let in on %d", ep.Endpoint.Port)
			}
			specific := []string{config + ", but the probe was refused: the host answered with a reset, so nothing listens on " + ep.Target()}
			fd := f.endpointFinding(ready, diagnose.CodeServiceDown, nil,
				fmt.Sprintf("%s %s connections: the host is reached but nothing listens on port %d", who(ready), verb(ready, "refuses", "refuse"), ep.Endpoint.Port), specific)
			fd.Chain = f.chain(ep, "", "", "", "", diagnose.LinkEndpoint, fmt.Sprintf("nothing listens on %d", ep.Endpoint.Port))
			fd.Remediation = serviceFix(ep.Service, []*diagnose.Endpoint{ep}, ep.Decision.Verdict == secgroup.Allow)
			p.Report(fd)
		}
		return nil
	},
}

func (f *facts) serviceDownFinding(svc *snapshot.Service, notReady []*diagnose.Endpoint, msg string, ev []string) diagnose.Finding {
	key := svc.Key()
	subj := []string{key}
	for i, ep := range notReady {
		// An endpoint blocked for another reason has its root cause in its
		// own finding; here it is named in the evidence only, so each
		// blocked endpoint is the subject of one cause.
		if c := f.causeOfEndpoint(ep); c != nil && c.code != diagnose.CodeServiceDown && ep.Verdict == diagnose.VerdictBlocked {
			if i < maxListed {
				code, _ := diagnose.LookupCode(c.code)
				ev = append(ev, fmt.Sprintf("endpoint %s not ready, and blocked for another reason as well (%s %s)", ep.Target(), code.ID, code.Slug))
			}
			continue
		}
		subj = append(subj, ep.Label())
		if i < maxListed {
			line := "endpoint " + ep.Target() + " not ready"
			if ep.Endpoint.Pod != "" {
				line += " (pod " + ep.Endpoint.Pod + ")"
			}
			if ep.NodeLabel() != "" {
				line += " on node " + ep.NodeLabel()
			}
			if l := probeLine(ep); l != "" {
				line += "; " + l
			}
			ev = append(ev, line)
		}
	}
	if len(notReady) > maxListed {
		ev = append(ev, fmt.Sprintf("… and %d more not ready", len(notReady)-maxListed))
	}
	if len(notReady) > 0 {
		ev = append(ev, "security groups are not the cause of this finding: an endpoint that is not ready is out of rotation whatever the rules say")
	} else {
		ev = append(ev, "security groups are not the cause of this finding: with no endpoint there is nothing for the rules to let the gateway into")
	}
	fd := diagnose.Finding{
		Code:        diagnose.CodeServiceDown,
		Subjects:    subj,
		Services:    []string{key},
		Message:     msg,
		Evidence:    ev,
		Remediation: serviceFix(svc, notReady, true),
	}
	if len(notReady) > 0 {
		ep := notReady[0]
		fd.Chain = f.chain(ep, "", "", "", "", diagnose.LinkPod, "not ready")
		if ep.Endpoint.Pod == "" {
			fd.Chain = f.chain(ep, "", "", "", "", diagnose.LinkEndpoint, "not ready")
		}
	}
	return fd
}

// noEndpointsFix: a service with no endpoints at all has nothing that is
// "not ready" or "not listening": what selects its backends is wrong, or
// nothing runs.
func noEndpointsFix(svc *snapshot.Service) diagnose.Remediation {
	const sgStep = "The security groups do not need changing for this finding: there is no backend to let the gateway into."
	if !strings.EqualFold(svc.Source, snapshot.SourceK8s) && svc.Source != "" {
		return diagnose.Remediation{Steps: []string{
			"Check the service's backend addresses in the MSE console → Cloud-native Gateway → Gateways → your gateway → Routes → Services → " + svc.Name + ": the service source lists none.",
			sgStep,
		}}
	}
	ns, name := splitKey(svc.Key())
	return diagnose.Remediation{
		Steps: []string{
			"Check the Service's selector matches the pods' labels (the get service command below shows the selector; kubectl get pods -l with it lists what it selects).",
			"Check the workload has replicas running: a Deployment or StatefulSet scaled to 0, or pods failing to schedule, leaves no endpoints.",
			"Check the EndpointSlices of the service (the get endpointslices command below): none, or none with addresses, means nothing is selected and ready.",
			sgStep,
		},
		Commands: []string{
			fmt.Sprintf("kubectl -n %s get service %s -o wide", quote(ns), quote(name)),
			fmt.Sprintf("kubectl -n %s get endpointslices -l kubernetes.io/service-name=%s -o wide", quote(ns), quote(name)),
		},
	}
}

// serviceFix: look at the workload, not at the network.
// configAllows says whether the security groups were found to let the
// gateway in; when they could not be evaluated the fix says to check them.
func serviceFix(svc *snapshot.Service, eps []*diagnose.Endpoint, configAllows bool) diagnose.Remediation {
	sgStep := "The security groups do not need changing for this finding."
	if !configAllows {
		sgStep = "Once the service listens again, check the security groups too: the configuration could not be evaluated (see the notes)."
	}
	key := svc.Key()
	if !strings.EqualFold(svc.Source, snapshot.SourceK8s) && svc.Source != "" {
		r := diagnose.Remediation{
			Steps: []string{
				"Log in to the backend instance and check that the service process runs and listens on the port: ss -ltnp",
				"Check the gateway's health check for the service: MSE console → Cloud-native Gateway → Gateways → your gateway → Routes → Services → " + svc.Name + " → Health Check.",
				sgStep,
			},
		}
		// Without an endpoint there is nothing to probe: no command (a
		// "<ip>:<port>" placeholder would be a shell redirection).
		if len(eps) > 0 {
			r.Commands = []string{"gwdoctor probe " + quote(eps[0].Target())}
		}
		return r
	}
	ns, name := splitKey(key)
	cmds := []string{fmt.Sprintf("kubectl -n %s get endpointslices -l kubernetes.io/service-name=%s -o wide", quote(ns), quote(name))}
	for i, ep := range eps {
		if i == 3 {
			break
		}
		if ep.Endpoint.Pod != "" {
			cmds = append(cmds, fmt.Sprintf("kubectl -n %s describe pod %s", quote(ns), quote(ep.Endpoint.Pod)))
		}
	}
	return diagnose.Remediation{
		Steps: []string{
			"Find why the pods are not ready or not listening: kubectl describe pod (events, readiness probe), kubectl logs.",
			"Check the container listens on the endpoint's port (the Service targetPort); if it moved, see port-changed.",
			sgStep,
		},
		Commands: cmds,
	}
}

var _ = explains(Article{
	Code: diagnose.CodeServiceDown,
	Symptom: `The gateway returns HTTP 503 "no healthy upstream" or "upstream connect error or
disconnect/reset before headers. reset reason: connection failure"; the gateway's service list
shows the endpoints unhealthy.`,
	Cause: `The backend is not serving: the pods are not ready (failing readiness probes, crash loops),
the service has no endpoints, or the process does not listen on the port. The MSE FAQ lists
service health among the causes: check it before changing security groups.`,
	Detection: `Kubernetes readiness from the endpoints (ready: false), a service with no ready endpoint,
or a probe that was refused on a port the configuration allows: a refused connection (TCP
reset) proves the host was reached and nothing listens — valid from any vantage point,
unlike a timeout.`,
	Fix: `Look at the workload, not the network:

  kubectl -n shop get endpointslices -l kubernetes.io/service-name=reviews -o wide
  kubectl -n shop describe pod reviews-…
  kubectl -n shop logs reviews-…

For ECS backends, check the process listens on the port (ss -ltnp).`,
	Related: []string{diagnose.CodePortChanged, diagnose.CodeTrafficFiltered},
})
