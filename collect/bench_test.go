package collect

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
)

// BenchmarkLive collects a 1,000-node, 200-group account through the fake
// servers with 20 ms latency on every cloud and Kubernetes call, at several
// concurrency bounds (1 is the sequential baseline).
//
//	go test ./collect -run '^$' -bench Live -benchtime 3x
func BenchmarkLive(b *testing.B) {
	for _, conc := range []int{1, 8, 16} {
		b.Run(fmt.Sprintf("nodes=1000/groups=200/latency=20ms/concurrency=%d", conc), func(b *testing.B) {
			c, k := fakecloud.Generate(1000, 200)
			e := newEnv(b, c, k)
			e.cloud.Latency = 20 * time.Millisecond
			e.kube.Latency = 20 * time.Millisecond
			e.opts.Concurrency = conc
			var st Stats
			b.ResetTimer()
			for range b.N {
				s, stats, err := LiveWithStats(context.Background(), e.opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Nodes) != 1000 || len(s.SecurityGroups) != 201 || len(s.Services[0].Endpoints) != 2000 {
					b.Fatalf("collected %d nodes, %d groups, %d endpoints", len(s.Nodes), len(s.SecurityGroups), len(s.Services[0].Endpoints))
				}
				st = stats
			}
			b.ReportMetric(float64(st.CloudCalls), "cloud-calls/op")
			b.ReportMetric(float64(len(e.kube.Paths()))/float64(b.N), "kube-calls/op")
		})
	}
}
