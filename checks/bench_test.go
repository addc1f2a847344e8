package checks

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// BenchmarkDiagnoseLarge runs the whole diagnosis — view (endpoint → ENI →
// groups → verdict), every check of the catalog, the report — over
// internal/gen's 100,000-endpoint snapshot (5,000 nodes, 1,000 groups,
// 100,000 rules). It reports the peak heap seen during the operations
// (sampled every millisecond, the snapshot included) as peak-heap-MiB, the
// snapshot's own share as snapshot-heap-MiB, CPU time per operation, and the
// findings' count.
//
// GWDOCTOR_BENCH_SNAPSHOT=FILE also writes the snapshot to FILE, for timing
// the CLI end to end (see BENCHMARKS.md).
func BenchmarkDiagnoseLarge(b *testing.B) {
	s := gen.Large(gen.Default())
	if path := os.Getenv("GWDOCTOR_BENCH_SNAPSHOT"); path != "" {
		if err := snapshot.Save(path, s); err != nil {
			b.Fatal(err)
		}
	}
	all := All()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // sample the live heap
		defer close(done)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				metrics.Read(sample)
				if v := sample[0].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc // the snapshot itself, live throughout
	var findings int
	var last *diagnose.Report
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := diagnose.Run(context.Background(), diagnose.NewView(s), all)
		findings = len(r.Findings)
		last = r
		if len(r.CheckErrors) > 0 {
			b.Fatalf("check errors: %+v", r.CheckErrors)
		}
	}
	b.StopTimer()
	// CPU time per operation (user+system, all threads): unlike ns/op it
	// does not grow when other processes compete for the cores.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	close(stop)
	<-done
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base)/(1<<20), "snapshot-heap-MiB")
	// What stays live: the report (findings, endpoint rows) once garbage is gone.
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc-min(base, ms.HeapAlloc))/(1<<20), "report-live-MiB")
	runtime.KeepAlive(last)
	b.ReportMetric(float64(findings), "findings")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkViewLarge is the part of BenchmarkDiagnoseLarge before any check
// runs (diagnose.NewView: resolution and evaluation of every endpoint), so
// the checks' own cost is the difference.
func BenchmarkViewLarge(b *testing.B) {
	s := gen.Large(gen.Default())
	runtime.GC()
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		diagnose.NewView(s)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}
