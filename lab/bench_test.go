package lab

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// BenchmarkUpClose is a whole lab built and torn down (3 nodes, 1 gateway):
// what a scenario costs when every scenario gets its own lab.
func BenchmarkUpClose(b *testing.B) {
	testenv.NeedNetns(b)
	s := handSnapshot()
	for b.Loop() {
		l, err := Up(context.Background(), s, Options{Prober: true, TeardownOnSignal: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply is one new set of security groups loaded into a running
// lab: what the differential test pays per scenario besides probing.
func BenchmarkApply(b *testing.B) {
	l, scenarios := benchLab(b)
	k := 0
	for b.Loop() {
		if err := l.Apply(context.Background(), scenarios[k%len(scenarios)]); err != nil {
			b.Fatal(err)
		}
		k++
	}
}

// BenchmarkScenario is one differential scenario: load its groups, evaluate
// every endpoint, probe them all from the gateway, compare.
func BenchmarkScenario(b *testing.B) {
	l, scenarios := benchLab(b)
	k := 0
	for b.Loop() {
		if err := l.Apply(context.Background(), scenarios[k%len(scenarios)]); err != nil {
			b.Fatal(err)
		}
		if c := compareLab(b, l); len(c.disagreements) > 0 {
			b.Fatalf("disagreement: %v", c.disagreements)
		}
		k++
	}
}

// benchLab is a running lab and 16 generated scenarios on its topology, the
// first loaded; the lab is closed when the benchmark ends.
func benchLab(b *testing.B) (*Lab, []*snapshot.Snapshot) {
	testenv.NeedNetns(b)
	topo := genTopology(rand.New(rand.NewPCG(1, 0)), 0)
	scenarios := make([]*snapshot.Snapshot, 16)
	for k := range scenarios {
		scenarios[k] = genScenario(rand.New(rand.NewPCG(1, uint64(k))), topo)
	}
	l, err := Up(context.Background(), scenarios[0], Options{Prober: true, TeardownOnSignal: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l, scenarios
}
