package fix

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/gen"
)

// cpuTime is the process's user+system CPU time: on the shared machines
// the steadier number beside wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBuildLarge plans the fix for the issue-2 benchmark estate
// (internal/gen's default: 100,000 endpoints): the plan and its simulation
// (the snapshot copied, changed, validated and diagnosed again). The
// diagnosis it starts from is not included: BenchmarkDiagnoseLarge is that.
func BenchmarkBuildLarge(b *testing.B) {
	s := gen.Large(gen.Default())
	ctx := context.Background()
	r := Diagnose(ctx, s)
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		p, err := Build(ctx, s, r, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(p.Actions)), "actions")
		b.ReportMetric(float64(len(p.Targets)), "targets")
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkDiagnoseLarge is one diagnosis of the same estate, the peer.
func BenchmarkDiagnoseLarge(b *testing.B) {
	s := gen.Large(gen.Default())
	ctx := context.Background()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		Diagnose(ctx, s)
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}
