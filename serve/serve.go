// Package serve runs gwdoctor as a long-running service: every interval it
// collects, diagnoses (and optionally probes) each configured gateway, keeps
// the last report per gateway, exports Prometheus metrics, serves the
// reports and the transitions since the previous run over HTTP, and logs
// every transition as a structured JSON line.
//
// Scheduling: one worker per gateway runs its collections one after the
// other, so two collections of one gateway never overlap; a semaphore
// bounds how many gateways collect at once; each wait is jittered so that
// gateways and replicas do not call the APIs in lockstep; a throttled
// gateway backs off exponentially; a failing gateway only affects itself.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/collect"
	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/probe"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// CollectFunc collects one gateway. A nil snapshot means nothing could be
// collected; a snapshot with an error is partial (a *multierror.Error of
// *collect.PartError and validation problems).
type CollectFunc func(ctx context.Context, gatewayID string) (*snapshot.Snapshot, error)

// ListFunc lists the gateway ids to watch (MSE ListGateway).
type ListFunc func(ctx context.Context) ([]string, error)

// Config says what to watch and how often.
type Config struct {
	// Gateways are the gateway ids to watch; with ListGateways set, the
	// list is re-read every interval instead.
	Gateways     []string
	ListGateways ListFunc
	Collect      CollectFunc
	// Interval between the starts of two runs of one gateway (default 60 s).
	Interval time.Duration
	// Jitter is the fraction of Interval each wait varies by, uniformly
	// (default 0.1: 54–66 s at 60 s); negative means none.
	Jitter float64
	// Concurrency bounds the gateways collected at once (default 4).
	Concurrency int
	// MaxBackoff caps the wait of a throttled gateway (default 16 × Interval).
	MaxBackoff time.Duration
	// Probe probes every endpoint after collecting, recorded as seen from
	// ProbeFrom, with ProbeOptions.
	Probe        bool
	ProbeFrom    string
	ProbeOptions probe.Options
	// PerEndpointMetrics adds one series per endpoint (unbounded by design:
	// off by default).
	PerEndpointMetrics bool
	// Logger receives transitions and run outcomes (default slog.Default()).
	Logger *slog.Logger
}

// Server is the running service. Create it with New, serve Handler, and
// call Run until its context is cancelled.
type Server struct {
	cfg      Config
	log      *slog.Logger
	registry *prometheus.Registry
	metrics  *metrics
	sem      chan struct{}

	mu       sync.Mutex
	gateways map[string]*gatewayState
	// listed is true once the gateway set is known (always with
	// --gateway; after the first successful ListGateway otherwise).
	listed bool
}

// gatewayState is what the server knows about one gateway.
type gatewayState struct {
	id     string
	cancel context.CancelFunc

	mu          sync.Mutex
	report      *diagnose.Report // last run's report, nil before the first
	previous    *diagnose.Report // the run before it
	transitions []Transition     // between previous and report
	runAt       time.Time        // start of the last finished run
	previousAt  time.Time
	ran         bool // a first run finished (whatever its outcome)
	complete    bool // the last run collected every part
	lastError   string
	lastSuccess time.Time // end of the last run that produced a report
	throttled   int       // consecutive throttled runs
	dropped     bool      // no longer listed: the worker forgets its series
}

// New checks cfg and builds the server and its metrics registry.
func New(cfg Config) (*Server, error) {
	if cfg.Collect == nil {
		return nil, errors.New("serve: no collect function")
	}
	if cfg.ListGateways == nil && len(cfg.Gateways) == 0 {
		return nil, errors.New("no gateway to watch: give --gateway GATEWAY_ID (repeatable) or --all-gateways")
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("--interval %s: must be positive", cfg.Interval)
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = 0.1
	}
	if cfg.Jitter < 0 {
		cfg.Jitter = 0
	}
	if cfg.Jitter > 0.5 {
		return nil, fmt.Errorf("jitter %.2f: at most 0.5 of the interval", cfg.Jitter)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 16 * cfg.Interval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ProbeFrom == "" {
		cfg.ProbeFrom = "operator"
	}
	s := &Server{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry(),
		sem: make(chan struct{}, cfg.Concurrency), gateways: map[string]*gatewayState{}}
	s.metrics = newMetrics(s)
	if err := s.metrics.register(s.registry); err != nil {
		return nil, err
	}
	return s, nil
}

// Registry is the server's Prometheus registry (what /metrics serves).
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Run watches the gateways until ctx is cancelled, then cancels the
// collections in flight and returns when every worker has stopped.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	start := func(ids []string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, id := range ids {
			if _, ok := s.gateways[id]; ok {
				continue
			}
			gctx, cancel := context.WithCancel(ctx)
			g := &gatewayState{id: id, cancel: cancel}
			s.gateways[id] = g
			s.log.Info("watching gateway", "gateway", id)
			wg.Go(func() { s.worker(gctx, g) })
		}
	}
	if s.cfg.ListGateways == nil {
		s.mu.Lock()
		s.listed = true
		s.mu.Unlock()
		start(uniq(s.cfg.Gateways))
	} else {
		wg.Go(func() { s.discover(ctx, start) })
	}
	<-ctx.Done()
	wg.Wait()
}

// discover lists the region's gateways every interval: new ones are
// watched, gone ones dropped (with their series). A failed listing keeps
// the gateways known so far and is retried with backoff.
func (s *Server) discover(ctx context.Context, start func([]string)) {
	failures := 0
	for {
		ids, err := s.cfg.ListGateways(ctx)
		wait := s.jittered(s.cfg.Interval)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			s.metrics.listErrors.Inc()
			wait = s.backoff(failures)
			s.log.Error("listing gateways failed; the gateways known so far are still watched", "action", aliyun.ActionListGateway,
				"error", err.Error(), "retryIn", wait.Round(time.Second).String())
		default:
			failures = 0
			ids = uniq(ids)
			s.drop(ids)
			start(ids)
			s.mu.Lock()
			s.listed = true
			s.mu.Unlock()
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// drop stops watching the gateways not in keep.
func (s *Server) drop(keep []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, g := range s.gateways {
		if !slices.Contains(keep, id) {
			// Its worker drops its series when it has stopped, so that a
			// run finishing now cannot write them again.
			g.mu.Lock()
			g.dropped = true
			g.mu.Unlock()
			g.cancel()
			delete(s.gateways, id)
			s.log.Info("gateway no longer listed; stopped watching it", "gateway", id)
		}
	}
}

// worker runs one gateway's collections, one at a time.
func (s *Server) worker(ctx context.Context, g *gatewayState) {
	defer func() {
		g.mu.Lock()
		dropped := g.dropped
		g.mu.Unlock()
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, again := s.gateways[g.id]; dropped && !again {
			s.metrics.forget(g.id)
		}
	}()
	// A random first delay within the jitter spreads the gateways' runs.
	if !sleep(ctx, time.Duration(rand.Float64()*s.cfg.Jitter*float64(s.cfg.Interval))) {
		return
	}
	for {
		started := time.Now()
		s.runOnce(ctx, g)
		if ctx.Err() != nil {
			return
		}
		g.mu.Lock()
		throttled := g.throttled
		g.mu.Unlock()
		wait := s.jittered(s.cfg.Interval) - time.Since(started)
		if throttled > 0 {
			wait = s.backoff(throttled)
			s.log.Warn("API throttling: backing off", "gateway", g.id, "consecutiveThrottledRuns", throttled, "nextRunIn", wait.Round(time.Second).String())
		}
		if !sleep(ctx, max(wait, 0)) {
			return
		}
	}
}

// jittered is d varied uniformly by ±Jitter.
func (s *Server) jittered(d time.Duration) time.Duration {
	j := s.cfg.Jitter * (2*rand.Float64() - 1)
	return time.Duration(float64(d) * (1 + j))
}

// backoff is the wait after n consecutive failures: the interval doubled
// n times, capped at MaxBackoff, jittered.
func (s *Server) backoff(n int) time.Duration {
	d := s.cfg.Interval << min(n, 16)
	if d > s.cfg.MaxBackoff || d <= 0 {
		d = s.cfg.MaxBackoff
	}
	return s.jittered(d)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runOnce collects, probes and diagnoses one gateway, then records the
// report, its transitions and its metrics.
func (s *Server) runOnce(ctx context.Context, g *gatewayState) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.sem }()
	started := time.Now()
	defer func() {
		// A bug met by one gateway's data must not stop the others.
		if r := recover(); r != nil {
			g.mu.Lock()
			g.ran, g.complete, g.lastError = true, false, fmt.Sprint("internal error: ", r)
			g.mu.Unlock()
			s.metrics.runs.WithLabelValues(g.id, "failed").Inc()
			s.metrics.errors.WithLabelValues(g.id, "internal", "").Inc()
			s.log.Error("run failed with an internal error; the other gateways go on", "gateway", g.id, "panic", fmt.Sprint(r))
		}
	}()
	snap, err := s.cfg.Collect(ctx, g.id)
	if ctx.Err() != nil {
		// Shutting down (or the gateway was dropped): a cancelled run is
		// not a failure of the gateway and records nothing.
		s.log.Info("collection cancelled", "gateway", g.id, "after", time.Since(started).Round(time.Millisecond).String())
		return
	}
	s.metrics.duration.WithLabelValues(g.id).Observe(time.Since(started).Seconds())
	throttled := s.countErrors(g.id, snap, err)

	var report *diagnose.Report
	if snap != nil {
		if s.cfg.Probe {
			s.probe(ctx, g.id, snap)
			if ctx.Err() != nil {
				s.log.Info("probing cancelled", "gateway", g.id)
				return
			}
		}
		report = diagnose.Run(ctx, diagnose.NewView(snap), checks.All())
		report.Source = &diagnose.SourceInfo{Kind: "live", Name: g.id, CapturedAt: snap.CapturedAt}
	}
	finished := time.Now()

	g.mu.Lock()
	g.ran = true
	g.complete = snap != nil && err == nil
	g.lastError = ""
	if err != nil {
		g.lastError = err.Error()
	}
	if throttled {
		g.throttled++
	} else {
		g.throttled = 0
	}
	var trs []Transition
	if report != nil {
		if g.report != nil {
			trs = Transitions(g.id, g.report, report)
		}
		g.previous, g.previousAt = g.report, g.runAt
		g.report, g.runAt = report, started
		g.transitions = trs
		g.lastSuccess = finished
	}
	g.mu.Unlock()

	result := "ok"
	switch {
	case snap == nil:
		result = "failed"
	case err != nil:
		result = "partial"
	}
	s.metrics.runs.WithLabelValues(g.id, result).Inc()
	attrs := []any{"gateway", g.id, "result", result, "took", finished.Sub(started).Round(time.Millisecond).String()}
	if report != nil {
		attrs = append(attrs, "endpoints", report.Summary.Endpoints, "blocked", report.Summary.Blocked,
			"unknown", report.Summary.Unknown, "errors", report.Summary.Errors, "warnings", report.Summary.Warnings)
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	level := slog.LevelInfo
	if result != "ok" {
		level = slog.LevelWarn
	}
	s.log.Log(ctx, level, "run finished", attrs...)
	for _, t := range trs {
		s.metrics.transitions.WithLabelValues(g.id, t.Kind).Inc()
		s.log.Log(ctx, t.level(), "transition", t.attrs()...)
	}
}

// countErrors counts the collection's failures by part and action and
// reports whether any was API throttling.
func (s *Server) countErrors(gateway string, snap *snapshot.Snapshot, err error) (throttled bool) {
	if err == nil {
		return false
	}
	var errs []error
	var me *multierror.Error
	if errors.As(err, &me) {
		errs = me.Errors
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		part, action := "collection", ""
		if snap == nil {
			part = "all"
		}
		var pe *collect.PartError
		var ae *aliyun.APIError
		switch {
		case errors.As(e, &pe):
			part, action = pe.Part, pe.Action
		case strings.Contains(e.Error(), "does not validate"):
			part = "validation"
		}
		if errors.As(e, &ae) {
			action = ae.Action
			code := strings.ToLower(ae.Code)
			throttled = throttled || strings.HasPrefix(code, "throttling") || ae.HTTPStatus == 429
		}
		s.metrics.errors.WithLabelValues(gateway, part, action).Inc()
	}
	return throttled
}

// probe probes every endpoint of snap once per ip:port and records the
// results as observations from ProbeFrom.
func (s *Server) probe(ctx context.Context, gateway string, snap *snapshot.Snapshot) {
	seen := map[string]bool{}
	var targets []probe.Target
	for i := range snap.Services {
		for _, ep := range snap.Services[i].Endpoints {
			if _, err := netip.ParseAddr(ep.IP); err != nil {
				continue
			}
			t := probe.Target{Host: ep.IP, Port: ep.Port}
			if k := t.String(); !seen[k] {
				seen[k] = true
				targets = append(targets, t)
			}
		}
	}
	if len(targets) == 0 {
		return
	}
	now := time.Now()
	rtt := s.metrics.probeRTT.WithLabelValues(gateway)
	for _, r := range probe.Run(ctx, targets, s.cfg.ProbeOptions) {
		if r.RTT > 0 {
			rtt.Observe(r.RTT.Seconds())
		}
		snap.Probes = append(snap.Probes, r.Record(s.cfg.ProbeFrom, now))
	}
}

// snapshotOf returns the gateway states, sorted by id.
func (s *Server) states() []*gatewayState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*gatewayState, 0, len(s.gateways))
	for _, g := range s.gateways {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *gatewayState) int { return strings.Compare(a.id, b.id) })
	return out
}

// Ready reports whether the gateway set is known and every gateway has
// finished a first run; when not, why.
func (s *Server) Ready() (bool, string) {
	s.mu.Lock()
	listed := s.listed
	s.mu.Unlock()
	if !listed {
		return false, "the gateways are not listed yet (MSE ListGateway)"
	}
	var waiting []string
	states := s.states()
	for _, g := range states {
		g.mu.Lock()
		if !g.ran {
			waiting = append(waiting, g.id)
		}
		g.mu.Unlock()
	}
	if len(states) == 0 {
		return false, "no gateway to watch: ListGateway returned none in the region"
	}
	if len(waiting) > 0 {
		return false, "first run not finished for " + strings.Join(waiting, ", ")
	}
	return true, ""
}

func uniq(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
