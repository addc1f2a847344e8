package diff

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// mutated returns a copy of gen.Large(cfg) with a realistic bad day applied:
// an authorization deleted, 1,000 endpoints re-ported, 1,000 not ready, 50
// nodes' primary ENIs losing their first group, a drop rule added.
func mutated(cfg gen.Config) *snapshot.Snapshot {
	s := gen.Large(cfg) // deterministic: a fresh, independent copy
	s.CapturedAt = "2026-11-28T14:00:00Z"
	if len(s.Gateway.Authorizations) > 0 {
		s.Gateway.Authorizations = s.Gateway.Authorizations[1:]
	}
	n := 0
	for i := range s.Services {
		for j := range s.Services[i].Endpoints {
			ep := &s.Services[i].Endpoints[j]
			switch {
			case n%100 == 0:
				ep.Port++
			case n%100 == 1:
				f := false
				ep.Ready = &f
			}
			n++
		}
	}
	for i := 0; i < len(s.Nodes) && i < 50; i++ {
		if eni := diagnose.PrimaryENI(&s.Nodes[i]); eni != nil && len(eni.SecurityGroupIDs) > 1 {
			eni.SecurityGroupIDs = eni.SecurityGroupIDs[1:]
		}
	}
	g := &s.SecurityGroups[1]
	g.Rules = append(g.Rules, snapshot.Rule{ID: "sgr-bench-drop", Direction: snapshot.DirectionIngress, Policy: snapshot.PolicyDrop,
		Priority: 1, Protocol: snapshot.ProtocolTCP, PortRange: "8080/8080", SourceCidr: "0.0.0.0/0"})
	return s
}

// BenchmarkCompareLarge diffs gen.Default() (100,000 endpoints, 100,000
// rules) against its mutated copy. compare is the whole command's work
// (two views, two catalog runs, detection, linking); detect-link is the
// diff's own part over prebuilt reports; diagnose-twice is the floor: the
// two diagnoses the diff needs anyway.
func BenchmarkCompareLarge(b *testing.B) {
	cfg := gen.Default()
	if testing.Short() {
		cfg = gen.Config{Endpoints: 10_000, Nodes: 500, Groups: 100, Rules: 10_000, Services: 30, Seed: 1}
	}
	base, cur := gen.Large(cfg), mutated(cfg)
	ctx := context.Background()
	catalog := checks.All()
	b.Run("compare", func(b *testing.B) {
		start := cpuTime()
		defer reportCPU(b, start)
		for b.Loop() {
			res := Compare(ctx, base, cur, Options{Checks: catalog})
			if res.Result != ResultBroken {
				b.Fatalf("result %s", res.Result)
			}
		}
	})
	b.Run("diagnose-twice", func(b *testing.B) {
		start := cpuTime()
		defer reportCPU(b, start)
		for b.Loop() {
			diagnose.Run(ctx, diagnose.NewView(base), catalog)
			diagnose.Run(ctx, diagnose.NewView(cur), catalog)
		}
	})
	bv, cv := diagnose.NewView(base), diagnose.NewView(cur)
	br, cr := diagnose.Run(ctx, bv, catalog), diagnose.Run(ctx, cv, catalog)
	cr.CompareBaseline(br, nil, catalog)
	b.Run("detect-link", func(b *testing.B) {
		start := cpuTime()
		defer reportCPU(b, start)
		for b.Loop() {
			c := newComparer(bv, cv, br, cr)
			c.detect()
			res := c.link()
			if len(res.Changes) == 0 {
				b.Fatal("no changes")
			}
		}
	})
	res := Compare(ctx, base, cur, Options{Checks: catalog})
	b.Logf("%d changes, %d endpoint deltas (%d regressions), %d finding deltas, %d ignored",
		len(res.Changes), len(res.Endpoints), res.Summary.Regressions, len(res.Findings), res.Summary.Ignored)
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ms/op: steadier than wall time on a shared machine.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
