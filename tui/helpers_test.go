package tui

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/demo"
	"github.com/gwdoctor/gwdoctor/probe"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// testNow is the fixed clock: 2h30m after the demo's capturedAt.
var testNow = time.Date(2026, 11, 28, 12, 30, 0, 0, time.UTC)

// fixtureReport is the demo diagnosed with the full catalog as the checks
// describe it: wrong-node on shop/orders, port-changed, service-down, a
// gateway-wide node-pool drift and a skipped check.
func fixtureReport(t testing.TB) *diagnose.Report {
	t.Helper()
	data, err := os.ReadFile("testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	var r diagnose.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func demoSnapshot(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	s, err := demo.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeDiagnoser returns the queued reports in order, then the last again,
// and records the snapshots it was given.
type fakeDiagnoser struct {
	mu      sync.Mutex
	reports []*diagnose.Report
	seen    []*snapshot.Snapshot
}

func (f *fakeDiagnoser) diagnose(_ context.Context, s *snapshot.Snapshot) *diagnose.Report {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, s)
	r := f.reports[0]
	if len(f.reports) > 1 {
		f.reports = f.reports[1:]
	}
	return r
}

// fakeProber answers from a table (default open, 0.5ms) and can hold
// until released, so a test can look at the screen mid-probe.
type fakeProber struct {
	mu      sync.Mutex
	states  map[string]probe.State
	hold    chan struct{} // when non-nil, results after the first wait for it
	targets [][]probe.Target
}

func (f *fakeProber) probe(ctx context.Context, targets []probe.Target, onResult func(probe.Result)) []probe.Result {
	f.mu.Lock()
	f.targets = append(f.targets, targets)
	hold := f.hold
	f.mu.Unlock()
	out := make([]probe.Result, len(targets))
	for i, t := range targets {
		if i > 0 && hold != nil {
			select {
			case <-hold:
			case <-ctx.Done():
			}
		}
		r := probe.Result{Target: t, State: probe.StateOpen, RTT: 500 * time.Microsecond, Attempts: 1}
		if ctx.Err() != nil {
			r = probe.Result{Target: t, State: probe.StateError, Err: "canceled"}
		} else if s, ok := f.states[t.String()]; ok {
			r.State = s
			if s == probe.StateFiltered {
				r.RTT, r.Err = 0, "no answer in 1s"
			}
		}
		out[i] = r
		onResult(r)
	}
	return out
}

type testOpts struct {
	w, h     int
	reports  []*diagnose.Report
	prober   *fakeProber
	load     func(context.Context, func(string)) (*snapshot.Snapshot, error)
	noReport bool
}

func newTestModel(t testing.TB, o testOpts) (*Model, *fakeDiagnoser) {
	t.Helper()
	if o.w == 0 {
		o.w, o.h = 120, 40
	}
	first := fixtureReport(t)
	fd := &fakeDiagnoser{reports: o.reports}
	if len(fd.reports) == 0 {
		fd.reports = []*diagnose.Report{first}
	}
	snap := demoSnapshot(t)
	load := o.load
	if load == nil {
		load = func(context.Context, func(string)) (*snapshot.Snapshot, error) { return demoSnapshot(t), nil }
	}
	cfg := Config{
		Source:    Source{Kind: "file", Name: "testdata/demo.yaml", Load: load},
		Snapshot:  snap,
		Report:    first,
		Diagnose:  fd.diagnose,
		ExportDir: t.TempDir(),
		Now:       func() time.Time { return testNow },
		Dark:      true,
	}
	if o.noReport {
		cfg.Report, cfg.Snapshot = nil, nil
	}
	if o.prober != nil {
		cfg.Probe = o.prober.probe
	}
	m := New(cfg)
	m.Update(tea.WindowSizeMsg{Width: o.w, Height: o.h})
	return m, fd
}

// keyMsg builds the key press bubbletea delivers for a key name.
func keyMsg(k string) tea.KeyPressMsg {
	special := map[string]tea.Key{
		"enter": {Code: tea.KeyEnter}, "tab": {Code: tea.KeyTab}, "esc": {Code: tea.KeyEscape},
		"up": {Code: tea.KeyUp}, "down": {Code: tea.KeyDown}, "left": {Code: tea.KeyLeft}, "right": {Code: tea.KeyRight},
		"shift+tab": {Code: tea.KeyTab, Mod: tea.ModShift}, "ctrl+c": {Code: 'c', Mod: tea.ModCtrl},
		"pgdown": {Code: tea.KeyPgDown}, "pgup": {Code: tea.KeyPgUp}, "home": {Code: tea.KeyHome}, "end": {Code: tea.KeyEnd},
		"backspace": {Code: tea.KeyBackspace},
	}
	if k, ok := special[k]; ok {
		return tea.KeyPressMsg(k)
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg(tea.Key{Code: r, Text: k})
}

// press sends keys and returns the last command.
func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		_, cmd = m.Update(keyMsg(k))
	}
	return cmd
}

// typeText sends each rune as a key press.
func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(keyMsg(string(r)))
	}
}

// drain feeds the running job's messages to the model until it finishes.
func drain(t testing.TB, m *Model) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for m.job != nil {
		select {
		case msg, ok := <-m.job.ch:
			if !ok {
				t.Fatal("job channel closed without a done message")
			}
			m.Update(msg)
		case <-deadline:
			t.Fatal("job did not finish")
		}
	}
}

// next feeds exactly one message of the running job.
func next(t testing.TB, m *Model) tea.Msg {
	t.Helper()
	select {
	case msg := <-m.job.ch:
		m.Update(msg)
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no job message")
	}
	return nil
}

// screen is the rendered view without escape sequences.
func screen(m *Model) string { return ansi.Strip(m.View().Content) }

func mustContain(t testing.TB, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
}

func mustNotContain(t testing.TB, s string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(s, w) {
			t.Errorf("screen has %q:\n%s", w, s)
		}
	}
}

// selectService moves the services cursor to key.
func selectService(t testing.TB, m *Model, key string) {
	t.Helper()
	m.focus = paneServices
	press(m, "home")
	for i := 0; i < len(m.visible); i++ {
		if s := m.currentService(); s != nil && s.key == key {
			return
		}
		press(m, "down")
	}
	t.Fatalf("service %s not in the list", key)
}
