// Package tui is gwdoctor's interactive terminal UI (bubbletea v2) over a
// diagnosis report: the services with a status badge, the selected service's
// endpoints and findings, and the selected finding's evidence path and fix.
// Loading, re-collecting and probing run off the UI goroutine and stream
// their progress as messages. The data sources are functions the caller
// gives (Config), so tests drive the model with fakes; the package never
// imports a cloud SDK.
package tui

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"github.com/gwdoctor/gwdoctor/probe"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Source is where the data comes from: a file, a live collection or the demo.
type Source struct {
	Kind string // file, live, demo
	Name string // file name, "region/gateway", demo name
	// Load reads or collects a fresh snapshot, reporting each step through
	// progress. A snapshot with an error is partial (shown, with the error);
	// a nil snapshot with an error is a failure.
	Load func(ctx context.Context, progress func(step string)) (*snapshot.Snapshot, error)
}

// ProbeFunc probes targets, calling onResult as each one is decided (calls
// serialised), and returns every result. probe.Run fits it.
type ProbeFunc func(ctx context.Context, targets []probe.Target, onResult func(probe.Result)) []probe.Result

// DiagnoseFunc diagnoses a snapshot with the whole catalog.
type DiagnoseFunc func(ctx context.Context, snap *snapshot.Snapshot) *diagnose.Report

// Config is what the UI is given.
type Config struct {
	Source Source
	// Snapshot is the first data when the caller has already loaded it (a
	// file, so that bad input exits 2 before the UI starts); nil: Init loads
	// through Source.
	Snapshot *snapshot.Snapshot
	// Report is the first diagnosis of Snapshot when the caller has it; nil:
	// Init diagnoses Snapshot off the UI goroutine.
	Report   *diagnose.Report
	Diagnose DiagnoseFunc
	// Probe is the live prober; nil disables p and P.
	Probe ProbeFunc
	// ProbeFrom is the vantage point recorded with live probes (default operator).
	ProbeFrom string
	// ProbeSkip, when set, says why an endpoint must not be probed ("" to
	// probe it); the demo skips endpoints its security groups block, which
	// loopback cannot reproduce.
	ProbeSkip func(diagnose.EndpointResult) string
	// ProbeAtStart probes every endpoint once the first report is in.
	ProbeAtStart bool
	// ExportDir is where e writes the Markdown report (default ".").
	ExportDir string
	// Now is the clock (tests fix it).
	Now func() time.Time
	// Dark selects the styles until the terminal reports its background.
	Dark bool
}

type pane int

const (
	paneServices pane = iota
	paneEndpoints
	paneFindings
	paneDetail
	paneCount
)

func (p pane) String() string {
	return [...]string{"services", "endpoints", "findings", "detail"}[p]
}

// severity filter levels, cycled by s.
var severityLevels = []struct {
	min   diagnose.Severity
	label string
}{
	{diagnose.Info, "all"},
	{diagnose.Warning, "warnings and errors"},
	{diagnose.Error, "errors only"},
}

// Model is the UI's state. Create it with New.
type Model struct {
	cfg    Config
	keys   KeyMap
	styles Styles

	help     help.Model
	spinner  spinner.Model
	progress progress.Model
	filter   textinput.Model

	width, height int

	snap     *snapshot.Snapshot
	report   *diagnose.Report
	previous *diagnose.Report
	ix       *index
	loadErr  error // the last load's error (partial data, or no data at all)
	loadedAt time.Time
	runs     int

	// visible is the services list after the text and severity filters.
	visible     []*serviceEntry
	selectedKey string
	hasSelected bool // selectedKey is meaningful ("" is the gateway-wide entry)
	svc         listState
	ep          listState
	fnd         listState
	detail      int  // detail pane scroll offset
	detailOfEP  bool // the detail pane shows the selected endpoint, not a finding
	focus       pane

	fRows  []findingRow
	epCols []column
	// detailCache keeps the last detail body: wrapping it is most of a
	// frame's cost, and scrolling other panes does not change it.
	detailCache struct {
		key   detailKey
		lines []string
	}

	sevLevel  int
	filtering bool
	showHelp  bool

	job     *job
	live    map[string]probe.Result // results of the running probe job, by target
	pending map[string]bool         // targets of the running probe job not yet decided
	// probed remembers what this session probed live, so r re-probes it
	// and the comparison with the previous run is like for like.
	probed    map[string]bool
	probedAll bool

	status    string
	statusErr bool
	quitting  bool
}

// listState is a cursor with a scroll offset.
type listState struct{ cursor, offset int }

type findingRow struct {
	f     *diagnose.Finding
	fixed bool
}

// New creates the model. cfg.Diagnose is required, and cfg.Source.Load
// unless cfg.Snapshot is given.
func New(cfg Config) *Model {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProbeFrom == "" {
		cfg.ProbeFrom = "operator"
	}
	if cfg.ExportDir == "" {
		cfg.ExportDir = "."
	}
	m := &Model{
		cfg:      cfg,
		keys:     DefaultKeyMap(),
		help:     help.New(),
		spinner:  spinner.New(spinner.WithSpinner(spinner.Dot)),
		progress: progress.New(progress.WithWidth(20), progress.WithoutPercentage(), progress.WithFillCharacters('█', '░')),
		filter:   textinput.New(),
		width:    80,
		height:   24,
		probed:   map[string]bool{},
	}
	m.filter.Prompt = "/"
	m.filter.Placeholder = "name, IP, pod, node, group, code"
	m.filter.CharLimit = 64
	// The filter is drawn in the services title; no blinking cursor to drive.
	m.filter.SetVirtualCursor(false)
	m.setStyles(NewStyles(cfg.Dark))
	m.snap = cfg.Snapshot
	if cfg.Report != nil {
		m.setReport(cfg.Report, cfg.Snapshot, nil)
	}
	return m
}

func (m *Model) setStyles(s Styles) {
	m.detailCache.lines = nil
	m.detailCache.key = detailKey{}
	m.styles = s
	m.help.Styles = s.Help
	m.spinner.Style = s.Spinner
}

// Init starts the first load or diagnosis, and asks the terminal for its background.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor, m.tickAge()}
	switch {
	case m.report != nil:
		if m.cfg.ProbeAtStart {
			cmds = append(cmds, m.startProbe(true))
		}
	case m.snap != nil:
		cmds = append(cmds, m.startJob("diagnosing", pipeline{snap: m.snap}))
	default:
		cmds = append(cmds, m.startJob("loading", pipeline{load: true}))
	}
	return tea.Batch(cmds...)
}

// ageTickMsg refreshes the data's age in the header.
type ageTickMsg struct{}

func (m *Model) tickAge() tea.Cmd {
	return tea.Tick(30*time.Second, func(time.Time) tea.Msg { return ageTickMsg{} })
}

// setReport installs a new diagnosis, keeping the selection by service key
// and comparing findings with the previous report when there is one.
func (m *Model) setReport(r *diagnose.Report, snap *snapshot.Snapshot, previous *diagnose.Report) {
	m.previous = previous
	m.report = r
	m.snap = snap
	m.ix = newIndex(r, previous)
	m.loadedAt = m.cfg.Now()
	m.runs++
	m.refilter()
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 1), max(msg.Height, 1)
		m.clampAll()
		return m, nil
	case tea.BackgroundColorMsg:
		m.setStyles(NewStyles(msg.IsDark()))
		return m, nil
	case ageTickMsg:
		return m, m.tickAge()
	case spinner.TickMsg:
		if m.job == nil {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case jobStepMsg:
		if m.job == nil || msg.job != m.job {
			return m, nil
		}
		m.job.step = msg.step
		return m, m.job.wait()
	case jobProbeStartMsg:
		if m.job == nil || msg.job != m.job {
			return m, nil
		}
		m.job.total = len(msg.targets)
		m.job.done = 0
		m.live = map[string]probe.Result{}
		m.pending = make(map[string]bool, len(msg.targets))
		for _, t := range msg.targets {
			m.pending[t.String()] = true
		}
		return m, m.job.wait()
	case jobProbeResultsMsg:
		if m.job == nil || msg.job != m.job {
			return m, nil
		}
		for _, r := range msg.results {
			key := r.Target.String()
			m.live[key] = r
			delete(m.pending, key)
			if r.State == probe.StateFiltered {
				m.job.filtered++
			}
		}
		m.job.done += len(msg.results)
		return m, m.job.wait()
	case jobDoneMsg:
		if m.job == nil || msg.job != m.job {
			return m, nil
		}
		return m, m.finishJob(msg)
	case exportedMsg:
		if msg.err != nil {
			m.setStatus(true, "export failed: %v", msg.err)
		} else {
			m.setStatus(false, "report exported as Markdown to %s", msg.path)
		}
		return m, nil
	case tea.MouseWheelMsg:
		m.wheel(tea.Mouse(msg))
		return m, nil
	case tea.MouseClickMsg:
		if msg.Button == tea.MouseLeft {
			m.click(msg.X, msg.Y)
		}
		return m, nil
	case tea.PasteMsg:
		if m.filtering {
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			m.refilter()
			return m, cmd
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	}
	return m, nil
}

func (m *Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if msg.String() == "ctrl+c" {
		return m, m.quit()
	}
	if m.filtering {
		return m.handleFilterKey(msg)
	}
	// A status message lasts until the next key; the hint then returns.
	m.status, m.statusErr = "", false
	if m.showHelp {
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m, m.quit()
		case key.Matches(msg, m.keys.Help, m.keys.Back):
			m.showHelp = false
		}
		return m, nil
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m, m.quit()
	case key.Matches(msg, k.Help):
		m.showHelp = true
	case key.Matches(msg, k.Stop):
		if m.job != nil {
			m.job.cancel()
			m.setStatus(false, "stopping %s…", m.job.title)
		} else {
			m.setStatus(false, "nothing is running")
		}
	case m.report == nil:
		// Until the first report arrives only quit, help, stop and reload apply.
		if key.Matches(msg, k.Reload) && m.job == nil {
			return m, m.startJob("loading", pipeline{load: true})
		}
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.PageUp):
		m.move(-max(1, m.layout().bodyH-3))
	case key.Matches(msg, k.PageDown):
		m.move(max(1, m.layout().bodyH-3))
	case key.Matches(msg, k.Top):
		m.move(-1 << 30)
	case key.Matches(msg, k.Bottom):
		m.move(1 << 30)
	case key.Matches(msg, k.NextPane):
		m.setFocus((m.focus + 1) % paneCount)
	case key.Matches(msg, k.PrevPane):
		m.setFocus((m.focus + paneCount - 1) % paneCount)
	case key.Matches(msg, k.Enter):
		m.drillIn()
	case key.Matches(msg, k.Back):
		m.backOut()
	case key.Matches(msg, k.Filter):
		m.filtering = true
		return m, m.filter.Focus()
	case key.Matches(msg, k.Severity):
		m.sevLevel = (m.sevLevel + 1) % len(severityLevels)
		m.refilter()
		m.setStatus(false, "severity filter: %s", severityLevels[m.sevLevel].label)
	case key.Matches(msg, k.Probe):
		return m, m.startProbe(false)
	case key.Matches(msg, k.ProbeAll):
		return m, m.startProbe(true)
	case key.Matches(msg, k.Reload):
		return m, m.reload()
	case key.Matches(msg, k.Copy):
		return m, m.copyCommand()
	case key.Matches(msg, k.Export):
		return m, m.export()
	}
	return m, nil
}

func (m *Model) handleFilterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		m.filtering = false
		m.filter.Blur()
		m.filter.SetValue("")
		m.refilter()
		return m, nil
	case "enter", "tab", "down":
		m.filtering = false
		m.filter.Blur()
		m.refilter()
		return m, nil
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.refilter()
	return m, cmd
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	if m.job != nil {
		m.job.kill()
	}
	return tea.Quit
}

func (m *Model) setStatus(isErr bool, format string, args ...any) {
	m.status = fmt.Sprintf(format, args...)
	m.statusErr = isErr
}

// setFocus moves the focus; the detail pane follows the last list focused.
func (m *Model) setFocus(p pane) {
	m.focus = p
	switch p {
	case paneEndpoints:
		m.detailOfEP = true
		m.detail = 0
	case paneFindings:
		m.detailOfEP = false
		m.detail = 0
	}
}

// drillIn is enter: services → findings (endpoints when there are none) →
// detail.
func (m *Model) drillIn() {
	switch m.focus {
	case paneServices:
		if len(m.fRows) > 0 {
			m.setFocus(paneFindings)
		} else {
			m.setFocus(paneEndpoints)
		}
	case paneEndpoints, paneFindings:
		m.detailOfEP = m.focus == paneEndpoints
		m.focus = paneDetail
		m.detail = 0
	}
}

// backOut is esc: detail → the list it shows → services; on the services
// list it clears the filters.
func (m *Model) backOut() {
	switch m.focus {
	case paneDetail:
		if m.detailOfEP {
			m.focus = paneEndpoints
		} else {
			m.focus = paneFindings
		}
	case paneEndpoints, paneFindings:
		m.focus = paneServices
	case paneServices:
		if m.filter.Value() != "" || m.sevLevel != 0 {
			m.filter.SetValue("")
			m.sevLevel = 0
			m.refilter()
			m.setStatus(false, "filters cleared")
		}
	}
}

// move moves the focused pane's cursor (or scrolls the detail) by delta.
func (m *Model) move(delta int) {
	switch m.focus {
	case paneServices:
		before := m.svc.cursor
		m.svc.cursor = clamp(m.svc.cursor+delta, 0, len(m.visible)-1)
		if m.svc.cursor != before {
			m.selectService()
		}
	case paneEndpoints:
		m.ep.cursor = clamp(m.ep.cursor+delta, 0, len(m.currentEndpoints())-1)
		m.detail = 0
	case paneFindings:
		m.fnd.cursor = clamp(m.fnd.cursor+delta, 0, len(m.fRows)-1)
		m.detail = 0
	case paneDetail:
		m.detail = max(0, m.detail+delta)
	}
	m.clampAll()
}

// wheel scrolls the pane under the mouse pointer.
func (m *Model) wheel(ms tea.Mouse) {
	delta := 0
	switch ms.Button {
	case tea.MouseWheelUp:
		delta = -1
	case tea.MouseWheelDown:
		delta = 1
	default:
		return
	}
	if m.report == nil || m.showHelp {
		return
	}
	p, ok := m.layout().paneAt(ms.X, ms.Y)
	if !ok {
		return
	}
	saved := m.focus
	m.focus = p
	if p == paneDetail {
		m.detail = max(0, m.detail+3*delta)
	} else {
		m.move(delta)
	}
	m.focus = saved
	m.clampAll()
}

// click focuses the pane under the pointer and selects the row clicked.
func (m *Model) click(x, y int) {
	if m.report == nil || m.showHelp || m.filtering {
		return
	}
	l := m.layout()
	p, ok := l.paneAt(x, y)
	if !ok {
		return
	}
	rowAt := func(r rect, headerLines, offset, n int) int {
		i := offset + y - r.y - headerLines
		if y < r.y+headerLines || i >= n {
			return -1
		}
		return i
	}
	switch p {
	case paneServices:
		if i := rowAt(l.services, 1, m.svc.offset, len(m.visible)); i >= 0 && i != m.svc.cursor {
			m.svc.cursor = i
			m.selectService()
		}
	case paneEndpoints:
		if i := rowAt(l.endpoints, 2, m.ep.offset, len(m.currentEndpoints())); i >= 0 {
			m.ep.cursor = i
		}
	case paneFindings:
		if i := rowAt(l.findings, 1, m.fnd.offset, len(m.fRows)); i >= 0 {
			m.fnd.cursor = i
		}
	}
	m.setFocus(p)
	m.clampAll()
}

// refilter recomputes the visible services after a filter or report change,
// keeping the selected service when it is still visible.
func (m *Model) refilter() {
	if m.ix == nil {
		return
	}
	text := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	min := severityLevels[m.sevLevel].min
	m.visible = m.visible[:0]
	for _, s := range m.ix.services {
		if text != "" && !strings.Contains(s.search, text) {
			continue
		}
		if !statusAtLeast(s.status, min) {
			continue
		}
		m.visible = append(m.visible, s)
	}
	m.svc.cursor = 0
	for i, s := range m.visible {
		if m.hasSelected && s.key == m.selectedKey {
			m.svc.cursor = i
			break
		}
	}
	m.selectService()
}

// selectService rebuilds the right column's rows for the service under the cursor.
func (m *Model) selectService() {
	s := m.currentService()
	key := ""
	if s != nil {
		key = s.key
	}
	if key != m.selectedKey || s == nil || !m.hasSelected {
		m.ep, m.fnd, m.detail = listState{}, listState{}, 0
	}
	m.selectedKey, m.hasSelected = key, s != nil
	m.fRows = m.fRows[:0]
	m.epCols = nil
	if s == nil {
		return
	}
	min := severityLevels[m.sevLevel].min
	for _, i := range s.findings {
		f := &m.report.Findings[i]
		if f.Level() >= min {
			m.fRows = append(m.fRows, findingRow{f: f})
		}
	}
	for _, f := range s.fixed {
		if f.Level() >= min {
			m.fRows = append(m.fRows, findingRow{f: f, fixed: true})
		}
	}
	m.epCols = endpointColumns(m.report, s.endpoints)
	m.clampAll()
}

func (m *Model) currentService() *serviceEntry {
	if m.svc.cursor < 0 || m.svc.cursor >= len(m.visible) {
		return nil
	}
	return m.visible[m.svc.cursor]
}

func (m *Model) currentEndpoints() []int {
	if s := m.currentService(); s != nil {
		return s.endpoints
	}
	return nil
}

func (m *Model) currentEndpoint() *diagnose.EndpointResult {
	eps := m.currentEndpoints()
	if m.ep.cursor < 0 || m.ep.cursor >= len(eps) {
		return nil
	}
	return &m.report.Endpoints[eps[m.ep.cursor]]
}

func (m *Model) currentFinding() *findingRow {
	if m.fnd.cursor < 0 || m.fnd.cursor >= len(m.fRows) {
		return nil
	}
	return &m.fRows[m.fnd.cursor]
}

// clampAll keeps cursors inside their lists and visible in their panes.
func (m *Model) clampAll() {
	if m.report == nil {
		return
	}
	l := m.layout()
	m.svc.cursor = clamp(m.svc.cursor, 0, len(m.visible)-1)
	svcRows := l.services.rows()
	if len(m.visible) > svcRows {
		svcRows-- // the last line shows the scroll position
	}
	m.svc.keepVisible(svcRows)
	m.ep.cursor = clamp(m.ep.cursor, 0, len(m.currentEndpoints())-1)
	m.ep.keepVisible(l.endpoints.rows() - 1) // minus the column header
	m.fnd.cursor = clamp(m.fnd.cursor, 0, len(m.fRows)-1)
	m.fnd.keepVisible(l.findings.rows())
}

func (s *listState) keepVisible(rows int) {
	rows = max(rows, 1)
	if s.cursor < s.offset {
		s.offset = s.cursor
	}
	if s.cursor >= s.offset+rows {
		s.offset = s.cursor - rows + 1
	}
	s.offset = max(0, s.offset)
}

func clamp(v, lo, hi int) int {
	if hi < lo {
		return lo
	}
	return min(max(v, lo), hi)
}

// probeTargets lists the unique ip:port targets of the given endpoints that
// may be probed, and how many were skipped and why.
func (m *Model) probeTargets(eps []int) (targets []probe.Target, skipped int, why string) {
	seen := map[string]bool{}
	for _, i := range eps {
		e := m.report.Endpoints[i]
		if m.cfg.ProbeSkip != nil {
			if reason := m.cfg.ProbeSkip(e); reason != "" {
				skipped++
				why = reason
				continue
			}
		}
		if _, err := netip.ParseAddr(e.IP); err != nil {
			continue
		}
		t := probe.Target{Host: e.IP, Port: e.Port}
		if k := t.String(); !seen[k] {
			seen[k] = true
			targets = append(targets, t)
		}
	}
	return targets, skipped, why
}

// startProbe probes the selected service's endpoints, or all.
func (m *Model) startProbe(all bool) tea.Cmd {
	if m.cfg.Probe == nil {
		m.setStatus(true, "probing is not available here")
		return nil
	}
	if m.job != nil {
		m.setStatus(true, "busy %s: wait, or x to stop it", m.job.title)
		return nil
	}
	var eps []int
	what := "every service"
	if all {
		eps = make([]int, len(m.report.Endpoints))
		for i := range eps {
			eps[i] = i
		}
	} else {
		s := m.currentService()
		if s == nil || len(s.endpoints) == 0 {
			m.setStatus(true, "the selected service has no endpoints to probe")
			return nil
		}
		eps = s.endpoints
		what = s.title()
	}
	targets, skipped, why := m.probeTargets(eps)
	if len(targets) == 0 {
		if skipped > 0 {
			m.setStatus(true, "nothing to probe: %s skipped (%s)", words.Count(skipped, "endpoint", "endpoints"), why)
		} else {
			m.setStatus(true, "nothing to probe")
		}
		return nil
	}
	for _, t := range targets {
		m.probed[t.String()] = true
	}
	m.probedAll = m.probedAll || all
	note := ""
	if skipped > 0 {
		note = fmt.Sprintf("; %d skipped: %s", skipped, why)
	}
	m.setStatus(false, "probing %s: %s%s", what, words.Count(len(targets), "endpoint", "endpoints"), note)
	cmd := m.startJob("probing "+what, pipeline{snap: m.snap, probe: targets})
	m.job.note = strings.TrimPrefix(note, "; ")
	return cmd
}

// reload re-reads (file), re-collects (live) or re-runs (demo) the source,
// re-probes what this session probed, and re-diagnoses; the view then shows
// what changed since the previous run.
func (m *Model) reload() tea.Cmd {
	if m.job != nil {
		m.setStatus(true, "busy %s: wait, or x to stop it", m.job.title)
		return nil
	}
	if m.cfg.Source.Load == nil {
		m.setStatus(true, "this source cannot be reloaded")
		return nil
	}
	verb := map[string]string{"live": "re-collecting", "file": "reloading"}[m.cfg.Source.Kind]
	if verb == "" {
		verb = "reloading"
	}
	return m.startJob(verb, pipeline{load: true, reprobe: len(m.probed) > 0})
}

// copyCommand sends the selected finding's fix commands to the terminal's
// clipboard (OSC 52) and shows them in the detail pane. OSC 52 is a request
// the terminal may ignore (tmux's default set-clipboard external, many
// terminals' settings) and nothing reports whether it arrived, so the status
// says "sent", not "copied", and the command is put on screen to select by
// hand.
func (m *Model) copyCommand() tea.Cmd {
	row := m.currentFinding()
	if row == nil {
		m.setStatus(true, "no finding selected: select a service with findings")
		return nil
	}
	if row.fixed {
		m.setStatus(true, "%s is fixed since the previous run: there is nothing to apply", row.f.Code)
		return nil
	}
	cmds := row.f.Remediation.Commands
	if len(cmds) == 0 {
		m.setStatus(true, "%s has no command to copy; its fix is the console steps in the detail pane", row.f.Code)
		return nil
	}
	m.showFix(row)
	what := "the command"
	if len(cmds) > 1 {
		what = fmt.Sprintf("its %d commands", len(cmds)) //words:never-one
	}
	m.setStatus(false, "sent %s of %s to the clipboard by OSC 52; tmux or the terminal may block that: if paste is empty, select it under Fix (shift+drag)", what, row.f.Code)
	return tea.SetClipboard(strings.Join(cmds, "\n"))
}

// showFix opens the detail pane on the finding's Fix section.
func (m *Model) showFix(row *findingRow) {
	m.detailOfEP = false
	m.focus = paneDetail
	m.detail = 0
	lines := m.findingDetail(row, m.layout().detail.w-2)
	for i, line := range lines {
		if strings.HasPrefix(ansi.Strip(line), "Fix") {
			m.detail = i
			break
		}
	}
}
