package tui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/probe"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func serviceKeys(m *Model) []string {
	var out []string
	for _, s := range m.visible {
		out = append(out, s.status+" "+s.title())
	}
	return out
}

func TestServicesWorstFirstWithBadges(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	got := strings.Join(serviceKeys(m), "|")
	want := "BROKEN legacy/erp|BROKEN shop/inventory|BROKEN shop/orders|BROKEN shop/payments|BROKEN shop/reviews|BROKEN shop/search|OK shop/cart|WARNING (gateway-wide)"
	if got != want {
		t.Fatalf("services:\n got %s\nwant %s", got, want)
	}
	if m.focus != paneServices || m.currentService().key != "legacy/erp" {
		t.Fatalf("initial selection %v %q", m.focus, m.currentService().key)
	}
}

func TestUpDownMoveTheSelectionAndTheRightColumnFollows(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	press(m, "down", "j")
	if k := m.currentService().key; k != "shop/orders" {
		t.Fatalf("after down, j: %s", k)
	}
	s := screen(m)
	mustContain(t, s, "ENDPOINTS shop/orders", "127.0.20.11:8080", "GWD102 wrong-node")
	press(m, "up")
	if k := m.currentService().key; k != "shop/inventory" {
		t.Fatalf("after up: %s", k)
	}
	press(m, "k", "k")
	if m.svc.cursor != 0 {
		t.Fatalf("up past the top: cursor %d", m.svc.cursor)
	}
	press(m, "end")
	if k := m.currentService().key; k != gatewayWide {
		t.Fatalf("end: %q", k)
	}
	press(m, "G", "down")
	if m.svc.cursor != len(m.visible)-1 {
		t.Fatalf("down past the end: cursor %d", m.svc.cursor)
	}
	press(m, "g")
	if m.svc.cursor != 0 {
		t.Fatalf("g: cursor %d", m.svc.cursor)
	}
	press(m, "pgdown")
	if m.svc.cursor != len(m.visible)-1 {
		t.Fatalf("pgdown: cursor %d", m.svc.cursor)
	}
	press(m, "pgup")
	if m.svc.cursor != 0 {
		t.Fatalf("pgup: cursor %d", m.svc.cursor)
	}
}

func TestTabCyclesPanes(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	want := []pane{paneEndpoints, paneFindings, paneDetail, paneServices}
	for _, p := range want {
		press(m, "tab")
		if m.focus != p {
			t.Fatalf("tab: focus %v, want %v", m.focus, p)
		}
	}
	press(m, "shift+tab")
	if m.focus != paneDetail {
		t.Fatalf("shift+tab: %v", m.focus)
	}
	press(m, "left")
	if m.focus != paneFindings {
		t.Fatalf("left: %v", m.focus)
	}
	press(m, "right")
	if m.focus != paneDetail {
		t.Fatalf("right: %v", m.focus)
	}
}

func TestEnterDrillsInEscBacksOut(t *testing.T) {
	m, _ := newTestModel(t, testOpts{w: 80, h: 24})
	selectService(t, m, "shop/orders")
	press(m, "enter")
	if m.focus != paneFindings {
		t.Fatalf("enter on a service with findings: %v", m.focus)
	}
	press(m, "enter")
	if m.focus != paneDetail || m.detailOfEP {
		t.Fatalf("enter on a finding: %v detailOfEP=%v", m.focus, m.detailOfEP)
	}
	s := screen(m)
	// Drilled in at 80×24: the path, the broken hop and the command are on screen.
	mustContain(t, s, "wrong-node", "backend group  sg-pool-b  ← BREAKS HERE", "aliyun mse AddSecurityGroupRule", "--SecurityGroupId sg-pool-b")
	press(m, "esc")
	if m.focus != paneFindings {
		t.Fatalf("esc from detail: %v", m.focus)
	}
	press(m, "esc")
	if m.focus != paneServices {
		t.Fatalf("esc from findings: %v", m.focus)
	}
	// A service without findings drills into its endpoints, and enter there
	// shows the endpoint's details.
	selectService(t, m, "shop/cart")
	press(m, "enter")
	if m.focus != paneEndpoints {
		t.Fatalf("enter on a service without findings: %v", m.focus)
	}
	press(m, "enter")
	if m.focus != paneDetail || !m.detailOfEP {
		t.Fatalf("enter on an endpoint: %v %v", m.focus, m.detailOfEP)
	}
	mustContain(t, screen(m), "DETAIL shop/cart · endpoint 127.0.10.11:8080", "sg-pool-a/sgr-a-gw", "open")
	press(m, "backspace")
	if m.focus != paneEndpoints {
		t.Fatalf("backspace from endpoint detail: %v", m.focus)
	}
}

func TestFilterServicesByNameAndBySlug(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	press(m, "/")
	if !m.filtering {
		t.Fatal("/ does not start filtering")
	}
	typeText(m, "wrong")
	if got := serviceKeys(m); len(got) != 1 || got[0] != "BROKEN shop/orders" {
		t.Fatalf("filter by slug: %v", got)
	}
	// q while typing is text, not quit.
	if cmd := press(m, "q"); cmd != nil {
		if _, quit := cmd().(tea.QuitMsg); quit {
			t.Fatal("q quit while filtering")
		}
	}
	press(m, "backspace")
	press(m, "enter")
	if m.filtering || m.filter.Value() != "wrong" {
		t.Fatalf("enter: filtering=%v value=%q", m.filtering, m.filter.Value())
	}
	mustContain(t, screen(m), "SERVICES 1 of 8 /wrong")
	press(m, "/")
	press(m, "esc")
	if m.filter.Value() != "" || len(m.visible) != 8 {
		t.Fatalf("esc while filtering keeps %q, %d visible", m.filter.Value(), len(m.visible))
	}
	press(m, "/")
	typeText(m, "SHOP/PAY")
	press(m, "enter")
	if got := serviceKeys(m); len(got) != 1 || got[0] != "BROKEN shop/payments" {
		t.Fatalf("filter by name, case-insensitive: %v", got)
	}
	press(m, "esc") // on the services pane: clears the filters
	if len(m.visible) != 8 {
		t.Fatalf("esc on services did not clear the filter: %v", serviceKeys(m))
	}
	press(m, "/")
	m.Update(tea.PasteMsg{Content: "nothing-matches"})
	press(m, "enter")
	mustContain(t, screen(m), "no service matches (esc clears)")
}

func TestSeverityFilterCycles(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	press(m, "s")
	mustNotContain(t, strings.Join(serviceKeys(m), "|"), "OK shop/cart")
	mustContain(t, strings.Join(serviceKeys(m), "|"), "WARNING (gateway-wide)")
	mustContain(t, m.status, "warnings and errors")
	press(m, "end") // the gateway-wide entry: its info note is hidden now
	for _, r := range m.fRows {
		if r.f.Level() < diagnose.Warning {
			t.Fatalf("info finding %s shown under the warning filter", r.f.Code)
		}
	}
	press(m, "s")
	if got := serviceKeys(m); len(got) != 6 {
		t.Fatalf("errors only: %v", got)
	}
	mustContain(t, screen(m), "errors only")
	press(m, "s")
	if got := serviceKeys(m); len(got) != 8 {
		t.Fatalf("back to all: %v", got)
	}
}

func TestCopyPutsTheCommandOnTheClipboard(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	selectService(t, m, "shop/orders")
	cmd := press(m, "c")
	if cmd == nil {
		t.Fatalf("c gave no command; status %q", m.status)
	}
	msg := cmd()
	// tea.SetClipboard's message is unexported; its value is the text.
	if got := fmt.Sprintf("%T %v", msg, msg); !strings.Contains(got, "setClipboardMsg") || !strings.Contains(got, "aliyun mse AddSecurityGroupRule --GatewayUniqueId gw-demo3f9a --SecurityGroupId sg-pool-b --PortRange 8080/8080") {
		t.Fatalf("clipboard message %s", got)
	}
	// OSC 52 may be dropped (tmux, terminal settings): the status says it
	// was sent, not copied, and the command is on screen to select by hand.
	sc := screen(m)
	mustContain(t, sc, "sent the command of GWD102 to the clipboard by OSC 52", "may block", "Fix", "$ aliyun mse AddSecurityGroupRule")
	mustNotContain(t, sc, "copied")
	if m.focus != paneDetail {
		t.Errorf("after c the focus is %v, want the detail pane showing the fix", m.focus)
	}

	selectService(t, m, "shop/reviews") // service-down: console steps only
	if cmd := press(m, "c"); cmd != nil {
		t.Fatal("c copied something for a finding without a command")
	}
	mustContain(t, m.status, "has no command")
	selectService(t, m, "shop/cart")
	if cmd := press(m, "c"); cmd != nil {
		t.Fatal("c copied something with no finding selected")
	}
	if !m.statusErr {
		t.Fatalf("status %q is not an error", m.status)
	}
}

func TestExportWritesMarkdown(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	cmd := press(m, "e")
	if cmd == nil {
		t.Fatal("e gave no command")
	}
	m.Update(cmd())
	path := filepath.Join(m.cfg.ExportDir, "gwdoctor-gw-demo3f9a-20261128-123000.md")
	mustContain(t, screen(m), "report exported as Markdown to "+path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, string(data), "## gwdoctor report", "wrong-node", "aliyun mse AddSecurityGroupRule")
	// A second export in the same second does not overwrite the first.
	m.Update(press(m, "e")())
	if _, err := os.Stat(strings.TrimSuffix(path, ".md") + "-2.md"); err != nil {
		t.Fatalf("second export: %v (status %q)", err, m.status)
	}
	// An unwritable directory is reported, not ignored.
	m.cfg.ExportDir = filepath.Join(m.cfg.ExportDir, "missing")
	m.Update(press(m, "e")())
	if !m.statusErr || !strings.Contains(m.status, "export failed") {
		t.Fatalf("status %q", m.status)
	}
}

func TestHelpToggles(t *testing.T) {
	m, _ := newTestModel(t, testOpts{w: 80, h: 24})
	press(m, "?")
	s := screen(m)
	mustContain(t, s, "How to read this screen", "BROKEN", "UNKNOWN", "c copy fix", "/     filter", "x stop", "q quit")
	press(m, "j") // ignored while help is open
	if m.svc.cursor != 0 || !m.showHelp {
		t.Fatal("keys leak through the help screen")
	}
	press(m, "?")
	if m.showHelp {
		t.Fatal("? does not close help")
	}
	press(m, "?", "esc")
	if m.showHelp {
		t.Fatal("esc does not close help")
	}
	press(m, "?")
	if cmd := press(m, "q"); cmd == nil {
		t.Fatal("q in help does not quit")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q in help does not quit")
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m, _ := newTestModel(t, testOpts{})
		cmd := press(m, k)
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%s does not quit", k)
		}
		if m.Render() != "" {
			t.Fatalf("%s: the last frame is not cleared", k)
		}
	}
}

func TestProbeSelectedServiceStreamsResults(t *testing.T) {
	fp := &fakeProber{hold: make(chan struct{})}
	after := fixtureReport(t)
	m, fd := newTestModel(t, testOpts{prober: fp, reports: []*diagnose.Report{after}})
	selectService(t, m, "shop/cart")
	press(m, "p")
	if m.job == nil {
		t.Fatalf("p started nothing: %q", m.status)
	}
	next(t, m) // probe start
	mustContain(t, screen(m), "probing shop/cart", "0/1")
	close(fp.hold)
	drain(t, m)
	if len(fp.targets) != 1 || len(fp.targets[0]) != 1 || fp.targets[0][0].String() != "127.0.10.11:8080" {
		t.Fatalf("targets %v", fp.targets)
	}
	got := fd.seen[len(fd.seen)-1]
	last := got.Probes[len(got.Probes)-1]
	if last.Target != "127.0.10.11:8080" || last.State != "open" || last.From != "operator" || last.At != "2026-11-28T12:30:00Z" {
		t.Fatalf("recorded probe %+v", last)
	}
	if len(m.snap.Probes) != len(got.Probes) {
		t.Fatal("the model does not keep the probed snapshot")
	}
	mustContain(t, m.status, "probed 1 endpoint in")
	if m.live != nil || m.pending != nil {
		t.Fatal("probe state left behind")
	}
}

func TestProbeShowsStatesAsTheyArrive(t *testing.T) {
	fp := &fakeProber{hold: make(chan struct{}), states: map[string]probe.State{"127.0.20.11:8080": probe.StateFiltered}}
	m, _ := newTestModel(t, testOpts{prober: fp})
	selectService(t, m, "shop/orders")
	press(m, "P")
	next(t, m) // start: every target pending
	if len(m.pending) != 7 {
		t.Fatalf("pending %d", len(m.pending))
	}
	mustContain(t, screen(m), "probing…")
	fp.hold <- struct{}{}                    // let the second through
	for len(m.pending) > 5 && m.job != nil { // the first two arrive in batches
		next(t, m)
	}
	s := screen(m)
	mustContain(t, s, "2/7")
	close(fp.hold)
	drain(t, m)
	if len(fp.targets[0]) != 7 {
		t.Fatalf("P probed %d targets", len(fp.targets[0]))
	}
	// A timeout from the operator's seat is reported as proving nothing about the gateway.
	mustContain(t, m.status, "1 timed out from operator: that alone does not prove the gateway is blocked")
}

func TestProbeSkipAndUnavailable(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	if cmd := press(m, "p"); cmd != nil || !strings.Contains(m.status, "not available") {
		t.Fatalf("p without a prober: %q", m.status)
	}
	fp := &fakeProber{}
	m, _ = newTestModel(t, testOpts{prober: fp})
	m.cfg.ProbeSkip = func(e diagnose.EndpointResult) string {
		if e.Config != "allow" {
			return "blocked by configuration"
		}
		return ""
	}
	selectService(t, m, "shop/orders")
	if cmd := press(m, "p"); cmd != nil {
		t.Fatal("probed a skipped endpoint")
	}
	mustContain(t, m.status, "nothing to probe: 1 endpoint skipped (blocked by configuration)")
	press(m, "P")
	drain(t, m)
	if n := len(fp.targets[0]); n != 2 {
		t.Fatalf("P with skips probed %d", n)
	}
	mustContain(t, m.status, "probed 2 endpoints", "5 skipped: blocked by configuration")
	press(m, "tab", "enter") // the orders endpoint's detail says why it was not probed
	mustContain(t, screen(m), "not probed: blocked by configuration")
}

func TestStopCancelsAProbe(t *testing.T) {
	fp := &fakeProber{hold: make(chan struct{})}
	m, fd := newTestModel(t, testOpts{prober: fp})
	press(m, "P")
	for len(m.pending) != 6 { // the start, then the first result
		next(t, m)
	}
	press(m, "x")
	mustContain(t, m.status, "stopping")
	drain(t, m)
	mustContain(t, m.status, "stopped")
	// Only decided results are recorded as observations: the first.
	got := fd.seen[len(fd.seen)-1]
	if n := len(got.Probes); n != 1 {
		t.Fatalf("recorded %d probes after stop, want 1", n)
	}
	if cmd := press(m, "x"); cmd != nil || m.status != "nothing is running" {
		t.Fatalf("x with nothing running: %q", m.status)
	}
}

func TestBusyRefusesASecondJob(t *testing.T) {
	fp := &fakeProber{hold: make(chan struct{})}
	m, _ := newTestModel(t, testOpts{prober: fp})
	press(m, "P")
	if cmd := press(m, "r"); cmd != nil || !strings.Contains(m.status, "busy") {
		t.Fatalf("r during a probe: %q", m.status)
	}
	if cmd := press(m, "p"); cmd != nil {
		t.Fatal("p during a probe started another")
	}
	close(fp.hold)
	drain(t, m)
}

// fixedReport is the fixture after the wrong-node fix: orders reachable,
// its finding gone, and a new warning.
func fixedReport(t testing.TB) *diagnose.Report {
	r := fixtureReport(t)
	var kept []diagnose.Finding
	for _, f := range r.Findings {
		if f.Code != diagnose.CodeWrongNode {
			kept = append(kept, f)
		}
	}
	sev := diagnose.Warning
	kept = append(kept, diagnose.Finding{Code: "GWD103", Check: "multiple-security-groups", Severity: &sev,
		Subjects: []string{"shop/orders 127.0.20.11:8080"}, Services: []string{"shop/orders"},
		Message: "shop/orders works only through sg-pool-b"})
	r.Findings = kept
	for i := range r.Endpoints {
		if r.Endpoints[i].Service == "shop/orders" {
			r.Endpoints[i].Verdict, r.Endpoints[i].Config = "reachable", "allow"
		}
	}
	r.Summary.Reachable, r.Summary.Blocked, r.Summary.Errors, r.Summary.Warnings = 2, 5, 2, 2
	return r
}

func TestReloadShowsWhatChanged(t *testing.T) {
	loads := 0
	m, _ := newTestModel(t, testOpts{reports: []*diagnose.Report{fixedReport(t)},
		load: func(_ context.Context, progress func(string)) (*snapshot.Snapshot, error) {
			loads++
			progress("reading testdata/demo.yaml")
			return demoSnapshot(t), nil
		}})
	selectService(t, m, "shop/orders")
	press(m, "r")
	if m.job == nil {
		t.Fatal("r started nothing")
	}
	next(t, m) // "loading file …"
	next(t, m) // the source's own step
	mustContain(t, screen(m), "reading testdata/demo.yaml")
	drain(t, m)
	if loads != 1 {
		t.Fatalf("loaded %d times", loads)
	}
	if m.currentService().key != "shop/orders" {
		t.Fatalf("reload lost the selection: %s", m.currentService().key)
	}
	s := screen(m)
	mustContain(t, s, "vs last run 1 new · 1 fixed", "vs previous run: 1 new, 1 fixed, 4 unchanged", "WARNING NEW GWD103", "FIXED GWD102 wrong-node", "reloaded in")
	if d := m.ix.diff; d.New != 1 || d.Fixed != 1 || d.Unchanged != 4 {
		t.Fatalf("diff %+v", d)
	}
	// c copies only the selected finding's fix, and never a fixed one's.
	m.setFocus(paneFindings)
	for i := 0; i < len(m.fRows) && !m.currentFinding().fixed; i++ {
		press(m, "down")
	}
	if m.currentFinding() == nil || !m.currentFinding().fixed {
		t.Fatalf("no FIXED finding to select among %d rows", len(m.fRows))
	}
	if cmd := press(m, "c"); cmd != nil || !strings.Contains(m.status, "GWD102 is fixed") {
		t.Errorf("c on the FIXED GWD102: cmd %v, status %q; want nothing copied", cmd != nil, m.status)
	}
}

func TestReloadReprobesWhatWasProbed(t *testing.T) {
	fp := &fakeProber{}
	m, fd := newTestModel(t, testOpts{prober: fp})
	selectService(t, m, "shop/cart")
	press(m, "p")
	drain(t, m)
	press(m, "r")
	drain(t, m)
	if len(fp.targets) != 2 || len(fp.targets[1]) != 1 || fp.targets[1][0].String() != "127.0.10.11:8080" {
		t.Fatalf("reload probed %v", fp.targets)
	}
	mustContain(t, m.status, "re-probed 1 endpoint in")
	got := fd.seen[len(fd.seen)-1]
	if n := len(got.Probes); n != 1 {
		t.Fatalf("reloaded snapshot has %d probes, want the 1 re-probe", n)
	}
}

func TestLoadingShowsStepsThenFailureThenRetry(t *testing.T) {
	fail := true
	m, _ := newTestModel(t, testOpts{noReport: true, load: func(_ context.Context, progress func(string)) (*snapshot.Snapshot, error) {
		progress("listing security groups (page 2)")
		if fail {
			return nil, errors.New("ecs: Forbidden.RAM: DescribeSecurityGroups")
		}
		return demoSnapshot(t), nil
	}})
	m.Init()
	next(t, m)
	next(t, m)
	s := screen(m)
	mustContain(t, s, "listing security groups (page 2)", "x stops")
	drain(t, m)
	s = screen(m)
	mustContain(t, s, "Could not load the data: ecs: Forbidden.RAM", "r retries")
	press(m, "j", "tab", "enter", "c", "p", "s") // nothing to act on: no panic
	fail = false
	press(m, "r")
	drain(t, m)
	mustContain(t, screen(m), "BROKEN  legacy/erp", "BROKEN and UNKNOWN are listed first")
}

func TestPartialDataIsFlagged(t *testing.T) {
	m, _ := newTestModel(t, testOpts{noReport: true, load: func(context.Context, func(string)) (*snapshot.Snapshot, error) {
		return demoSnapshot(t), errors.New("nodePools: cs: throttled\nmore")
	}})
	m.Init()
	drain(t, m)
	if !m.statusErr || !strings.Contains(m.status, "data incomplete: nodePools: cs: throttled") {
		t.Fatalf("status %q", m.status)
	}
}

func TestDiagnoseAtStartWhenOnlyASnapshotIsGiven(t *testing.T) {
	m, fd := newTestModel(t, testOpts{})
	m.report, m.ix = nil, nil
	m.cfg.Report = nil
	m.Init()
	drain(t, m)
	if len(fd.seen) != 1 || fd.seen[0] != m.cfg.Snapshot {
		t.Fatalf("diagnosed %d snapshots", len(fd.seen))
	}
	if m.report == nil || m.report.Source == nil {
		t.Fatal("no report or no source after Init")
	}
}

func TestProbeAtStart(t *testing.T) {
	fp := &fakeProber{}
	m, _ := newTestModel(t, testOpts{prober: fp})
	m.cfg.ProbeAtStart = true
	m.Init()
	drain(t, m)
	if len(fp.targets) != 1 || len(fp.targets[0]) != 7 {
		t.Fatalf("probe at start: %v", fp.targets)
	}
}

func TestEveryFrameFillsTheTerminalExactly(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	for _, size := range [][2]int{{80, 24}, {120, 40}, {100, 30}, {200, 60}, {60, 16}, {81, 25}, {40, 10}, {1, 1}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, keys := range [][]string{nil, {"down", "down", "enter"}, {"enter"}, {"tab"}, {"?"}, {"?"}, {"esc", "esc", "esc"}} {
			press(m, keys...)
			lines := strings.Split(m.View().Content, "\n")
			if len(lines) != size[1] {
				t.Fatalf("%dx%d after %v: %d lines", size[0], size[1], keys, len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w != size[0] {
					t.Fatalf("%dx%d after %v: line %d is %d wide: %q", size[0], size[1], keys, i, w, ansi.Strip(l))
				}
			}
		}
	}
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 10})
	mustContain(t, screen(m), "needs at least 60×16")
}

func TestMouseWheelScrollsThePaneUnderThePointer(t *testing.T) {
	m, _ := newTestModel(t, testOpts{w: 80, h: 24})
	l := m.layout()
	m.Update(tea.MouseWheelMsg{X: 2, Y: l.services.y + 3, Button: tea.MouseWheelDown})
	if m.svc.cursor != 1 {
		t.Fatalf("wheel down over services: cursor %d", m.svc.cursor)
	}
	m.Update(tea.MouseWheelMsg{X: 2, Y: l.services.y + 3, Button: tea.MouseWheelUp})
	if m.svc.cursor != 0 {
		t.Fatalf("wheel up over services: cursor %d", m.svc.cursor)
	}
	selectService(t, m, "shop/orders")
	l = m.layout()
	m.Update(tea.MouseWheelMsg{X: l.detail.x + 2, Y: l.detail.y + 1, Button: tea.MouseWheelDown})
	if m.detail == 0 {
		t.Fatal("wheel over the detail did not scroll it")
	}
	if m.focus != paneServices {
		t.Fatalf("the wheel moved the focus to %v", m.focus)
	}
	m.Update(tea.MouseWheelMsg{X: 0, Y: 0, Button: tea.MouseWheelDown}) // header: nothing
}

func TestDetailScrolls(t *testing.T) {
	m, _ := newTestModel(t, testOpts{w: 80, h: 24})
	selectService(t, m, "shop/orders")
	press(m, "enter", "enter")
	top := screen(m)
	press(m, "j", "j")
	if m.detail != 2 {
		t.Fatalf("detail offset %d", m.detail)
	}
	if screen(m) == top {
		t.Fatal("scrolling the detail changed nothing")
	}
	press(m, "G")
	press(m, "k")
	mustContain(t, screen(m), "aliyun mse AddSecurityGroupRule")
}

func TestBackgroundColorPicksStyles(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	m.Update(tea.BackgroundColorMsg{Color: color.White})
	if !m.styles.Warning.GetUnderline() {
		t.Fatal("light background: warning style not adapted")
	}
	m.Update(tea.BackgroundColorMsg{Color: color.Black})
	if m.styles.Warning.GetUnderline() {
		t.Fatal("dark background: light style kept")
	}
}

func TestAgeTickKeepsTicking(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	if _, cmd := m.Update(ageTickMsg{}); cmd == nil {
		t.Fatal("age tick not rescheduled")
	}
	mustContain(t, screen(m), "data 2h30m old (captured 10:00 UTC)")
}

func TestStaleJobMessagesAreDropped(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	before := m.report
	stale := &job{}
	m.Update(jobDoneMsg{job: stale, report: fixedReport(t)})
	m.Update(jobStepMsg{job: stale, step: "ghost"})
	if m.report != before || strings.Contains(screen(m), "ghost") {
		t.Fatal("a stale job's message changed the model")
	}
}

func TestLongServiceListKeepsTheCursorVisible(t *testing.T) {
	r := fixtureReport(t)
	for i := 0; i < 60; i++ { // 60 more healthy services
		e := r.Endpoints[0]
		e.Service = fmt.Sprintf("bulk/svc-%02d", i)
		r.Endpoints = append(r.Endpoints, e)
	}
	m, _ := newTestModel(t, testOpts{w: 80, h: 24, reports: []*diagnose.Report{r}})
	m.setReport(r, m.snap, nil)
	for i := 0; i < 40; i++ {
		press(m, "down")
		if !strings.Contains(screen(m), "▸ "+m.currentService().status) {
			t.Fatalf("after %d downs the selected row is not on screen:\n%s", i+1, screen(m))
		}
	}
	mustContain(t, screen(m), "of 68")
}

func TestEmptyReport(t *testing.T) {
	empty := &diagnose.Report{SchemaVersion: 1, Gateway: diagnose.GatewayInfo{ID: "gw-empty"}}
	m, _ := newTestModel(t, testOpts{})
	m.setReport(empty, m.snap, nil)
	press(m, "j", "tab", "enter", "enter", "c", "p", "P", "e")
	s := screen(m)
	mustContain(t, s, "the snapshot lists no services", "0 endpoints")
}

func TestMouseClickFocusesAndSelects(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	l := m.layout()
	m.Update(tea.MouseClickMsg{X: 3, Y: l.services.y + 1 + 2, Button: tea.MouseLeft}) // third service row
	if k := m.currentService().key; k != "shop/orders" || m.focus != paneServices {
		t.Fatalf("click on the third service: %q, focus %v", k, m.focus)
	}
	l = m.layout()
	m.Update(tea.MouseClickMsg{X: l.findings.x + 3, Y: l.findings.y + 1, Button: tea.MouseLeft})
	if m.focus != paneFindings || m.currentFinding() == nil || m.currentFinding().f.Code != "GWD102" {
		t.Fatalf("click on the finding: focus %v", m.focus)
	}
	m.Update(tea.MouseClickMsg{X: l.detail.x + 3, Y: l.detail.y + 3, Button: tea.MouseLeft})
	if m.focus != paneDetail {
		t.Fatalf("click on the detail: focus %v", m.focus)
	}
	m.Update(tea.MouseClickMsg{X: 3, Y: l.services.y + 30, Button: tea.MouseLeft}) // below the list
	if m.currentService().key != "shop/orders" || m.focus != paneServices {
		t.Fatalf("click below the list changed the selection to %q", m.currentService().key)
	}
	m.Update(tea.MouseClickMsg{X: 3, Y: l.services.y + 1, Button: tea.MouseRight}) // right button: nothing
	if m.currentService().key != "shop/orders" {
		t.Fatal("a right click selected")
	}
}

// TestFilterFindsWhatTheOnCallHas: "/" with any IP, ip:port, pod, node, ENI
// or security group of an endpoint, or any code, slug or subject of a
// finding, shows that service; and every service it shows holds the text.
func TestFilterFindsWhatTheOnCallHas(t *testing.T) {
	m, _ := newTestModel(t, testOpts{})
	r := m.report
	// holders: term → the service keys that hold it, computed from the
	// report directly (not from the index the filter uses).
	holders := map[string]map[string]bool{}
	add := func(service string, terms ...string) {
		for _, term := range terms {
			if term == "" {
				continue
			}
			if holders[term] == nil {
				holders[term] = map[string]bool{}
			}
			holders[term][service] = true
		}
	}
	for _, e := range r.Endpoints {
		add(e.Service, e.IP, fmt.Sprintf("%s:%d", e.IP, e.Port), e.Pod, e.Node, e.ENI)
		add(e.Service, e.Groups...)
	}
	for _, f := range r.Findings {
		services := f.Services
		if len(services) == 0 {
			services = []string{gatewayWide}
		}
		for _, s := range services {
			add(s, f.Code, f.Check)
			add(s, f.Subjects...)
		}
	}
	if len(holders) < 30 {
		t.Fatalf("only %d terms in the fixture: the test would prove little", len(holders))
	}
	for term, want := range holders {
		m.filter.SetValue(strings.ToUpper(term)) // case does not matter
		m.refilter()
		shown := map[string]bool{}
		for _, s := range m.visible {
			shown[s.key] = true
		}
		for key := range want {
			if !shown[key] {
				t.Errorf("/%s does not show %s, which holds it", term, key)
			}
		}
		for key := range shown {
			held := false
			for other, services := range holders {
				if services[key] && strings.Contains(strings.ToLower(other), strings.ToLower(term)) {
					held = true
					break
				}
			}
			if !held && !strings.Contains(key, term) {
				t.Errorf("/%s shows %s, which holds nothing matching", term, key)
			}
		}
	}
	// The hand-written case: the IP in a 503 log line finds its service.
	m.filter.SetValue("127.0.10.11")
	m.refilter()
	if got := serviceKeys(m); len(got) != 1 || !strings.HasSuffix(got[0], "shop/cart") {
		t.Errorf("/127.0.10.11: %v, want shop/cart", got)
	}
}

// TestWideScreensShowCausesAndHeaderUncut: from 120 columns up, every
// service's cause is shown whole, and the header's summary line is not
// cut, before and after a reload (when it also says what changed).
func TestWideScreensShowCausesAndHeaderUncut(t *testing.T) {
	for _, reload := range []bool{false, true} {
		for w := 120; w <= 200; w += 5 {
			m, _ := newTestModel(t, testOpts{reports: []*diagnose.Report{fixedReport(t)}})
			m.Update(tea.WindowSizeMsg{Width: w, Height: 40})
			if reload {
				press(m, "r")
				drain(t, m)
			}
			lines := strings.Split(screen(m), "\n")
			if strings.Contains(lines[1], "…") || (reload && !strings.Contains(lines[1], "fixed")) {
				t.Errorf("width %d: header summary cut: %q", w, lines[1])
			}
			for _, s := range m.ix.services {
				cause := m.cause(s)
				if cause == "" {
					continue
				}
				found := false
				for _, line := range lines {
					left, _, _ := strings.Cut(line, "│")
					if strings.Contains(left, s.title()) && strings.Contains(left, " "+cause) {
						found = true
					}
				}
				if !found {
					t.Errorf("width %d (reload %v): %s's cause %q is not shown whole", w, reload, s.title(), cause)
				}
			}
		}
	}
}

// The endpoint table shows the gateway's own health check in a HEALTH
// column when the report holds it, marked where it decided the verdict;
// services without it keep the table they had.
func TestEndpointTableShowsTheGatewayHealthCheck(t *testing.T) {
	r := fixtureReport(t)
	withHealth := ""
	for i := range r.Endpoints {
		e := &r.Endpoints[i]
		if e.Service != "shop/orders" {
			continue
		}
		if withHealth == "" {
			e.HealthCheck, e.DecidedByHealthCheck = diagnose.HealthFailing, true
			withHealth = diagnose.JoinHostPort(e.IP, e.Port)
		} else {
			e.HealthCheck = diagnose.HealthPassing
		}
	}
	if withHealth == "" {
		t.Fatal("fixture has no shop/orders endpoint")
	}
	m, _ := newTestModel(t, testOpts{w: 200, h: 40, reports: []*diagnose.Report{r}})
	press(m, "r") // reload: the diagnoser answers with the report above
	drain(t, m)
	selectService(t, m, "shop/orders")
	mustContain(t, screen(m), "HEALTH", "failing (decides)")
	selectService(t, m, "shop/cart")
	mustNotContain(t, screen(m), "HEALTH")
}
