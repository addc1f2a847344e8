package diagnose

import (
	"testing"

	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// TestJoinProbeStatesTheDesign walks every (configuration, probe state,
// vantage) and checks the joined verdict against DESIGN.md's probe
// semantics, stated here independently of probeTable: refused blocks from
// anywhere; a silent probe blocks only from the gateway's path; from
// elsewhere an allow stays reachable with a vantage warning; an open probe
// against a deny is contradictory (unknown); an unknown configuration is
// decided only by the gateway's path.
func TestJoinProbeStatesTheDesign(t *testing.T) {
	configs := []secgroup.Verdict{secgroup.Allow, secgroup.Deny, secgroup.Unknown, secgroup.Partial}
	states := []string{"", snapshot.ProbeOpen, snapshot.ProbeRefused, snapshot.ProbeFiltered, snapshot.ProbeUnreachable, snapshot.ProbeError}
	froms := []string{ProbeFromGateway, "operator", "", "backend-group"}
	for _, config := range configs {
		for _, state := range states {
			for _, from := range froms {
				var p *snapshot.Probe
				if state != "" {
					p = &snapshot.Probe{State: state, From: from}
				}
				gwPath := from == ProbeFromGateway
				silent := state == snapshot.ProbeFiltered || state == snapshot.ProbeUnreachable
				want, wantWarn := "", false
				switch {
				case state == snapshot.ProbeRefused:
					want = VerdictBlocked
				case config == secgroup.Partial:
					// Denied from some gateway addresses: no single probe clears them.
					want = VerdictBlocked
				case config == secgroup.Allow && silent && !gwPath:
					want, wantWarn = VerdictReachable, true
				case config == secgroup.Allow && silent:
					want = VerdictBlocked
				case config == secgroup.Allow:
					want = VerdictReachable
				case config == secgroup.Deny && state == snapshot.ProbeOpen:
					want = VerdictUnknown
				case config == secgroup.Deny:
					want = VerdictBlocked
				case gwPath && state == snapshot.ProbeOpen:
					want = VerdictReachable
				case gwPath && silent:
					want = VerdictBlocked
				default:
					want = VerdictUnknown
				}
				got := JoinProbe(config, p)
				if got.Verdict != want || got.VantageOnly != wantWarn {
					t.Errorf("JoinProbe(%s, %q from %q) = %+v, want verdict %s, vantage warning %v", config, state, from, got, want, wantWarn)
				}
			}
		}
	}
}

// TestProbeTableIsComplete checks that every combination has a row of its
// own, so the fall-back of JoinProbe (unknown) is never what decides.
func TestProbeTableIsComplete(t *testing.T) {
	for _, config := range []secgroup.Verdict{secgroup.Allow, secgroup.Deny, secgroup.Unknown, secgroup.Partial} {
		for class := probeNone; class <= probeSilent; class++ {
			for _, vantage := range []Vantage{VantageElsewhere, VantageGatewayPath} {
				found := false
				for _, row := range probeTable {
					if (row.config == anyConfig || row.config == config) && row.probe == class && (row.vantage == anyVantage || row.vantage == vantage) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("no row for configuration %s, probe class %d, vantage %s", config, class, vantage)
				}
			}
		}
	}
}
