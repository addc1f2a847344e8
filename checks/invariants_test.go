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
			if f.Affected != nil && (f.Affected.Count < len(f.Affected.Endpoints) || len(f.Affected.Endpoints) > diagnose.MaxListed) {
				t.Errorf("seed %d: %s affected %+v: count below the listed, or more listed than %d", seed, f.ID, f.Affected, diagnose.MaxListed)
			}
		}
		// Each blocked endpoint's row points at exactly one root-cause error.
		byID := map[string]*diagnose.Finding{}
		for i := range r.Findings {
			byID[r.Findings[i].ID] = &r.Findings[i]
		}
		linked := map[string]int{}
		for _, row := range r.Endpoints {
			for _, id := range row.FindingIDs {
				f := byID[id]
				if f == nil {
					t.Fatalf("seed %d: %s %s:%d points at finding %q, not in the report", seed, row.Service, row.IP, row.Port, id)
				}
				linked[id]++
				if slices.Contains(causeCodes, f.Code) && f.Level() == diagnose.Error {
					label := row.Service + " " + diagnose.JoinHostPort(row.IP, row.Port)
					explained[label]++
					why[label] = append(why[label], f.Code)
				}
			}
		}
		for _, f := range r.Findings {
			if f.Affected != nil && linked[f.ID] != f.Affected.Count {
				t.Errorf("seed %d: %s counts %d affected endpoints, %d rows point at it", seed, f.ID, f.Affected.Count, linked[f.ID])
			}
		}
		for _, ep := range v.Endpoints {
			if ep.Verdict == diagnose.VerdictBlocked && explained[ep.Label()] != 1 {
				t.Errorf("seed %d: blocked %s explained by %d causes %v, want 1 (ready %v, probe %v)", seed, ep.Label(), explained[ep.Label()], why[ep.Label()], ep.Endpoint.IsReady(), ep.Probe)
			}
		}
	}
}
