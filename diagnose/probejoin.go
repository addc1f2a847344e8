package diagnose

import (
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Vantage is what a probe's vantage point can prove about the gateway's
// path (DESIGN.md, "Probe semantics"). A refused probe proves the service
// side from anywhere; a silent one (filtered, unreachable) proves a block
// on the gateway's path only from the gateway's own position.
type Vantage int

const (
	// VantageElsewhere is any vantage point that does not share the
	// gateway's path: an operator's laptop, a CI runner, a bastion. Its
	// timeouts say only that it cannot connect (routing, VPN, ACLs on its
	// own way in).
	VantageElsewhere Vantage = iota
	// VantageGatewayPath is the gateway itself, or a host placed in the
	// gateway's security group and vSwitch: its traffic meets exactly the
	// rules the gateway's does.
	VantageGatewayPath
	// VantageGatewayHealthCheck is the gateway's own health check (MSE
	// ListGatewayService): it starts where the gateway's traffic starts, so
	// it proves what the gateway's path does (rows for VantageGatewayPath
	// apply to it), and a failing check has a class of its own.
	VantageGatewayHealthCheck
)

func (v Vantage) String() string {
	switch v {
	case VantageGatewayPath:
		return "gateway-path"
	case VantageGatewayHealthCheck:
		return ProbeFromHealthCheck
	}
	return "elsewhere"
}

// ProbeFromHealthCheck is the vantage label of the gateway's own health
// check (DESIGN.md, "Probe semantics").
const ProbeFromHealthCheck = "gateway-healthcheck"

// provesGatewayPath reports whether observations from v show what the
// gateway's own traffic meets.
func (v Vantage) provesGatewayPath() bool {
	return v == VantageGatewayPath || v == VantageGatewayHealthCheck
}

// vantageLabels maps a probe's `from` label to its vantage class; labels
// not listed are VantageElsewhere. Add a label here to give a new source of
// observations (for example the gateway's own health checks) the proving
// power of the gateway's path.
var vantageLabels = map[string]Vantage{
	ProbeFromGateway:     VantageGatewayPath,
	ProbeFromHealthCheck: VantageGatewayHealthCheck,
}

// VantageOf classifies a probe's `from` label.
func VantageOf(from string) Vantage { return vantageLabels[from] }

// probeClass groups probe states by what they show.
type probeClass int

const (
	probeNone    probeClass = iota // no probe, or one that errored: shows nothing
	probeOpen                      // handshake completed
	probeRefused                   // reset: nothing listens (the host was reached)
	probeSilent                    // filtered or unreachable: no way through from there
	// healthFailing: the gateway's health check fails the endpoint: no way
	// through from the gateway, or the app fails the check itself.
	healthFailing
)

func classOf(p *snapshot.Probe) probeClass {
	if p == nil {
		return probeNone
	}
	switch p.State {
	case snapshot.ProbeOpen:
		return probeOpen
	case snapshot.ProbeRefused:
		return probeRefused
	case snapshot.ProbeFiltered, snapshot.ProbeUnreachable:
		return probeSilent
	}
	return probeNone
}

// ProbeJoin is what joining the configuration with a probe concludes.
type ProbeJoin struct {
	// Verdict is the endpoint's verdict: reachable, blocked or unknown.
	Verdict string
	// VantageOnly is set when a probe failed from a vantage point that does
	// not share the gateway's path while the configuration allows: the
	// verdict stays as configured and the report warns that this vantage
	// point cannot connect (GWD201 as a warning), never an error.
	VantageOnly bool
}

// anyVantage and anyConfig are wildcards in probeTable.
const anyVantage Vantage = -1

var anyConfig = secgroup.Verdict(-1)

// probeRow is one line of the decision table: the first row matching the
// configuration's verdict, the probe's class and its vantage decides.
type probeRow struct {
	config  secgroup.Verdict
	probe   probeClass
	vantage Vantage
	join    ProbeJoin
}

// probeTable is the whole decision table (README, "With probes"). Rows are
// tried in order; the last rows of each configuration verdict are its
// fall-backs. Extend it by inserting rows before those fall-backs.
var probeTable = []probeRow{
	// Refused proves the service side from anywhere: nothing listens.
	{anyConfig, probeRefused, anyVantage, ProbeJoin{Verdict: VerdictBlocked}},

	// The gateway's own health check fails the endpoint: the gateway does
	// not send it traffic, whatever the configuration says (allow: blocked
	// by something not modelled, or the app; deny: as configured; unknown:
	// decided by the gateway's own view).
	{anyConfig, healthFailing, VantageGatewayHealthCheck, ProbeJoin{Verdict: VerdictBlocked}},

	// The configuration denies the gateway from some of its addresses
	// (partial): a probe, sent from one place, cannot clear the others, and
	// calling half the traffic failing reachable would be the worst mistake.
	{secgroup.Partial, probeNone, anyVantage, ProbeJoin{Verdict: VerdictBlocked}},
	{secgroup.Partial, probeOpen, anyVantage, ProbeJoin{Verdict: VerdictBlocked}},
	{secgroup.Partial, probeSilent, anyVantage, ProbeJoin{Verdict: VerdictBlocked}},

	// The configuration allows.
	{secgroup.Allow, probeSilent, VantageGatewayPath, ProbeJoin{Verdict: VerdictBlocked}},
	{secgroup.Allow, probeSilent, VantageElsewhere, ProbeJoin{Verdict: VerdictReachable, VantageOnly: true}},
	{secgroup.Allow, probeNone, anyVantage, ProbeJoin{Verdict: VerdictReachable}},
	{secgroup.Allow, probeOpen, anyVantage, ProbeJoin{Verdict: VerdictReachable}},

	// The configuration denies: an open probe contradicts it (stale data,
	// another path, the vantage point), so the verdict is unknown.
	{secgroup.Deny, probeOpen, anyVantage, ProbeJoin{Verdict: VerdictUnknown}},
	{secgroup.Deny, probeNone, anyVantage, ProbeJoin{Verdict: VerdictBlocked}},
	{secgroup.Deny, probeSilent, anyVantage, ProbeJoin{Verdict: VerdictBlocked}},

	// The configuration cannot decide: only the gateway's path decides.
	{anyConfig, probeOpen, VantageGatewayPath, ProbeJoin{Verdict: VerdictReachable}},
	{anyConfig, probeSilent, VantageGatewayPath, ProbeJoin{Verdict: VerdictBlocked}},
	{anyConfig, probeNone, anyVantage, ProbeJoin{Verdict: VerdictUnknown}},
	{anyConfig, probeOpen, anyVantage, ProbeJoin{Verdict: VerdictUnknown}},
	{anyConfig, probeSilent, anyVantage, ProbeJoin{Verdict: VerdictUnknown}},
}

// JoinProbe combines the configuration's decision with a probe by the
// decision table probeTable. Every (configuration, probe class, vantage)
// has a row; a combination without one would be unknown, never reachable.
func JoinProbe(config secgroup.Verdict, p *snapshot.Probe) ProbeJoin {
	class := classOf(p)
	vantage := VantageElsewhere
	if p != nil {
		vantage = VantageOf(p.From)
	}
	return lookup(config, class, vantage)
}

// lookup finds the first row of probeTable for (config, class, vantage).
// Rows for the gateway's path apply to its health check too.
func lookup(config secgroup.Verdict, class probeClass, vantage Vantage) ProbeJoin {
	for _, row := range probeTable {
		if (row.config == anyConfig || row.config == config) && row.probe == class &&
			(row.vantage == anyVantage || row.vantage == vantage ||
				(row.vantage == VantageGatewayPath && vantage.provesGatewayPath())) {
			return row.join
		}
	}
	return ProbeJoin{Verdict: VerdictUnknown}
}

// JoinVerdict is JoinProbe's verdict.
func JoinVerdict(config secgroup.Verdict, p *snapshot.Probe) string {
	return JoinProbe(config, p).Verdict
}
