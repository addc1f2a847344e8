package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// View renders the screen: always exactly width×height cells, so resizing
// never leaves stale lines behind.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "gwdoctor"
	if m.report != nil {
		v.WindowTitle = "gwdoctor · " + m.report.Gateway.ID
	}
	if m.job != nil && m.job.total > 0 {
		v.ProgressBar = tea.NewProgressBar(tea.ProgressBarDefault, int(100*m.job.fraction()))
	}
	return v
}

// Render is the screen's content as a string (View's content).
func (m *Model) Render() string {
	if m.quitting {
		return ""
	}
	w, h := m.width, m.height
	if w < minWidth || h < minHeight {
		msg := fmt.Sprintf("gwdoctor needs at least %d×%d; this terminal is %d×%d. Enlarge it, or q to quit.", minWidth, minHeight, w, h)
		lines := wrapWords(msg, max(w, 10))
		return m.frame(lines, w, h)
	}
	lines := make([]string, 0, h)
	lines = append(lines, m.headerLines(w)...)
	l := m.layout()
	switch {
	case m.showHelp:
		lines = append(lines, m.helpBody(w, l.bodyH)...)
	case m.report == nil:
		lines = append(lines, m.loadingBody(w, l.bodyH)...)
	default:
		right := make([]string, 0, l.bodyH)
		if l.endpoints.h > 0 {
			right = append(right, m.endpointsPane(l.endpoints)...)
		}
		if l.findings.h > 0 {
			right = append(right, m.findingsPane(l.findings)...)
		}
		right = append(right, m.detailPane(l.detail)...)
		if l.leftW == 0 { // zoomed into the detail on a narrow screen
			lines = append(lines, right...)
			break
		}
		left := m.servicesPane(l.services)
		sep := m.styles.Separator.Render("│")
		for i := 0; i < l.bodyH; i++ {
			lines = append(lines, left[i]+sep+right[i])
		}
	}
	lines = append(lines, m.statusLine(w), m.helpLine(w))
	return m.frame(lines, w, h)
}

// frame fits lines to exactly w×h.
func (m *Model) frame(lines []string, w, h int) string {
	out := make([]string, h)
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], w)
		} else {
			out[i] = strings.Repeat(" ", w)
		}
	}
	return strings.Join(out, "\n")
}

// fit truncates s (styled) to w cells with an ellipsis and pads it to w.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := textWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// ---- header ---------------------------------------------------------------

func (m *Model) headerLines(w int) []string {
	st := &m.styles
	title := st.Title.Render("gwdoctor")
	if m.report == nil {
		src := m.cfg.Source.Kind
		if m.cfg.Source.Name != "" {
			src += " " + m.cfg.Source.Name
		}
		return []string{title + "  " + src, ""}
	}
	r := m.report
	gw := st.Bold.Render(r.Gateway.ID)
	if r.Gateway.Name != "" {
		gw += " (" + r.Gateway.Name + ")"
	}
	parts := []string{gw, m.sourceText()}
	if r.Gateway.Region != "" {
		parts = append(parts, r.Gateway.Region)
	}
	line1 := title + "  " + strings.Join(parts, " · ")
	return []string{line1, m.summaryLine(w)}
}

// summaryLine is the header's second line: endpoint counts, finding counts,
// the change since the previous run, failed checks. Wordier forms first; the
// first that fits w is used, so nothing is cut at common widths (120
// columns fits the longest of them in the middle form).
func (m *Model) summaryLine(w int) string {
	st := &m.styles
	r := m.report
	s := r.Summary
	var line string
	for level := 0; level < 3; level++ {
		sep := st.Dim.Render([]string{"  │  ", " │ ", " │ "}[level])
		counts := fmt.Sprintf("%s reachable · %s blocked · %s unknown",
			st.OK.Render(strconv.Itoa(s.Reachable)), st.Broken.Render(strconv.Itoa(s.Blocked)), st.Unknown.Render(strconv.Itoa(s.Unknown)))
		if level == 0 {
			counts = fmt.Sprintf("%s: %s", plural(s.Endpoints, "endpoint", "endpoints"), counts)
		}
		findings := fmt.Sprintf("%s · %s · %s",
			st.SevError.Render(plural(s.Errors, "error", "errors")), st.SevWarning.Render(plural(s.Warnings, "warning", "warnings")), plural(s.Infos, "info", "infos"))
		if level == 2 {
			findings = fmt.Sprintf("%s · %s · %s",
				st.SevError.Render(fmt.Sprintf("%d err", s.Errors)), st.SevWarning.Render(fmt.Sprintf("%d warn", s.Warnings)), fmt.Sprintf("%d info", s.Infos))
		}
		line = counts + sep + findings
		if d := m.ix.diff; d != nil {
			change := fmt.Sprintf("%s · %s · %d same", st.New.Render(fmt.Sprintf("%d new", d.New)), st.Fixed.Render(fmt.Sprintf("%d fixed", d.Fixed)), d.Unchanged)
			if level == 0 {
				change = "since last run: " + change
			} else {
				change = "vs last run " + change
			}
			line += sep + change
		}
		if n := len(r.CheckErrors); n > 0 {
			line += sep + st.StatusError.Render(fmt.Sprintf("%s failed: report incomplete", plural(n, "check", "checks")))
		}
		if textWidth(line) <= w {
			break
		}
	}
	return line
}

// sourceText is "file x.yaml, captured 2026-11-28 10:00 UTC (3h ago)".
func (m *Model) sourceText() string {
	src := m.cfg.Source.Kind
	if m.cfg.Source.Name != "" && m.cfg.Source.Kind != "demo" {
		src += " " + m.cfg.Source.Name
	}
	captured := ""
	if m.snap != nil {
		captured = m.snap.CapturedAt
	}
	if t, err := time.Parse(time.RFC3339, captured); err == nil {
		now := m.cfg.Now()
		layout := "2006-01-02 15:04 UTC"
		if now.UTC().Format("20060102") == t.UTC().Format("20060102") {
			layout = "15:04 UTC"
		}
		return fmt.Sprintf("%s · data %s (captured %s)", src, age(now.Sub(t)), t.UTC().Format(layout))
	}
	if captured != "" {
		return src + " · captured " + captured
	}
	return fmt.Sprintf("%s · loaded %s", src, age(m.cfg.Now().Sub(m.loadedAt)))
}

func age(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future: check the clock"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm old", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm old", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days old", int(d.Hours()/24)) //words:never-one (48h and more)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// ---- panes ----------------------------------------------------------------

// paneTitle draws a pane's title line: reversed with ▶ when focused.
func (m *Model) paneTitle(p pane, text string, w int) string {
	if m.focus == p {
		return m.styles.PaneTitleFocused.Render(fit("▶ "+text, w))
	}
	return m.styles.PaneTitle.Render(fit("  "+text, w))
}

// row draws a list row: ▸ marks the selected row in every pane; in the
// focused pane the row is also reversed (drawn from its plain text, so inner
// colours cannot cut the highlight short).
func (m *Model) row(p pane, selected bool, styled, plain string, w int) string {
	if !selected {
		return fit("  "+styled, w)
	}
	if m.focus == p {
		return m.styles.Selected.Render(fit("▸ "+plain, w))
	}
	return fit(m.styles.SelectedBlurred.Render("▸ ")+styled, w)
}

func (m *Model) servicesPane(r rect) []string {
	lines := make([]string, 0, r.h)
	total := len(m.ix.services)
	var title string
	switch {
	case m.filtering:
		title = fmt.Sprintf("SERVICES %d/%d /%s▏", len(m.visible), total, m.filter.Value())
		lines = append(lines, m.styles.PaneTitleFocused.Render(fit("▶ "+title, r.w)))
	default:
		title = fmt.Sprintf("SERVICES %d", total)
		if len(m.visible) != total {
			title = fmt.Sprintf("SERVICES %d of %d", len(m.visible), total)
		}
		if f := m.filter.Value(); f != "" {
			title += " /" + f
		}
		if m.sevLevel != 0 {
			title += " · " + severityLevels[m.sevLevel].label
		}
		lines = append(lines, m.paneTitle(paneServices, title, r.w))
	}
	rows := r.rows()
	switch {
	case total == 0:
		lines = append(lines, fit("  "+m.styles.Dim.Render("the snapshot lists no services"), r.w))
	case len(m.visible) == 0:
		lines = append(lines, fit("  "+m.styles.Dim.Render("no service matches (esc clears)"), r.w))
	}
	showCause := r.w >= 36
	nameW := 0
	if showCause {
		for i := m.svc.offset; i < len(m.visible) && i < m.svc.offset+rows; i++ {
			nameW = max(nameW, ansi.StringWidth(m.visible[i].title()))
		}
		nameW = min(nameW, r.w-2-8-2-10)
	}
	for i := m.svc.offset; i < len(m.visible) && len(lines) < rows+1; i++ {
		s := m.visible[i]
		badge := fmt.Sprintf("%-8s", s.status)
		plain := badge + s.title()
		styled := m.styles.status(s.status).Render(badge) + s.title()
		if showCause {
			if c := m.cause(s); c != "" {
				name := padRight(truncate(s.title(), nameW), nameW)
				plain = badge + name + "  " + c
				styled = m.styles.status(s.status).Render(badge) + name + "  " + m.styles.Dim.Render(c)
			}
		}
		lines = append(lines, m.row(paneServices, i == m.svc.cursor, styled, plain, r.w))
	}
	for len(lines) < r.h {
		lines = append(lines, strings.Repeat(" ", r.w))
	}
	if len(m.visible) > rows && rows > 0 {
		// Scroll position in the last line when the list is longer than the pane.
		lines[r.h-1] = fit(m.styles.Dim.Render(fmt.Sprintf("  %d-%d of %d", m.svc.offset+1, min(m.svc.offset+rows-1, len(m.visible)), len(m.visible))), r.w)
	}
	return lines
}

// cause is a service's main finding slug, for the services list.
func (m *Model) cause(s *serviceEntry) string {
	for _, i := range s.findings {
		f := &m.report.Findings[i]
		if f.Code != diagnose.CodeVerdictUnknown && f.Code != diagnose.CodeCheckSkipped {
			return f.Check
		}
	}
	if len(s.findings) > 0 {
		return m.report.Findings[s.findings[0]].Check
	}
	return ""
}

func (m *Model) endpointsPane(r rect) []string {
	lines := make([]string, 0, r.h)
	s := m.currentService()
	if s == nil {
		lines = append(lines, m.paneTitle(paneEndpoints, "ENDPOINTS", r.w))
		return padLines(lines, r)
	}
	eps := s.endpoints
	title := fmt.Sprintf("ENDPOINTS %s — %d: %d reachable, %d blocked, %d unknown", s.title(), len(eps), s.health.Reachable, s.health.Blocked, s.health.Unknown)
	if m.job != nil && len(m.pending) > 0 {
		title += fmt.Sprintf(" · probing %d", len(m.pending))
	}
	lines = append(lines, m.paneTitle(paneEndpoints, title, r.w))
	if r.h < 2 {
		return lines
	}
	if len(eps) == 0 {
		lines = append(lines, fit("  "+m.styles.Dim.Render("no endpoints: the gateway has nothing to route to"), r.w))
		return padLines(lines, r)
	}
	cols := fitColumns(m.epCols, r.w-2)
	hdr := make([]string, len(cols))
	for i, c := range cols {
		hdr[i] = padRight(c.name, c.width)
	}
	lines = append(lines, fit("  "+m.styles.TableHeader.Render(strings.Join(hdr, "  ")), r.w))
	rows := r.h - 2
	offset := m.ep.offset
	if m.focus == paneDetail && m.detailOfEP && rows == 1 {
		offset = m.ep.cursor
	}
	for i := offset; i < len(eps) && i < offset+rows; i++ {
		e := &m.report.Endpoints[eps[i]]
		plainCells := make([]string, len(cols))
		styledCells := make([]string, len(cols))
		for j, c := range cols {
			text, word := m.cell(c.name, e)
			cell := padRight(truncate(text, c.width), c.width)
			plainCells[j] = cell
			if word != "" {
				styledCells[j] = m.styles.verdict(word).Render(cell)
			} else {
				styledCells[j] = cell
			}
		}
		lines = append(lines, m.row(paneEndpoints, i == m.ep.cursor, strings.Join(styledCells, "  "), strings.Join(plainCells, "  "), r.w))
	}
	return padLines(lines, r)
}

func padLines(lines []string, r rect) []string {
	for len(lines) < r.h {
		lines = append(lines, strings.Repeat(" ", r.w))
	}
	for i := range lines {
		lines[i] = fit(lines[i], r.w)
	}
	return lines[:r.h]
}

func padRight(s string, w int) string {
	if n := textWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

func truncate(s string, w int) string {
	if textWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

func (m *Model) findingsPane(r rect) []string {
	lines := make([]string, 0, r.h)
	s := m.currentService()
	title := "FINDINGS"
	if s != nil {
		title = fmt.Sprintf("FINDINGS %s — %d", s.title(), len(m.fRows))
	}
	if m.sevLevel != 0 {
		title += " (" + severityLevels[m.sevLevel].label + ")"
	}
	lines = append(lines, m.paneTitle(paneFindings, title, r.w))
	if len(m.fRows) == 0 && r.h > 1 {
		msg := "no findings"
		if s != nil && s.status == StatusOK {
			msg = "no findings: every endpoint is reachable"
		} else if m.sevLevel != 0 {
			msg = "none at this severity (s cycles the filter)"
		}
		lines = append(lines, fit("  "+m.styles.Dim.Render(msg), r.w))
	}
	rows := r.rows()
	offset := m.fnd.offset
	if rows == 1 {
		offset = m.fnd.cursor
	}
	for i := offset; i < len(m.fRows) && i < offset+rows; i++ {
		fr := m.fRows[i]
		f := fr.f
		sev := fmt.Sprintf("%-7s", strings.ToUpper(f.Level().String()))
		change := ""
		switch {
		case fr.fixed:
			change = changeFixed
		default:
			change = m.ix.change(f)
		}
		head := f.Code + " " + f.Check
		plain := sev + " "
		styled := m.styles.severity(f.Level()).Render(sev) + " "
		if change != "" {
			plain += change + " "
			if fr.fixed {
				styled += m.styles.Fixed.Render(change) + " "
			} else {
				styled += m.styles.New.Render(change) + " "
			}
		}
		plain += head + "  " + f.Message
		if fr.fixed {
			styled += m.styles.Dim.Render(head + "  " + f.Message)
		} else {
			styled += m.styles.Bold.Render(head) + "  " + f.Message
		}
		lines = append(lines, m.row(paneFindings, i == m.fnd.cursor, styled, plain, r.w))
	}
	return padLines(lines, r)
}

func (m *Model) detailPane(r rect) []string {
	var title string
	var body []string
	w := r.w - 2
	zoomed := m.layout().findings.h == 0
	switch {
	case m.detailOfEP:
		if e := m.currentEndpoint(); e != nil {
			title = "DETAIL endpoint " + diagnose.JoinHostPort(e.IP, e.Port)
			if zoomed {
				title = "DETAIL " + e.Service + " · endpoint " + diagnose.JoinHostPort(e.IP, e.Port)
			}
			body = m.endpointDetail(e, w)
		}
	default:
		if fr := m.currentFinding(); fr != nil {
			title = "DETAIL " + fr.f.Code + " " + fr.f.Check
			if s := m.currentService(); zoomed && s != nil {
				title = fmt.Sprintf("DETAIL %s · finding %d of %d · %s %s", s.title(), m.fnd.cursor+1, len(m.fRows), fr.f.Code, fr.f.Check)
			}
			key := detailKey{f: fr.f, fixed: fr.fixed, ix: m.ix, width: w}
			if m.detailCache.key != key {
				m.detailCache.key, m.detailCache.lines = key, m.findingDetail(fr, w)
			}
			body = m.detailCache.lines
		}
	}
	if title == "" {
		title = "DETAIL"
		msg := "select a finding (tab) to see its evidence path and fix"
		if len(m.fRows) == 0 {
			msg = "no finding here; tab to ENDPOINTS and enter shows an endpoint's details"
		}
		body = []string{m.styles.Dim.Render(msg)}
	}
	rows := r.rows()
	maxOff := max(0, len(body)-rows)
	if m.detail > maxOff {
		m.detail = maxOff
	}
	if len(body) > rows {
		title += fmt.Sprintf("  [lines %d-%d of %d]", m.detail+1, min(m.detail+rows, len(body)), len(body))
	}
	lines := []string{m.paneTitle(paneDetail, title, r.w)}
	for i := m.detail; i < len(body) && len(lines) < r.h; i++ {
		lines = append(lines, "  "+body[i])
	}
	return padLines(lines, r)
}

// ---- detail content ------------------------------------------------------

var linkLabels = map[string]string{
	diagnose.LinkGatewayGroup:  "gateway group",
	diagnose.LinkAuthorization: "authorization",
	diagnose.LinkRule:          "rule",
	diagnose.LinkBackendGroup:  "backend group",
	diagnose.LinkENI:           "ENI",
	diagnose.LinkNode:          "node",
	diagnose.LinkPod:           "pod",
	diagnose.LinkEndpoint:      "endpoint",
	diagnose.LinkProbe:         "probe",
	diagnose.LinkHealthCheck:   "gateway health check",
}

// wrapped wraps text to w cells, the first line after first, the others
// after an indent of the same width.
func wrapped(first, text string, w int, style lipgloss.Style) []string {
	indent := strings.Repeat(" ", ansi.StringWidth(first))
	avail := max(w-ansi.StringWidth(first), 10)
	parts := wrapWords(text, avail)
	out := make([]string, len(parts))
	for i, p := range parts {
		lead := indent
		if i == 0 {
			lead = first
		}
		out[i] = lead + style.Render(p)
	}
	return out
}

// wrapWords wraps plain text at spaces only (never inside a name such as
// cn-hangzhou.192.168.1.10 or a flag such as --SecurityGroupId); a word
// longer than the line is cut.
func wrapWords(text string, w int) []string {
	w = max(w, 1)
	var lines []string
	var line strings.Builder
	lineW := 0
	// Split on single spaces so that runs of spaces (alignment) survive.
	for _, word := range strings.Split(strings.TrimSpace(text), " ") {
		if word == "" && lineW == 0 {
			continue
		}
		ww := ansi.StringWidth(word)
		if lineW > 0 && lineW+1+ww > w {
			lines = append(lines, line.String())
			line.Reset()
			lineW = 0
		}
		for ww > w { // a word wider than the line: cut it
			head := ansi.Cut(word, 0, w-lineW)
			line.WriteString(head)
			lines = append(lines, line.String())
			line.Reset()
			lineW = 0
			word = ansi.Cut(word, ansi.StringWidth(head), ww)
			ww = ansi.StringWidth(word)
		}
		if lineW > 0 {
			line.WriteByte(' ')
			lineW++
		}
		line.WriteString(word)
		lineW += ww
	}
	if line.Len() > 0 || len(lines) == 0 {
		lines = append(lines, line.String())
	}
	return lines
}

func (m *Model) findingDetail(fr *findingRow, w int) []string {
	st := &m.styles
	f := fr.f
	var out []string
	head := st.severity(f.Level()).Render(strings.ToUpper(f.Level().String())) + " " + st.Bold.Render(f.Code+" "+f.Check)
	switch {
	case fr.fixed:
		head += "  " + st.Fixed.Render("FIXED since the previous run")
	case m.ix.change(f) == changeNew:
		head += "  " + st.New.Render("NEW since the previous run")
	}
	out = append(out, head)
	out = append(out, wrapped("", f.Message, w, st.App)...)
	if len(f.Chain) > 0 {
		out = append(out, st.Label.Render("Path")+st.Dim.Render(" (gateway → backend; ✗ marks where it breaks)"))
		labelW := 0
		for _, l := range f.Chain {
			labelW = max(labelW, len(linkLabel(l.Kind)))
		}
		for i, l := range f.Chain {
			glyph := "├─"
			switch {
			case l.Broken:
				glyph = "✗ "
			case i == 0:
				glyph = "┌─"
			case i == len(f.Chain)-1:
				glyph = "└─"
			}
			text := padRight(linkLabel(l.Kind), labelW) + "  " + l.ID
			if l.Broken {
				text += "  ← BREAKS HERE"
			}
			if l.Detail != "" {
				text += "  " + l.Detail
			}
			style := st.LinkOK
			if l.Broken {
				style = st.LinkBroken
			}
			out = append(out, wrapped(" "+glyph+" ", text, w, style)...)
		}
	}
	if len(f.Remediation.Commands) > 0 || len(f.Remediation.Steps) > 0 {
		label := "Fix"
		if len(f.Remediation.Commands) > 0 {
			label += st.Dim.Render(" (c copies the command)")
		}
		out = append(out, st.Label.Render("Fix")+strings.TrimPrefix(label, "Fix"))
		for _, c := range f.Remediation.Commands {
			out = append(out, wrapped(" $ ", c, w, st.Command)...)
		}
		for i, s := range f.Remediation.Steps {
			out = append(out, wrapped(fmt.Sprintf(" %d. ", i+1), s, w, st.App)...)
		}
	}
	if len(f.Evidence) > 0 {
		out = append(out, st.Label.Render("Evidence")+st.Dim.Render(" (rules considered)"))
		for _, e := range f.Evidence {
			out = append(out, wrapped(" • ", e, w, st.App)...)
		}
	}
	if len(f.Subjects) > 0 {
		out = append(out, wrapped(st.Label.Render("Subjects: "), strings.Join(f.Subjects, ", "), w, st.App)...)
	}
	return out
}

// detailKey identifies a rendered finding detail.
type detailKey struct {
	f     *diagnose.Finding
	fixed bool
	ix    *index
	width int
}

func linkLabel(kind string) string {
	if l, ok := linkLabels[kind]; ok {
		return l
	}
	return kind
}

func (m *Model) endpointDetail(e *diagnose.EndpointResult, w int) []string {
	st := &m.styles
	field := func(name, value string) []string {
		return wrapped(st.Label.Render(padRight(name, 11)), orDash(value), w, st.App)
	}
	var out []string
	out = append(out, st.Bold.Render(diagnose.JoinHostPort(e.IP, e.Port))+"  "+e.Service+"  verdict "+st.verdict(e.Verdict).Render(strings.ToUpper(e.Verdict)))
	pod := orDash(e.Pod)
	if !e.Ready {
		pod += " (NOT READY)"
	}
	out = append(out, field("pod", pod)...)
	out = append(out, field("node", e.Node)...)
	eni := e.ENI
	if eni != "" && e.Resolution != "" {
		eni += " (found by " + e.Resolution + ")"
	}
	out = append(out, field("ENI", eni)...)
	out = append(out, field("groups", strings.Join(e.Groups, ", "))...)
	cfg := e.Config
	if e.Reason != "" {
		cfg += " (" + e.Reason + ")"
	}
	out = append(out, field("config", cfg)...)
	out = append(out, field("decided by", e.DecidedBy())...)
	probeText, _ := m.cell("PROBE", e)
	if probeText == "-" {
		probeText = "not probed (p probes this service)"
		if m.cfg.ProbeSkip != nil {
			if why := m.cfg.ProbeSkip(*e); why != "" {
				probeText = "not probed: " + why
			}
		}
	}
	if e.ProbeFrom != "" && m.live == nil {
		probeText += " from " + e.ProbeFrom
	}
	if rtt, _ := m.cell("RTT", e); rtt != "" && rtt != "-" {
		probeText += ", rtt " + rtt
	}
	if r, ok := m.live[diagnose.JoinHostPort(e.IP, e.Port)]; ok && r.Err != "" {
		probeText += ": " + r.Err
	}
	out = append(out, field("probe", probeText)...)
	for _, n := range e.Notes {
		out = append(out, field("note", n)...)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ---- other bodies and the footer ------------------------------------------

func (m *Model) loadingBody(w, h int) []string {
	lines := make([]string, h)
	mid := h / 3
	switch {
	case m.job != nil:
		lines[mid] = "  " + m.spinner.View() + " " + m.job.step
		if m.job.total > 0 {
			lines[mid+1] = "    " + m.progressView()
		}
		lines[mid+2] = "  " + m.styles.Dim.Render("x stops · q quits")
	case m.loadErr != nil:
		msg := wrapped("  ", "Could not load the data: "+m.loadErr.Error(), w-2, m.styles.StatusError)
		copy(lines[mid:], msg)
		if mid+len(msg)+1 < h {
			lines[mid+len(msg)+1] = "  r retries · q quits"
		}
	}
	return lines
}

func (m *Model) progressView() string {
	j := m.job
	return m.progress.ViewAs(j.fraction()) + fmt.Sprintf(" %d/%d", j.done, j.total)
}

func (m *Model) statusLine(w int) string {
	st := &m.styles
	if m.report == nil {
		return "" // the loading screen shows the step
	}
	if j := m.job; j != nil {
		s := st.Spinner.Render(m.spinner.View()) + " " + j.step
		if j.total > 0 {
			s = st.Spinner.Render(m.spinner.View()) + " " + j.title + " " + m.progressView()
		}
		return s + st.Dim.Render("  (x stops)")
	}
	if m.status != "" {
		if m.statusErr {
			return st.StatusError.Render(m.status)
		}
		return st.Status.Render(m.status)
	}
	return st.Dim.Render(m.hint())
}

// hint is the default status line: what to do next from here.
func (m *Model) hint() string {
	if m.report == nil {
		return ""
	}
	s := m.currentService()
	switch m.focus {
	case paneServices:
		if s != nil && s.status != StatusOK && len(m.fRows) > 0 {
			return fmt.Sprintf("%s %s: %s · enter: its findings, enter again: the fix", s.title(), s.status, m.cause(s))
		}
		return "↑/↓ select a service · BROKEN and UNKNOWN are listed first · ? explains the screen"
	case paneFindings:
		return "enter reads the whole finding · c copies its fix command · esc back to services"
	case paneEndpoints:
		return "enter shows the endpoint's details · p probes this service's endpoints · esc back"
	}
	if m.detailOfEP {
		return "j/k scroll · p probes this service's endpoints · esc back"
	}
	return "j/k scroll · c copies the fix command · esc back"
}

func (m *Model) helpLine(w int) string {
	m.help.SetWidth(w)
	m.help.ShowAll = false
	bindings := m.keys.ShortHelp()
	if m.job != nil {
		bindings = append([]key.Binding{m.keys.Stop}, bindings...)
	}
	return m.help.ShortHelpView(bindings)
}

// helpBody is the ? screen: how to read the screen, then every key.
func (m *Model) helpBody(w, h int) []string {
	st := &m.styles
	var out []string
	add := func(label, text string) {
		out = append(out, wrapped("  "+st.Label.Render(padRight(label, 10)), text, w-2, st.App)...)
	}
	out = append(out, st.Title.Render("  How to read this screen")+st.Dim.Render("  (? or esc closes)"))
	add("SERVICES", "worst first: BROKEN (an endpoint blocked or an error found), UNKNOWN (the data cannot decide: never assume healthy), WARNING, OK.")
	add("ENDPOINTS", "pod, node, ENI, groups; CONFIG allow/deny; live PROBE open/refused/filtered; VERDICT.")
	add("FINDINGS", "the causes. NEW and FIXED compare with the previous run (r).")
	add("DETAIL", "the path gateway group → rule → backend group → ENI → node → pod, ✗ where it breaks; the fix and its command; the rules considered.")
	add("Workflow", "select a BROKEN service, enter, enter: read the fix, c copies the command; apply it, then r shows it FIXED.")
	out = append(out, "")
	m.help.SetWidth(w - 2)
	m.help.ShowAll = true
	for _, line := range strings.Split(m.help.FullHelpView(m.keys.FullHelp()), "\n") {
		out = append(out, "  "+line)
	}
	out = append(out, st.Dim.Render("  Mouse: wheel scrolls the pane under it, click selects. NO_COLOR=1: no colour."))
	if len(out) > h {
		out = out[:h]
	}
	for len(out) < h {
		out = append(out, "")
	}
	return out
}
