package probe

import (
	"context"
	"net"
	"testing"
)

// BenchmarkRunLoopback probes 1000 open and 1000 refused loopback ports
// per iteration (scenario c of bench/probe-bench.sh, in process).
func BenchmarkRunLoopback(b *testing.B) {
	var targets []Target
	for range 1000 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		targets = append(targets, Target{"127.0.0.1", ln.Addr().(*net.TCPAddr).Port})
	}
	// Closed ports: the open ones plus one, where nothing listens (checked).
	for _, t := range targets[:1000] {
		targets = append(targets, Target{"127.0.0.1", t.Port + 30000 - 65535*((t.Port+30000)/65536)})
	}
	b.ResetTimer()
	for b.Loop() {
		results := Run(context.Background(), targets, Options{})
		for _, r := range results[:1000] {
			if r.State != StateOpen {
				b.Fatalf("%v: %s", r.Target, r.State)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(targets)), "ns/probe")
}
