package diagnose

import (
	"strconv"
	"testing"

	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func TestEndpointHealth(t *testing.T) {
	on, off := true, false
	const me = "10.0.0.1:8080"
	for _, tc := range []struct {
		name     string
		h        *snapshot.HealthCheck
		notReady bool
		want     string
	}{
		{"not read", nil, false, ""},
		{"off", &snapshot.HealthCheck{Enabled: &off, Status: "unhealthy", UnhealthyEndpoints: []string{me}}, false, HealthOff},
		{"on unstated", &snapshot.HealthCheck{Status: "healthy"}, false, HealthUndecided},
		{"listed", &snapshot.HealthCheck{Enabled: &on, Status: "unhealthy", UnhealthyEndpoints: []string{"10.0.0.2:8080", me}}, false, HealthFailing},
		{"listed, status unknown", &snapshot.HealthCheck{Enabled: &on, Status: "unknown", UnhealthyEndpoints: []string{me}}, false, HealthFailing},
		{"healthy", &snapshot.HealthCheck{Enabled: &on, Status: "healthy"}, false, HealthPassing},
		{"others listed", &snapshot.HealthCheck{Enabled: &on, Status: "unhealthy", UnhealthyEndpoints: []string{"10.0.0.1:8081"}}, false, HealthPassing},
		{"unhealthy, none named", &snapshot.HealthCheck{Enabled: &on, Status: "unhealthy"}, false, HealthUndecided},
		{"status unknown, others listed", &snapshot.HealthCheck{Enabled: &on, Status: "unknown", UnhealthyEndpoints: []string{"10.0.0.2:8080"}}, false, HealthUndecided},
		{"not ready, unlisted", &snapshot.HealthCheck{Enabled: &on, Status: "healthy"}, true, HealthUndecided},
		{"not ready, listed", &snapshot.HealthCheck{Enabled: &on, Status: "unhealthy", UnhealthyEndpoints: []string{me}}, true, HealthFailing},
	} {
		got := EndpointHealth(tc.h, me, !tc.notReady)
		if got.State != tc.want {
			t.Errorf("%s: state %q, want %q", tc.name, got.State, tc.want)
		}
		if !got.Proves() && got.Why == "" {
			t.Errorf("%s: no evidence and no reason given", tc.name)
		}
	}
}

// TestJoinEvidenceStatesTheIssue walks every configuration, probe and health
// state and checks the verdict against the rules of issue 14 and DESIGN.md,
// stated independently of probeTable: a failing gateway health check blocks
// (allow: something unmodelled or the app; unknown: decided by it), unless
// a refused probe already proves the service side; a passing one makes a
// deny contradictory (unknown) and decides an unknown configuration, unless
// a probe from the gateway's path decides; no evidence leaves JoinProbe's
// verdict.
func TestJoinEvidenceStatesTheIssue(t *testing.T) {
	configs := []secgroup.Verdict{secgroup.Allow, secgroup.Deny, secgroup.Unknown}
	states := []string{"", snapshot.ProbeOpen, snapshot.ProbeRefused, snapshot.ProbeFiltered, snapshot.ProbeError}
	froms := []string{ProbeFromGateway, "operator"}
	healths := []string{"", HealthOff, HealthUndecided, HealthPassing, HealthFailing}
	for _, config := range configs {
		for _, state := range states {
			for _, from := range froms {
				for _, health := range healths {
					var p *snapshot.Probe
					if state != "" {
						p = &snapshot.Probe{State: state, From: from}
					}
					gwProbe := p != nil && from == ProbeFromGateway && (state == snapshot.ProbeOpen || state == snapshot.ProbeFiltered)
					probeOnly := JoinProbe(config, p)
					want, healthDecides := probeOnly.Verdict, false
					switch {
					case state == snapshot.ProbeRefused:
					case health == HealthFailing:
						want, healthDecides = VerdictBlocked, true
					case gwProbe:
					case health == HealthPassing && config == secgroup.Deny:
						want, healthDecides = VerdictUnknown, true
					case health == HealthPassing:
						want, healthDecides = VerdictReachable, true
					}
					// Reported as decided by the health check only when it
					// changed what the configuration and probe would say.
					byHealth := healthDecides && want != probeOnly.Verdict
					got := JoinEvidence(config, p, HealthEvidence{State: health})
					if got.Verdict != want || got.ByHealthCheck != byHealth {
						t.Errorf("JoinEvidence(%s, %q from %q, health %q) = %+v, want %s (by health check: %v)", config, state, from, health, got, want, byHealth)
					}
					if healthDecides && got.VantageOnly {
						t.Errorf("JoinEvidence(%s, %q from %q, health %q): a vantage warning although the gateway's own check decided", config, state, from, health)
					}
				}
			}
		}
	}
}

// The indexed lookup NewView uses for long lists agrees with the scan.
func TestEndpointHealthIndexAgreesWithScan(t *testing.T) {
	on := true
	h := &snapshot.HealthCheck{Enabled: &on, Status: snapshot.HealthUnhealthy}
	for i := range 40 {
		h.UnhealthyEndpoints = append(h.UnhealthyEndpoints, JoinHostPort("10.0.0."+strconv.Itoa(i), 8080))
	}
	v := &View{}
	set := v.failingSet(h)
	if len(set) != 40 || v.failingSet(h)["10.0.0.3:8080"] != true {
		t.Fatalf("index %v", set)
	}
	for i := range 80 {
		for _, ready := range []bool{true, false} {
			target := JoinHostPort("10.0.0."+strconv.Itoa(i), 8080)
			if a, b := EndpointHealth(h, target, ready), endpointHealth(h, set, target, ready); a != b {
				t.Errorf("%s ready %v: scan %+v, index %+v", target, ready, a, b)
			}
		}
	}
}
