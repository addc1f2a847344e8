package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gwdoctor/gwdoctor/collect"
	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func demoSnapshot(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.Load(filepath.Join("..", "internal", "demo", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// runUntil runs the server until stop says so (checked after every
// collection), then cancels it and waits for it to return.
func runUntil(t *testing.T, s *Server, progressed <-chan struct{}, stop func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	giveUp := time.After(time.Minute) // a hung scheduler, not a slow one
	for !stop() {
		select {
		case <-progressed:
		case <-giveUp:
			cancel()
			<-done
			t.Fatal("the server stopped making progress")
		}
	}
	cancel()
	<-done
}

// Collections of one gateway never overlap, at most Concurrency run at
// once, and every gateway keeps running, even when collections take longer
// than the interval.
func TestSchedulingBoundsAndNoOverlap(t *testing.T) {
	snap := demoSnapshot(t)
	var mu sync.Mutex
	inFlight, runs := map[string]int{}, map[string]int{}
	total, maxTotal, overlaps := 0, 0, 0
	progressed := make(chan struct{}, 100)
	collectFn := func(ctx context.Context, id string) (*snapshot.Snapshot, error) {
		mu.Lock()
		inFlight[id]++
		total++
		if inFlight[id] > 1 {
			overlaps++
		}
		maxTotal = max(maxTotal, total)
		mu.Unlock()
		select {
		case <-time.After(15 * time.Millisecond): // longer than the interval
		case <-ctx.Done():
		}
		mu.Lock()
		inFlight[id]--
		total--
		runs[id]++
		mu.Unlock()
		select {
		case progressed <- struct{}{}:
		default:
		}
		return snap, nil
	}
	ids := []string{"gw-a", "gw-b", "gw-c", "gw-d", "gw-e"}
	s, err := New(Config{Gateways: ids, Collect: collectFn, Interval: 5 * time.Millisecond, Concurrency: 2, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, s, progressed, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if runs[id] < 3 {
				return false
			}
		}
		return true
	})
	if overlaps > 0 {
		t.Errorf("%d collections overlapped another of the same gateway", overlaps)
	}
	if maxTotal > 2 {
		t.Errorf("%d collections at once, want at most --concurrency 2", maxTotal)
	}
}

// A gateway whose collection fails, partially fails, or panics never stops
// the others; its failures are counted by part and action and its up gauge is 0.
func TestFailingGatewayDoesNotStopOthers(t *testing.T) {
	snap := demoSnapshot(t)
	var mu sync.Mutex
	runs := map[string]int{}
	progressed := make(chan struct{}, 100)
	denied := &aliyun.APIError{Action: aliyun.ActionDescribeSecurityGroupAttribute, Code: "Forbidden.RAM", HTTPStatus: 403}
	collectFn := func(_ context.Context, id string) (*snapshot.Snapshot, error) {
		defer func() {
			mu.Lock()
			runs[id]++
			mu.Unlock()
			select {
			case progressed <- struct{}{}:
			default:
			}
		}()
		switch id {
		case "gw-down":
			return nil, errors.New("no credentials")
		case "gw-panics":
			panic("a bug")
		case "gw-partial":
			return snap, multierror.Append(nil, &collect.PartError{Part: snapshot.PartRules, IDs: []string{"sg-1"}, Action: denied.Action, Err: denied})
		}
		return snap, nil
	}
	ids := []string{"gw-down", "gw-ok", "gw-panics", "gw-partial"}
	s, err := New(Config{Gateways: ids, Collect: collectFn, Interval: 5 * time.Millisecond, Concurrency: 4, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, s, progressed, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if runs[id] < 3 {
				return false
			}
		}
		return true
	})
	m := s.metrics
	for id, want := range map[string]float64{"gw-ok": 1, "gw-down": 0, "gw-panics": 0, "gw-partial": 0} {
		if got := upOf(t, s, id); got != want {
			t.Errorf("gwdoctor_up{%s} = %v, want %v", id, got, want)
		}
	}
	if n := testutil.ToFloat64(m.errors.WithLabelValues("gw-partial", snapshot.PartRules, aliyun.ActionDescribeSecurityGroupAttribute)); n < 3 {
		t.Errorf("partial gateway's errors by part/action = %v, want ≥ 3", n)
	}
	if n := testutil.ToFloat64(m.runs.WithLabelValues("gw-down", "failed")); n < 3 {
		t.Errorf("failed runs of gw-down = %v", n)
	}
	if n := testutil.ToFloat64(m.runs.WithLabelValues("gw-panics", "failed")); n < 3 {
		t.Errorf("failed runs of gw-panics = %v", n)
	}
	if ok, why := s.Ready(); !ok {
		t.Errorf("not ready after every gateway ran: %s", why)
	}
}

// upOf reads gwdoctor_up for a gateway from the registry.
func upOf(t *testing.T, s *Server, id string) float64 {
	t.Helper()
	families, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != metricUp {
			continue
		}
		for _, m := range f.Metric {
			if m.Label[0].GetValue() == id {
				return m.Gauge.GetValue()
			}
		}
	}
	t.Fatalf("no gwdoctor_up series for %s", id)
	return 0
}

// Throttling makes the next wait back off exponentially, capped, and a
// clean run resets it.
func TestThrottlingBacksOff(t *testing.T) {
	snap := demoSnapshot(t)
	throttle := true
	throttled := &aliyun.APIError{Action: aliyun.ActionDescribeInstances, Code: "Throttling.User", HTTPStatus: 400}
	s, err := New(Config{Gateways: []string{"gw-a"}, Interval: time.Minute, MaxBackoff: 10 * time.Minute, Logger: quietLogger(),
		Collect: func(context.Context, string) (*snapshot.Snapshot, error) {
			if throttle {
				return snap, multierror.Append(nil, &collect.PartError{Part: snapshot.PartNodes, Action: throttled.Action, Err: throttled})
			}
			return snap, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatewayState{id: "gw-a"}
	for want := 1; want <= 3; want++ {
		s.runOnce(context.Background(), g)
		if g.throttled != want {
			t.Fatalf("after %d throttled runs: counter %d", want, g.throttled)
		}
	}
	throttle = false
	s.runOnce(context.Background(), g)
	if g.throttled != 0 {
		t.Errorf("a clean run did not reset the backoff: %d", g.throttled)
	}
	j := s.cfg.Jitter
	for n, base := range map[int]time.Duration{1: 2 * time.Minute, 2: 4 * time.Minute, 3: 8 * time.Minute, 4: 10 * time.Minute, 40: 10 * time.Minute} {
		for range 50 {
			d := s.backoff(n)
			if lo, hi := time.Duration(float64(base)*(1-j)), time.Duration(float64(base)*(1+j)); d < lo || d > hi {
				t.Fatalf("backoff(%d) = %v, want within %v–%v", n, d, lo, hi)
			}
		}
	}
}

// With ListGateways, the set follows the listing: a new gateway is
// watched, a gone one dropped with its series; a failed listing keeps the
// gateways known.
func TestDiscoveryFollowsTheListing(t *testing.T) {
	snap := demoSnapshot(t)
	var mu sync.Mutex
	listing := [][]string{{"gw-a", "gw-b"}, nil, {"gw-b", "gw-c"}}
	calls := 0
	progressed := make(chan struct{}, 100)
	s, err := New(Config{Interval: 5 * time.Millisecond, Logger: quietLogger(),
		ListGateways: func(context.Context) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			defer func() {
				calls++
				select {
				case progressed <- struct{}{}:
				default:
				}
			}()
			i := min(calls, len(listing)-1)
			if listing[i] == nil {
				return nil, errors.New("Throttling.User")
			}
			return listing[i], nil
		},
		Collect: func(context.Context, string) (*snapshot.Snapshot, error) { return snap, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Ready(); ok {
		t.Error("ready before the gateways were listed")
	}
	s.cfg.MaxBackoff = 10 * time.Millisecond // the failed listing's retry
	runUntil(t, s, progressed, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls >= 4
	})
	var ids []string
	for _, g := range s.states() {
		ids = append(ids, g.id)
	}
	if fmt.Sprint(ids) != "[gw-b gw-c]" {
		t.Errorf("watching %v after the listing changed, want [gw-b gw-c]", ids)
	}
	if n := testutil.ToFloat64(s.metrics.listErrors); n != 1 {
		t.Errorf("list errors %v, want 1", n)
	}
	if n := testutil.CollectAndCount(s.metrics.runs, "gwdoctor_runs_total"); n > 2 {
		// gw-a's series are gone: only gw-b's and gw-c's ok runs remain.
		t.Errorf("%d run series after gw-a was dropped, want ≤ 2", n)
	}
}

// The report-derived gauges agree with the report they come from, for
// every service: endpoints by verdict, findings by code and severity.
func TestGaugesAgreeWithReport(t *testing.T) {
	snap := demoSnapshot(t)
	var logs bytes.Buffer
	s, err := New(Config{Gateways: []string{snap.Gateway.ID}, PerEndpointMetrics: true, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Collect: func(context.Context, string) (*snapshot.Snapshot, error) { return snap, nil }})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatewayState{id: snap.Gateway.ID}
	s.gateways[g.id] = g
	s.runOnce(context.Background(), g)
	r := g.report
	if r == nil {
		t.Fatalf("no report; log: %s", logs.String())
	}
	want := map[string]float64{}
	for _, e := range r.Endpoints {
		counted := diagnose.CountAs(e.Verdict, e.Ready)
		want[fmt.Sprintf("endpoints %s %s", e.Service, counted)]++
		want[fmt.Sprintf("endpoint %s %s %s", e.Service, diagnose.JoinHostPort(e.IP, e.Port), counted)]++
	}
	for _, f := range r.Findings {
		want[fmt.Sprintf("findings %s %s", f.Code, f.Level())]++
	}
	families, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.Metric {
			l := map[string]string{}
			for _, lp := range m.Label {
				l[lp.GetName()] = lp.GetValue()
			}
			switch f.GetName() {
			case metricEndpoints:
				if v := m.Gauge.GetValue(); v > 0 {
					got[fmt.Sprintf("endpoints %s %s", l["service"], l["verdict"])] = v
				}
			case metricEndpointVerdict:
				got[fmt.Sprintf("endpoint %s %s %s", l["service"], l["endpoint"], l["verdict"])] = m.Gauge.GetValue()
			case metricFindings:
				got[fmt.Sprintf("findings %s %s", l["code"], l["severity"])] = m.Gauge.GetValue()
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("gauges disagree with the report:\ngot  %v\nwant %v", got, want)
	}
	if len(want) == 0 {
		t.Fatal("the demo report is empty: nothing was compared")
	}
}
