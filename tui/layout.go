package tui

import "github.com/charmbracelet/x/ansi"

// rect is a pane's place on the screen; its first line is the pane's title.
type rect struct{ x, y, w, h int }

// rows is how many content lines the pane has under its title.
func (r rect) rows() int { return max(r.h-1, 0) }

func (r rect) contains(x, y int) bool {
	return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h
}

// layout is where everything goes for the current size and state. Two
// header lines, two footer lines (status, keys); the body is the services
// list on the left and, on the right, endpoints, findings and the detail.
type layout struct {
	bodyY, bodyH int
	leftW        int
	services     rect
	endpoints    rect
	findings     rect
	detail       rect
}

const (
	headerLines = 2
	footerLines = 2
	// Below these sizes the screen is too small to be useful; the UI says so.
	minWidth  = 60
	minHeight = 16
)

// minRightWidth is what the right column keeps on wide screens: the
// endpoint table's columns without truncation.
const minRightWidth = 64

// servicesWidth is the width the services list needs to show every
// service's name and cause uncut: cursor, badge, name, gap, cause.
func (m *Model) servicesWidth() int {
	if m.ix == nil {
		return 0
	}
	// Every service, not only the filtered ones: the panes stay put while
	// the engineer types a filter. Names are padded to the longest, so the
	// causes line up.
	nameW, causeW := 0, 0
	for _, s := range m.ix.services {
		nameW = max(nameW, ansi.StringWidth(s.title()))
		causeW = max(causeW, ansi.StringWidth(m.cause(s)))
	}
	need := 2 + 8 + nameW // cursor, badge, name
	if causeW > 0 {
		need += 2 + causeW
	}
	return need
}

func (m *Model) layout() layout {
	w, h := max(m.width, minWidth), max(m.height, minHeight)
	l := layout{bodyY: headerLines, bodyH: h - headerLines - footerLines}
	l.leftW = clamp(w*3/10, 24, 44)
	if w >= 110 {
		// Room for each service's cause first: the services list is what
		// the engineer reads to pick the broken one; the right column
		// keeps what its endpoint table needs.
		l.leftW = clamp(m.servicesWidth(), 40, w-minRightWidth)
	}
	rx, rw := l.leftW+1, w-l.leftW-1
	if m.focus == paneDetail && w < 100 {
		// Drilled into the detail on a narrow screen: it takes the whole
		// width (esc brings the services back).
		l.leftW, rx, rw = 0, 0, w
	}
	l.services = rect{x: 0, y: l.bodyY, w: l.leftW, h: l.bodyH}

	nEP, nF := len(m.currentEndpoints()), len(m.fRows)
	// Each list gets up to a quarter of the body; the detail the rest.
	quarter := max(1, l.bodyH/4)
	epH := 2 + clamp(nEP, 1, quarter) // title, column header, rows
	fH := 1 + clamp(nF, 1, quarter)   // title, rows
	if m.focus == paneDetail && l.bodyH < 30 {
		// Drilled into the detail on a small screen: the detail takes the
		// whole column (its title names the service and the finding), so
		// the path and the fix fit without scrolling; esc brings the lists back.
		epH, fH = 0, 0
	}
	detailH := max(l.bodyH-epH-fH, 3)
	if epH+fH+detailH > l.bodyH { // tiny: squeeze the lists
		fH = max(min(fH, 1), l.bodyH-epH-detailH)
		epH = max(min(epH, 1), l.bodyH-fH-detailH)
	}
	l.endpoints = rect{x: rx, y: l.bodyY, w: rw, h: epH}
	l.findings = rect{x: rx, y: l.bodyY + epH, w: rw, h: fH}
	l.detail = rect{x: rx, y: l.bodyY + epH + fH, w: rw, h: l.bodyH - epH - fH}
	return l
}

// paneAt finds the pane under a screen cell (mouse).
func (l layout) paneAt(x, y int) (pane, bool) {
	for p, r := range map[pane]rect{paneServices: l.services, paneEndpoints: l.endpoints, paneFindings: l.findings, paneDetail: l.detail} {
		if r.contains(x, y) {
			return p, true
		}
	}
	return 0, false
}
