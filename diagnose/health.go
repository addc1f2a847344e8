package diagnose

import (
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// What the gateway's own health check says about one endpoint, as in the
// report's healthCheck field.
const (
	// HealthPassing: the check is on and the endpoint is not failing it.
	HealthPassing = "passing"
	// HealthFailing: the check is on and lists the endpoint as unhealthy.
	HealthFailing = "failing"
	// HealthOff: the gateway does not health-check the service.
	HealthOff = "off"
	// HealthUndecided: the check was read but does not say which endpoints
	// fail (status unknown, or unhealthy with no endpoint named), or does
	// not say whether it is on.
	HealthUndecided = "unknown"
)

// HealthEvidence is the gateway's health check of one endpoint. State is ""
// when the snapshot holds none for the service.
type HealthEvidence struct {
	State string
	// At is when the gateway's view was read.
	At string
	// Why says, for every state but passing and failing, why the check is
	// no evidence.
	Why string
}

// Proves reports whether the health check is evidence about the endpoint.
func (h HealthEvidence) Proves() bool { return h.State == HealthPassing || h.State == HealthFailing }

// EndpointHealth reads the service's gateway health check for target
// ("ip:port", as Endpoint.Target). An endpoint of an enabled check is
// failing when listed; passing when not listed, ready, and the service is
// healthy or the list names others; otherwise the check proves nothing
// about it. A pod that is not ready is not among the gateway's endpoints, so
// its absence from the list says nothing.
func EndpointHealth(h *snapshot.HealthCheck, target string, ready bool) HealthEvidence {
	return endpointHealth(h, nil, target, ready)
}

// endpointHealth is EndpointHealth with the failing endpoints as a set
// when the caller indexed them (nil: scan the list).
func endpointHealth(h *snapshot.HealthCheck, failing map[string]bool, target string, ready bool) HealthEvidence {
	if h == nil {
		return HealthEvidence{Why: "the gateway's health check of the service was not read"}
	}
	ev := HealthEvidence{At: h.At}
	switch {
	case h.Enabled == nil:
		ev.State, ev.Why = HealthUndecided, "the data does not say whether the gateway health-checks the service"
		return ev
	case !*h.Enabled:
		ev.State, ev.Why = HealthOff, "the gateway does not health-check the service (HealthCheck off): its status proves nothing"
		return ev
	}
	if failing != nil {
		if failing[target] {
			ev.State = HealthFailing
			return ev
		}
	} else {
		for _, u := range h.UnhealthyEndpoints {
			if u == target {
				ev.State = HealthFailing
				return ev
			}
		}
	}
	switch {
	case !ready:
		ev.State, ev.Why = HealthUndecided, "the endpoint is not ready, so the gateway neither routes to it nor checks it"
	case h.Status == snapshot.HealthHealthy, h.Status == snapshot.HealthUnhealthy && len(h.UnhealthyEndpoints) > 0:
		ev.State = HealthPassing
	case h.Status == snapshot.HealthUnhealthy:
		ev.State, ev.Why = HealthUndecided, "the gateway reports the service unhealthy without naming the failing endpoints"
	default:
		ev.State, ev.Why = HealthUndecided, "the gateway's health status of the service is unknown"
	}
	return ev
}

// EvidenceJoin is what joining the configuration with the probe and the
// gateway's health check concludes.
type EvidenceJoin struct {
	ProbeJoin
	// ByHealthCheck says the gateway's health check decided a verdict that
	// the configuration and the probe alone would not give.
	ByHealthCheck bool
}

// JoinEvidence joins the configuration's decision with the newest probe and
// the gateway's own health check through the one decision table
// (probeTable). Which observation decides, strongest first: a refused probe
// (nothing listens, seen from anywhere); a failing health check (the gateway
// itself gets no answer it accepts, even when a probe connects: then the app
// fails its check); a probe from the gateway's path; a passing health check;
// any other probe.
func JoinEvidence(config secgroup.Verdict, p *snapshot.Probe, h HealthEvidence) EvidenceJoin {
	class := classOf(p)
	vantage := VantageElsewhere
	if p != nil {
		vantage = VantageOf(p.From)
	}
	without := lookup(config, class, vantage)
	var with ProbeJoin
	switch {
	case class == probeRefused:
		return EvidenceJoin{ProbeJoin: without}
	case h.State == HealthFailing:
		with = lookup(config, healthFailing, VantageGatewayHealthCheck)
	case class != probeNone && vantage.provesGatewayPath():
		return EvidenceJoin{ProbeJoin: without}
	case h.State == HealthPassing:
		with = lookup(config, probeOpen, VantageGatewayHealthCheck)
	default:
		return EvidenceJoin{ProbeJoin: without}
	}
	// The gateway's own check proves its path: a warning about another
	// vantage point's failure is moot.
	with.VantageOnly = false
	return EvidenceJoin{ProbeJoin: with, ByHealthCheck: with.Verdict != without.Verdict}
}

// HasHealthEvidence reports whether the gateway's health check is evidence
// about some endpoint.
func (v *View) HasHealthEvidence() bool {
	for _, ep := range v.Endpoints {
		if ep.Health.Proves() {
			return true
		}
	}
	return false
}
