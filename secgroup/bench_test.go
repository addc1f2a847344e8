package secgroup

import (
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// resolveQueries turns every endpoint into a Query: the ENI holding the
// endpoint IP, else the primary ENI of the endpoint's node (Flannel), as
// DESIGN.md resolves them. Unresolved endpoints get no groups (unknown).
func resolveQueries(s *snapshot.Snapshot) []Query {
	byIP := make(map[string]*snapshot.ENI, len(s.Nodes)*2)
	byNode := make(map[string]*snapshot.ENI, len(s.Nodes)*2)
	for i := range s.Nodes {
		n := &s.Nodes[i]
		for j := range n.ENIs {
			e := &n.ENIs[j]
			for _, ip := range e.IPs {
				byIP[ip] = e
			}
			if e.Primary {
				byNode[n.Name], byNode[n.InstanceID] = e, e
			}
		}
	}
	var qs []Query
	for si := range s.Services {
		for _, ep := range s.Services[si].Endpoints {
			q := Query{Protocol: snapshot.ProtocolTCP, Port: ep.Port}
			q.Dest, _ = netip.ParseAddr(ep.IP)
			eni := byIP[ep.IP]
			if eni == nil {
				eni = byNode[ep.Node]
			}
			if eni != nil {
				q.GroupIDs = eni.SecurityGroupIDs
			}
			qs = append(qs, q)
		}
	}
	return qs
}

var largeOnce = sync.OnceValue(func() *snapshot.Snapshot { return gen.Large(gen.Default()) })

func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// BenchmarkEvaluateLarge evaluates every endpoint of gen.Default()
// (100,000 endpoints, 5,000 nodes, 1,000 groups, 100,000 rules):
//
//	all:            New + resolve every endpoint's ENI (IP map) + Evaluate all
//	all-parallel:   the same with Evaluate split over two goroutines
//	scan-every-rule: the peer: New + resolve + scan all merged rules per endpoint
//	new:            New alone (compiling 100,000 rules)
//	evaluate-cold:  Evaluate all on a fresh evaluator (New not timed)
//	evaluate-warm:  Evaluate all on an evaluator whose cache is filled
//	explain-1000:   Explain for 1,000 endpoints (findings' evidence)
//
// Metrics: ns/endpoint; cpu-ms/op is process CPU (user+system, GC included)
// per op, steadier than wall time on a shared machine; heap-MiB is the live heap holding the snapshot, the
// evaluator and its filled cache (after a GC); eval-heap-MiB is the
// evaluator's share of it.
func BenchmarkEvaluateLarge(b *testing.B) {
	s := largeOnce()
	base := heapMiB()
	qs := resolveQueries(s)
	n := float64(len(qs))
	perEndpoint := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/endpoint")
	}
	// cpu reports process CPU per op (GC included), from the start mark.
	cpu := func(b *testing.B, start time.Duration) {
		b.ReportMetric(float64(processCPU()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}

	b.Run("all", func(b *testing.B) {
		start := processCPU()
		b.ReportAllocs()
		var e *Evaluator
		var verdicts [4]int
		for b.Loop() {
			e = New(s)
			verdicts = [4]int{}
			for _, q := range resolveQueries(s) {
				verdicts[e.Evaluate(q).Verdict]++
			}
		}
		perEndpoint(b)
		cpu(b, start)
		live := heapMiB()
		b.ReportMetric(live, "heap-MiB")
		b.ReportMetric(live-base, "eval-heap-MiB")
		runtime.KeepAlive(e)
		b.Logf("%d endpoints: %d allow, %d deny, %d unknown; %d group sets", len(qs), verdicts[Allow], verdicts[Deny], verdicts[Unknown], len(e.frozen)+len(e.sets))
	})

	b.Run("all-parallel", func(b *testing.B) {
		start := processCPU()
		b.ReportAllocs()
		for b.Loop() {
			e := New(s)
			qs := resolveQueries(s)
			var wg sync.WaitGroup
			for half := range 2 {
				wg.Go(func() {
					for _, q := range qs[half*len(qs)/2 : (half+1)*len(qs)/2] {
						e.Evaluate(q)
					}
				})
			}
			wg.Wait()
		}
		perEndpoint(b)
		cpu(b, start)
	})

	// The approach the memo avoids, as the peer for BENCHMARKS.md: scan every
	// merged rule of the ENI for every endpoint (same New, same set merge).
	b.Run("scan-every-rule", func(b *testing.B) {
		start := processCPU()
		b.ReportAllocs()
		for b.Loop() {
			e := New(s)
			for _, q := range resolveQueries(s) {
				gs := e.lookupSet(q.GroupIDs)
				f := flowOf(q)
				scan(gs.rules, true, true, func(_ int, r *compiledRule) Match { return r.matchIngress(protoTCP, "TCP", q.Port, &f) })
			}
		}
		perEndpoint(b)
		cpu(b, start)
	})

	b.Run("new", func(b *testing.B) {
		start := processCPU()
		b.ReportAllocs()
		for b.Loop() {
			New(s)
		}
		cpu(b, start)
	})

	b.Run("evaluate-cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			e := New(s)
			b.StartTimer()
			for _, q := range qs {
				e.Evaluate(q)
			}
		}
		perEndpoint(b)
	})

	b.Run("evaluate-warm", func(b *testing.B) {
		e := New(s)
		for _, q := range qs {
			e.Evaluate(q)
		}
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			for _, q := range qs {
				e.Evaluate(q)
			}
		}
		perEndpoint(b)
		cpu(b, start)
	})

	b.Run("explain-1000", func(b *testing.B) {
		e := New(s)
		b.ReportAllocs()
		start := processCPU()
		for b.Loop() {
			for _, q := range qs[:1000] {
				e.Explain(q)
			}
		}
		cpu(b, start)
	})
}

// TestLargeVerdictMix guards the benchmark's meaning: the generated snapshot
// must give a mix of verdicts, and Evaluate must agree with Explain on it.
func TestLargeVerdictMix(t *testing.T) {
	s := gen.Large(gen.Config{Endpoints: 20_000, Nodes: 1_000, Groups: 200, Rules: 20_000, Services: 60, Seed: 5})
	e := New(s)
	var verdicts [4]int
	for i, q := range resolveQueries(s) {
		d := e.Evaluate(q)
		verdicts[d.Verdict]++
		if i%97 == 0 {
			if x := e.Explain(q); comparable(x.Decision) != comparable(d) {
				t.Fatalf("endpoint %d: Explain %s, Evaluate %s", i, comparable(x.Decision), comparable(d))
			}
		}
	}
	// The generator's partial CIDRs are decided per piece now: partial, not
	// unknown, is what they give.
	for _, v := range []Verdict{Allow, Deny, Partial} {
		if c := verdicts[v]; c < 200 {
			t.Errorf("only %d %v verdicts of 20,000: %v", c, Verdict(v), verdicts)
		}
	}
}
