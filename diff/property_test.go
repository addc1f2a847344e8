package diff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// mutations are single changes an operator (or the cloud) makes; each
// returns a description for failure messages.
var mutations = []func(r *rand.Rand, s *snapshot.Snapshot) string{
	func(r *rand.Rand, s *snapshot.Snapshot) string {
		as := s.Gateway.Authorizations
		if len(as) == 0 {
			return "no authorization to delete"
		}
		i := r.IntN(len(as))
		s.Gateway.Authorizations = slices.Delete(slices.Clone(as), i, i+1)
		return "delete authorization " + as[i].ID
	},
	func(r *rand.Rand, s *snapshot.Snapshot) string {
		ep := randomEndpoint(r, s)
		ep.Port = 1 + (ep.Port+r.IntN(100))%65535
		return fmt.Sprintf("re-port %s to %d", ep.IP, ep.Port)
	},
	func(r *rand.Rand, s *snapshot.Snapshot) string {
		ep := randomEndpoint(r, s)
		f := false
		ep.Ready = &f
		return "unready " + ep.IP
	},
	func(r *rand.Rand, s *snapshot.Snapshot) string {
		n := &s.Nodes[r.IntN(len(s.Nodes))]
		eni := &n.ENIs[r.IntN(len(n.ENIs))]
		if len(eni.SecurityGroupIDs) < 2 {
			return "nothing to detach"
		}
		eni.SecurityGroupIDs = slices.Clone(eni.SecurityGroupIDs[1:])
		return "detach a group from " + eni.ID
	},
	func(r *rand.Rand, s *snapshot.Snapshot) string {
		g := &s.SecurityGroups[1+r.IntN(len(s.SecurityGroups)-1)]
		ep := randomEndpoint(r, s)
		g.Rules = append(slices.Clone(g.Rules), snapshot.Rule{ID: "sgr-prop-drop", Direction: snapshot.DirectionIngress, Policy: snapshot.PolicyDrop,
			Priority: 1, Protocol: snapshot.ProtocolTCP, PortRange: fmt.Sprintf("%d/%d", ep.Port, ep.Port), SourceCidr: "0.0.0.0/0"})
		return fmt.Sprintf("drop %d in %s", ep.Port, g.ID)
	},
	func(r *rand.Rand, s *snapshot.Snapshot) string {
		g := &s.SecurityGroups[1+r.IntN(len(s.SecurityGroups)-1)]
		if len(g.Rules) == 0 {
			return "no rule to delete"
		}
		i := r.IntN(len(g.Rules))
		g.Rules = slices.Delete(slices.Clone(g.Rules), i, i+1)
		return "delete a rule of " + g.ID
	},
	func(r *rand.Rand, s *snapshot.Snapshot) string {
		g := &s.SecurityGroups[r.IntN(len(s.SecurityGroups))]
		if g.Type == snapshot.GroupTypeEnterprise {
			return "enterprise group: no inner policy"
		}
		g.InnerAccessPolicy = map[string]string{snapshot.PolicyDrop: snapshot.PolicyAccept}[g.InnerAccessPolicy]
		if g.InnerAccessPolicy == "" {
			g.InnerAccessPolicy = snapshot.PolicyDrop
		}
		return "flip innerAccessPolicy of " + g.ID
	},
}

func randomEndpoint(r *rand.Rand, s *snapshot.Snapshot) *snapshot.Endpoint {
	for {
		svc := &s.Services[r.IntN(len(s.Services))]
		if len(svc.Endpoints) > 0 {
			svc.Endpoints = slices.Clone(svc.Endpoints)
			return &svc.Endpoints[r.IntN(len(svc.Endpoints))]
		}
	}
}

// Over generated snapshots and random single changes: a snapshot compared
// with an identical copy is unchanged; every endpoint that stopped serving
// has a cause, and that cause lists it; the reversed comparison recovers
// exactly the paired endpoints the forward one broke.
func TestPropertiesOverGeneratedSnapshots(t *testing.T) {
	cfg := gen.Config{Endpoints: 400, Nodes: 40, Groups: 12, Rules: 300, Services: 12}
	ctx := context.Background()
	totalBroke := 0
	for seed := int64(1); seed <= 4; seed++ {
		cfg.Seed = seed
		base := gen.Large(cfg)
		if res := Compare(ctx, base, gen.Large(cfg), Options{Checks: testCatalog()}); res.Result != ResultUnchanged || len(res.Ignored) != 0 {
			t.Fatalf("seed %d: identical snapshots: %s, %d changes, ignored %v", seed, res.Result, len(res.Changes), res.Ignored)
		}
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		for m := range 12 {
			cur := gen.Large(cfg)
			what := mutations[r.IntN(len(mutations))](r, cur)
			if err := cur.Validate(); err != nil {
				t.Fatalf("seed %d %s: invalid mutation: %v", seed, what, err)
			}
			fwd := Compare(ctx, base, cur, Options{Checks: testCatalog()})
			rev := Compare(ctx, cur, base, Options{Checks: testCatalog()})
			byID := map[string]*Change{}
			for i := range fwd.Changes {
				byID[fwd.Changes[i].ID] = &fwd.Changes[i]
			}
			broke := map[string]bool{}
			for _, d := range fwd.Endpoints {
				if d.Change != DeltaRegressed {
					continue
				}
				if d.Before != diagnose.StateAbsent && d.After != diagnose.StateAbsent {
					broke[d.Label()] = true
				}
				if len(d.Causes) == 0 {
					t.Errorf("seed %d mutation %d (%s): %s regressed without a cause", seed, m, what, d.Label())
					continue
				}
				if c := byID[d.Causes[0]]; !slices.Contains(c.Endpoints, d.Label()) || !c.Breaking {
					t.Errorf("seed %d (%s): cause %s of %s does not list it", seed, what, c.ID, d.Label())
				}
			}
			recovered := map[string]bool{}
			for _, d := range rev.Endpoints {
				if d.Change == DeltaRecovered && d.Before != diagnose.StateAbsent && d.After != diagnose.StateAbsent {
					recovered[d.Label()] = true
				}
			}
			// Labels carry the current side's ip:port; a re-ported endpoint's
			// label differs between directions, so compare counts.
			if len(broke) != len(recovered) {
				t.Errorf("seed %d (%s): forward broke %d endpoints, reverse recovered %d", seed, what, len(broke), len(recovered))
			}
			totalBroke += len(broke)
			if len(broke) > 0 && fwd.ExitCode() == 0 {
				t.Errorf("seed %d (%s): endpoints broke but exit 0", seed, what)
			}
		}
	}
	if totalBroke == 0 {
		t.Error("no mutation broke an endpoint: the properties were not exercised")
	}
	t.Logf("%d endpoint regressions checked", totalBroke)
}
