package checks

import (
	"fmt"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Contradictory reports endpoints the configuration denies but a probe
// reached.
var Contradictory = &diagnose.Check{
	Name: "contradictory-evidence",
	Doc: `Reports endpoints the security groups deny although a probe connected.

The verdict for such an endpoint is unknown, never reachable and never blocked: either the
snapshot is stale (a rule was added since), the probe took another path than the gateway (a
vantage point inside the backend's group, or the same VPC through another group), or a
session established before a rule was removed is still alive (ECS keeps sessions up to 910
s). The evidence gives what the configuration alone would conclude (its root cause) and what
the probe's vantage point can prove.`,
	Codes:    []string{diagnose.CodeContradictory},
	Requires: []diagnose.Input{diagnose.InputProbes, diagnose.InputEndpoints},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for i, ep := range p.View.Endpoints {
			switch contradiction(ep) {
			case contradictedByHealthCheck:
				p.Report(healthContradicts(f, i, ep))
				continue
			case contradictedByProbe:
			default:
				continue
			}
			ev := []string{fmt.Sprintf("the security groups deny the gateway, but a probe from %s completed a handshake", orUnknown(ep.Probe.From))}
			if c := f.causeOf(i); c != nil {
				code, _ := diagnose.LookupCode(c.code)
				ev = append(ev, fmt.Sprintf("the configuration alone would explain the block as %s %s", code.ID, code.Slug))
			}
			if ep.Probe.From == diagnose.ProbeFromGateway {
				ev = append(ev, "the probe came from the gateway's network: the data is probably stale (re-collect the snapshot), or an established session outlives a removed rule (ECS keeps sessions up to 910 s)")
			} else {
				ev = append(ev, "the probe did not come from the gateway's network: "+orUnknown(ep.Probe.From)+" may be let in by other rules (another source group or CIDR) — it does not prove the gateway's path")
			}
			cs := []*cause{{ep: ep}}
			fd := f.endpointFinding(cs, diagnose.CodeContradictory, nil,
				fmt.Sprintf("%s: configuration denies the gateway, but a probe from %s connected — the verdict is unknown", ep.Label(), orUnknown(ep.Probe.From)), ev)
			fd.Chain = f.chain(ep, "", "", decidingName(ep), "", diagnose.LinkProbe, "open despite deny")
			fd.Remediation = diagnose.Remediation{
				Steps: []string{
					"Re-collect the data (gwdoctor snapshot --live) and diagnose again: the rules may have changed since the snapshot.",
					"Probe from the gateway's network (a host in the gateway's vSwitch: gwdoctor diagnose --probe --probe-from gateway) to see what the gateway sees.",
					"If the gateway's own requests work now, check whether they ride on sessions established before a rule change: new connections are the test.",
				},
				Commands: []string{"gwdoctor probe " + ep.Target()},
			}
			p.Report(fd)
		}
		return nil
	},
}

// What contradicts a configured deny.
const (
	notContradicted = iota
	contradictedByProbe
	contradictedByHealthCheck
)

// contradiction says what, if anything, contradicts the configuration's
// deny of ep: an open probe, or the gateway's own health check passing it
// (the verdict is then unknown).
func contradiction(ep *diagnose.Endpoint) int {
	switch {
	case ep.Decision.Verdict != secgroup.Deny || ep.Verdict != diagnose.VerdictUnknown:
		return notContradicted
	case ep.HealthDecided && ep.Health.State == diagnose.HealthPassing:
		return contradictedByHealthCheck
	case ep.Probe != nil && ep.Probe.State == snapshot.ProbeOpen:
		return contradictedByProbe
	}
	return notContradicted
}

// healthContradicts is the finding for an endpoint the configuration denies
// while the gateway's own health check passes it.
func healthContradicts(f *facts, i int, ep *diagnose.Endpoint) diagnose.Finding {
	ev := []string{"the security groups deny the gateway, but " + healthLine(ep)}
	if c := f.causeOf(i); c != nil {
		code, _ := diagnose.LookupCode(c.code)
		ev = append(ev, fmt.Sprintf("the configuration alone would explain the block as %s %s", code.ID, code.Slug))
	}
	ev = append(ev, "the health check starts where the gateway's traffic starts: the snapshot's rules are probably stale (re-collect), the gateway reaches the endpoint by a path not modelled, or its health-check connections ride on a session established before a rule was removed (ECS keeps sessions up to 910 s)")
	fd := f.endpointFinding([]*cause{{ep: ep}}, diagnose.CodeContradictory, nil,
		fmt.Sprintf("%s: configuration denies the gateway, but the gateway's own health check passes it — the verdict is unknown", ep.Label()), ev)
	fd.Chain = f.chain(ep, "", "", decidingName(ep), "", diagnose.LinkHealthCheck, "passing despite deny ("+healthAt(ep.Health)+")")
	fd.Remediation = f.remedy(
		[]string{
			"Re-collect the data (gwdoctor snapshot --live) and diagnose again: the rules or the gateway's health status may have changed since.",
			"Probe from a host in the gateway's vSwitch to see what new connections meet (the gwdoctor probe command below).",
		},
		command{line: "gwdoctor probe " + quote(ep.Target())},
	)
	return fd
}

var _ = explains(Article{
	Code: diagnose.CodeContradictory,
	Symptom: `gwdoctor says the security groups deny an endpoint, but a probe (or the gateway itself)
connects.`,
	Cause: `The snapshot is older than a rule change; the probe took a path the gateway does not (it
was sent from inside the backend's group or from an address another rule allows); or a
session opened before a rule was removed is still alive (ECS security groups are stateful;
sessions live up to 910 s).`,
	Detection: `The evaluator denies the gateway and a recorded or live probe of the same ip:port is open,
or the gateway's own health check (MSE ListGatewayService) passes it.
The endpoint's verdict is unknown; the evidence names the cause the configuration alone
would give and what the probe's vantage point proves.`,
	Fix: `Re-collect (gwdoctor snapshot --live) and diagnose again; probe from the gateway's vSwitch
(gwdoctor diagnose --probe --probe-from gateway).`,
	Related: []string{diagnose.CodeVerdictUnknown, diagnose.CodeDenyRuleShadows},
})
