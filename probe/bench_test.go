//go:build unix

package probe

import (
	"context"
	"testing"
)

// BenchmarkRunLoopback probes 1000 open and 1000 refused loopback ports
// per iteration (scenario c of bench/probe-bench.sh, in process).
func BenchmarkRunLoopback(b *testing.B) {
	var targets []Target
	for range 1000 {
		targets = append(targets, Target{"127.0.0.1", listenLoopback(b, "tcp4", "127.0.0.1:0")})
	}
	for range 1000 {
		targets = append(targets, Target{"127.0.0.1", closedPort(b, "tcp4", "127.0.0.1:0")})
	}
	for b.Loop() {
		results := Run(context.Background(), targets, Options{})
		for i, r := range results {
			want := StateOpen
			if i >= 1000 {
				want = StateRefused
			}
			if r.State != want {
				b.Fatalf("%v: %s, want %s", r.Target, r.State, want)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(targets)), "ns/probe")
}
