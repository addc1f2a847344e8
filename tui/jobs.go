package tui

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"github.com/gwdoctor/gwdoctor/probe"
	"github.com/gwdoctor/gwdoctor/render"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// A job is one piece of background work — load, probe, diagnose — running
// on its own goroutine and reporting to the UI through a channel, one
// message at a time (each message's handler waits for the next), so the UI
// never blocks and a stopped job's late messages are recognised and dropped.
type job struct {
	title    string
	step     string
	note     string // said again when the job ends (skipped endpoints)
	total    int    // probe targets
	done     int    // probe results in
	filtered int    // results that timed out
	started  time.Time
	ch       chan tea.Msg
	// cancel stops the work (x): the job still reports what it has. kill
	// also abandons the reporting (quit), so the goroutine never blocks.
	cancel context.CancelFunc
	kill   context.CancelFunc
}

func (j *job) wait() tea.Cmd {
	ch := j.ch
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

func (j *job) fraction() float64 {
	if j.total == 0 {
		return 0
	}
	return float64(j.done) / float64(j.total)
}

// pipeline says what a job does, in order: load the source (or take snap),
// probe (targets, or on reload those probed before), diagnose.
type pipeline struct {
	load    bool
	snap    *snapshot.Snapshot
	probe   []probe.Target
	reprobe bool
}

type (
	jobStepMsg struct {
		job  *job
		step string
	}
	jobProbeStartMsg struct {
		job     *job
		targets []probe.Target
	}
	jobProbeResultsMsg struct {
		job     *job
		results []probe.Result
	}
	jobDoneMsg struct {
		job     *job
		snap    *snapshot.Snapshot
		report  *diagnose.Report
		loadErr error // partial data or failure
		probed  int
		stopped bool
	}
	exportedMsg struct {
		path string
		err  error
	}
)

// probeBatchEvery bounds how often probe results reach the UI: thousands of
// results become a few dozen redraws.
const probeBatchEvery = 50 * time.Millisecond

// startJob starts p on a goroutine and returns the command that delivers
// its first message. (Starting it here rather than in a command lets tests
// drain the job's channel directly.)
func (m *Model) startJob(title string, p pipeline) tea.Cmd {
	life, kill := context.WithCancel(context.Background())
	ctx, cancel := context.WithCancel(life)
	j := &job{title: title, step: title + "…", started: m.cfg.Now(), ch: make(chan tea.Msg), cancel: cancel, kill: kill}
	m.job = j
	cfg := m.cfg
	var reprobe func(*snapshot.Snapshot) []probe.Target
	if p.reprobe {
		probed, all := m.probed, m.probedAll
		reprobe = func(s *snapshot.Snapshot) []probe.Target { return retargets(s, probed, all, cfg.ProbeSkip) }
	}
	go runPipeline(ctx, life, j, cfg, p, reprobe)
	return tea.Batch(j.wait(), m.spinner.Tick)
}

// runPipeline is the job's goroutine. Every send gives up when the job is
// stopped, so an abandoned job never blocks.
func runPipeline(ctx, life context.Context, j *job, cfg Config, p pipeline, reprobe func(*snapshot.Snapshot) []probe.Target) {
	defer close(j.ch)
	defer j.kill()
	send := func(msg tea.Msg) bool {
		select {
		case j.ch <- msg:
			return true
		case <-life.Done():
			return false
		}
	}
	step := func(s string) { send(jobStepMsg{job: j, step: s}) }
	done := jobDoneMsg{job: j}
	snap := p.snap
	if p.load {
		step("loading " + cfg.Source.Kind + " " + cfg.Source.Name)
		s, err := cfg.Source.Load(ctx, step)
		done.loadErr = err
		if s == nil {
			if err == nil {
				err = errors.New("the source returned no data")
			}
			done.loadErr, done.stopped = err, ctx.Err() != nil
			send(done)
			return
		}
		snap = s
	}
	targets := p.probe
	if reprobe != nil {
		targets = reprobe(snap)
	}
	if len(targets) > 0 && cfg.Probe != nil && ctx.Err() == nil {
		snap = probeInto(ctx, j, cfg, snap, targets, send)
		done.probed = len(targets)
	}
	done.stopped = ctx.Err() != nil
	step("diagnosing " + words.Count(countEndpoints(snap), "endpoint", "endpoints"))
	// Diagnose even when stopped: the results already in are real
	// observations, and the UI shows what they mean.
	done.report = cfg.Diagnose(context.WithoutCancel(ctx), snap)
	done.snap = snap
	if done.report.Source == nil {
		done.report.Source = &diagnose.SourceInfo{Kind: cfg.Source.Kind, Name: cfg.Source.Name, CapturedAt: snap.CapturedAt}
	}
	send(done)
}

// probeInto probes targets, streaming results to the UI in batches, and
// returns a copy of snap with the decided results recorded as probes.
func probeInto(ctx context.Context, j *job, cfg Config, snap *snapshot.Snapshot, targets []probe.Target, send func(tea.Msg) bool) *snapshot.Snapshot {
	send(jobProbeStartMsg{job: j, targets: targets})
	results := make(chan probe.Result, 256)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		var batch []probe.Result
		tick := time.NewTicker(probeBatchEvery)
		defer tick.Stop()
		flush := func() {
			if len(batch) > 0 {
				send(jobProbeResultsMsg{job: j, results: batch})
				batch = nil
			}
		}
		for {
			select {
			case r, ok := <-results:
				if !ok {
					flush()
					return
				}
				batch = append(batch, r)
			case <-tick.C:
				flush()
			}
		}
	}()
	all := cfg.Probe(ctx, targets, func(r probe.Result) { results <- r })
	close(results)
	<-flushed
	out := *snap
	out.Probes = append([]snapshot.Probe(nil), snap.Probes...)
	now := cfg.Now()
	for _, r := range all {
		if r.State == "" || (r.State == probe.StateError && r.Err == "canceled") {
			continue // not decided: no observation
		}
		out.Probes = append(out.Probes, r.Record(cfg.ProbeFrom, now))
	}
	return &out
}

// retargets finds, in a freshly loaded snapshot, the endpoints this session
// probed before (all of them after P).
func retargets(s *snapshot.Snapshot, probed map[string]bool, all bool, skip func(diagnose.EndpointResult) string) []probe.Target {
	var out []probe.Target
	seen := map[string]bool{}
	var view *diagnose.View
	for i := range s.Services {
		for j := range s.Services[i].Endpoints {
			ep := &s.Services[i].Endpoints[j]
			if _, err := netip.ParseAddr(ep.IP); err != nil {
				continue
			}
			t := probe.Target{Host: ep.IP, Port: ep.Port}
			k := t.String()
			if seen[k] || (!all && !probed[k]) {
				continue
			}
			if skip != nil {
				if view == nil {
					view = diagnose.NewView(s)
				}
				if skip(endpointResultOf(view, ep)) != "" {
					continue
				}
			}
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

// endpointResultOf is what ProbeSkip sees for a snapshot endpoint: its
// configuration verdict from a view of the snapshot.
func endpointResultOf(v *diagnose.View, ep *snapshot.Endpoint) diagnose.EndpointResult {
	for _, e := range v.Endpoints {
		if e.Endpoint == ep {
			return diagnose.EndpointResult{Service: e.ServiceKey, IP: ep.IP, Port: ep.Port, Config: e.Decision.Verdict.String(), Verdict: e.Verdict, Ready: ep.IsReady()}
		}
	}
	return diagnose.EndpointResult{IP: ep.IP, Port: ep.Port}
}

func countEndpoints(s *snapshot.Snapshot) int {
	n := 0
	for i := range s.Services {
		n += len(s.Services[i].Endpoints)
	}
	return n
}

// finishJob installs a finished job's report and says what happened.
func (m *Model) finishJob(msg jobDoneMsg) tea.Cmd {
	j := m.job
	m.job = nil
	m.live, m.pending = nil, nil
	m.loadErr = msg.loadErr
	if msg.report == nil {
		if msg.stopped {
			m.setStatus(true, "%s stopped", j.title)
		} else {
			m.setStatus(true, "%s failed: %v (r to retry)", j.title, msg.loadErr)
		}
		return nil
	}
	previous := m.report
	m.setReport(msg.report, msg.snap, previous)
	elapsed := m.cfg.Now().Sub(j.started).Round(time.Millisecond)
	var parts []string
	switch {
	case msg.stopped:
		parts = append(parts, j.title+" stopped; results so far are in")
	case strings.HasPrefix(j.title, "probing"):
		parts = append(parts, fmt.Sprintf("probed %s in %s", words.Count(msg.probed, "endpoint", "endpoints"), elapsed))
		if j.note != "" {
			parts = append(parts, j.note)
		}
		if j.filtered > 0 && m.cfg.ProbeFrom != diagnose.ProbeFromGateway {
			// DESIGN: a timeout from the operator's seat proves nothing about the gateway's path.
			parts = append(parts, fmt.Sprintf("%d timed out from %s: that alone does not prove the gateway is blocked (--probe-from gateway where its traffic comes from)", j.filtered, m.cfg.ProbeFrom))
		}
	case previous == nil:
		what := "diagnosed"
		if j.title == "loading" {
			what = "loaded and diagnosed"
			if m.cfg.Source.Kind == "live" {
				what = "collected and diagnosed"
			}
		}
		parts = append(parts, fmt.Sprintf("%s %s in %s", what, words.Count(len(msg.report.Endpoints), "endpoint", "endpoints"), elapsed))
	default:
		what := "reloaded"
		if m.cfg.Source.Kind == "live" {
			what = "re-collected"
		}
		if msg.probed > 0 {
			what += " and re-probed " + words.Count(msg.probed, "endpoint", "endpoints")
		}
		parts = append(parts, fmt.Sprintf("%s in %s", what, elapsed))
	}
	if d := m.ix.diff; d != nil {
		if d.New == 0 && d.Fixed == 0 {
			parts = append(parts, fmt.Sprintf("findings unchanged (%d)", d.Unchanged))
		} else {
			parts = append(parts, fmt.Sprintf("vs previous run: %d new, %d fixed, %d unchanged", d.New, d.Fixed, d.Unchanged))
		}
	}
	isErr := false
	if msg.loadErr != nil {
		parts = append(parts, "data incomplete: "+firstLine(msg.loadErr.Error()))
		isErr = true
	}
	if previous == nil && !isErr && !msg.stopped {
		// The first screen: the hint (what to do next) is worth more than
		// how long the load took.
		parts = nil
	}
	m.setStatus(isErr, "%s", strings.Join(parts, " · "))
	if previous == nil && m.cfg.ProbeAtStart && m.cfg.Probe != nil {
		return m.startProbe(true)
	}
	return nil
}

// export writes the current report as Markdown to a new file in ExportDir.
func (m *Model) export() tea.Cmd {
	if m.report == nil {
		m.setStatus(true, "nothing to export yet")
		return nil
	}
	r, dir, now := m.report, m.cfg.ExportDir, m.cfg.Now()
	m.setStatus(false, "exporting…")
	return func() tea.Msg {
		path, err := writeExport(dir, r, now)
		return exportedMsg{path: path, err: err}
	}
}

func writeExport(dir string, r *diagnose.Report, now time.Time) (string, error) {
	base := "gwdoctor-" + safeName(r.Gateway.ID) + "-" + now.UTC().Format("20060102-150405")
	for i := 0; i < 100; i++ {
		name := base + ".md"
		if i > 0 {
			name = fmt.Sprintf("%s-%d.md", base, i+1)
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return path, err
		}
		if err := render.Markdown(f, r); err != nil {
			f.Close()
			return path, err
		}
		return path, f.Close()
	}
	return "", fmt.Errorf("%s: 100 exports with this name already exist", filepath.Join(dir, base))
}

func safeName(s string) string {
	if s == "" {
		return "report"
	}
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
