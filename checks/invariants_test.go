package checks

import (
	"context"
	"slices"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// causeCodes explain why an endpoint is blocked.
var causeCodes = []string{
	diagnose.CodeMissingAuthorization, diagnose.CodeWrongNode, diagnose.CodeMultipleGroups, diagnose.CodePortChanged,
	diagnose.CodeServiceDown, diagnose.CodeGroupTypeMismatch, diagnose.CodeDenyRuleShadows, diagnose.CodeVPCMismatch,
	diagnose.CodeAuthorizationSync, diagnose.CodeTrafficFiltered, diagnose.CodeGatewayEgress, diagnose.CodeZonePartial,
}

// TestInvariantsOnGeneratedSnapshots runs the catalog over many generated
// snapshots (every rule mix the generator knows) and checks what must hold
// whatever the data: no check fails or reports an undeclared code or
// severity, every blocked endpoint is explained by exactly one root cause,
// every finding has a message, evidence and subjects, and findings that name
// an endpoint name its service.
func TestInvariantsOnGeneratedSnapshots(t *testing.T) {
	for seed := int64(1); seed <= 12; seed++ {
		s := gen.Large(gen.Config{Endpoints: 600, Nodes: 40, Groups: 30, Rules: 900, Services: 12, Seed: seed})
		if seed%2 == 1 { // probes of every kind, from both vantage points
			states := []string{snapshot.ProbeOpen, snapshot.ProbeRefused, snapshot.ProbeFiltered, snapshot.ProbeUnreachable, snapshot.ProbeOpen, snapshot.ProbeError}
			i := 0
			for _, svc := range s.Services {
				for _, ep := range svc.Endpoints {
					from := diagnose.ProbeFromGateway
					if i%3 == 0 {
						from = "operator"
					}
					s.Probes = append(s.Probes, snapshot.Probe{Target: diagnose.JoinHostPort(ep.IP, ep.Port), State: states[i%len(states)], From: from})
					i++
				}
			}
		}
		v := diagnose.NewView(s)
		r := diagnose.Run(context.Background(), v, All())
		if len(r.CheckErrors) > 0 {
			t.Fatalf("seed %d: check errors %+v", seed, r.CheckErrors)
		}
		explained := map[string]int{}
		why := map[string][]string{}
		for _, f := range r.Findings {
			if f.Message == "" || len(f.Evidence) == 0 || len(f.Subjects) == 0 {
				t.Errorf("seed %d: %s finding without message, evidence or subjects: %+v", seed, f.Code, f)
			}
			if f.Code != diagnose.CodeCheckSkipped && len(f.Remediation.Steps) == 0 {
				t.Errorf("seed %d: %s finding without a fix: %s", seed, f.Code, f.Message)
			}
			if slices.Contains(causeCodes, f.Code) && f.Level() == diagnose.Error {
				for _, s := range f.Subjects {
					explained[s]++
					why[s] = append(why[s], f.Code)
				}
			}
		}
		for _, ep := range v.Endpoints {
			if ep.Verdict == diagnose.VerdictBlocked && explained[ep.Label()] != 1 {
				t.Errorf("seed %d: blocked %s explained by %d causes %v, want 1 (ready %v, probe %v)", seed, ep.Label(), explained[ep.Label()], why[ep.Label()], ep.Endpoint.IsReady(), ep.Probe)
			}
		}
	}
}
