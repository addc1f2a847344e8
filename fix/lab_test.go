package fix

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
	"github.com/gwdoctor/gwdoctor/lab"
)

// The plan, applied to a running lab as the cloud would apply it, turns the
// gateway's live probe of the blocked endpoint from filtered to open — and
// leaves every other probe as it was.
func TestPlanOpensTheLabProbe(t *testing.T) {
	testenv.NeedNetns(t)
	ctx := context.Background()
	s := load(t, "missing-authorization")
	l, err := lab.Up(ctx, s, lab.Options{Prober: true, TeardownOnSignal: true, HelperLog: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("tearing the lab down: %v", err)
		}
	})
	var targets []string
	for _, e := range l.Endpoints() {
		targets = append(targets, e.Target())
	}
	probe := func() map[string]string {
		res, err := l.Probe(ctx, targets, 300*time.Millisecond, -1)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range res {
			out[r.Target] = r.State
		}
		return out
	}
	before := probe()
	emulated := l.Snapshot()
	p, err := Build(ctx, emulated, Diagnose(ctx, emulated), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Actions) != 1 || len(p.Actions[0].Unblocks) == 0 {
		t.Fatalf("plan: %+v", p)
	}
	fixed, err := Apply(emulated, p.Actions)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Apply(ctx, fixed); err != nil {
		t.Fatal(err)
	}
	after := probe()
	unblocked := 0
	for target, was := range before {
		now := after[target]
		switch {
		case was == "filtered" && now == "open":
			unblocked++
		case was != now:
			t.Errorf("%s: %s → %s, which the plan did not claim", target, was, now)
		}
	}
	if unblocked != len(p.Actions[0].Unblocks) {
		t.Errorf("%d probes turned filtered → open, the plan claims %d (%v); before %v after %v", unblocked, len(p.Actions[0].Unblocks), p.Actions[0].Unblocks, before, after)
	}
}
