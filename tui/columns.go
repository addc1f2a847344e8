package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/probe"
)

// column is one endpoint table column. Columns appear in the order of
// endpointColumnOrder; when the pane is narrow the ones with the highest
// drop number go first.
type column struct {
	name  string
	width int
	drop  int
	max   int
}

var endpointColumnOrder = []column{
	{name: "ENDPOINT", drop: 0, max: 24},
	{name: "POD", drop: 5, max: 28},
	{name: "NODE", drop: 4, max: 28},
	{name: "ENI", drop: 7, max: 16},
	{name: "GROUPS", drop: 8, max: 26},
	{name: "CONFIG", drop: 2, max: 7},
	{name: "PROBE", drop: 3, max: 11},
	{name: "RTT", drop: 6, max: 9},
	// HEALTH is the gateway's own health check; shown only for services
	// whose snapshot holds it.
	{name: "HEALTH", drop: 5, max: 17},
	{name: "VERDICT", drop: 1, max: 9},
}

// endpointColumns sizes the columns for a service's endpoints, once per
// selection, so widths do not jump while scrolling. Probe and RTT are sized
// for the states a live probe can fill in.
func endpointColumns(r *diagnose.Report, eps []int) []column {
	cols := slices.Clone(endpointColumnOrder)
	if !slices.ContainsFunc(eps, func(i int) bool { return r.Endpoints[i].HealthCheck != "" }) {
		cols = slices.DeleteFunc(cols, func(c column) bool { return c.name == "HEALTH" })
	}
	for i := range cols {
		c := &cols[i]
		c.width = len(c.name)
		switch c.name {
		case "PROBE":
			c.width = len("unreachable")
		case "RTT":
			c.width = len("999.9ms")
		case "CONFIG":
			c.width = len("unknown")
		case "VERDICT":
			c.width = len("reachable")
		}
	}
	var m Model
	for _, i := range eps {
		e := &r.Endpoints[i]
		for j := range cols {
			c := &cols[j]
			if c.width >= c.max {
				continue
			}
			text, _ := m.cell(c.name, e)
			c.width = min(max(c.width, textWidth(text)), c.max)
		}
	}
	return cols
}

// fitColumns drops columns, most droppable first, until the table fits w.
func fitColumns(cols []column, w int) []column {
	out := slices.Clone(cols)
	width := func() int {
		n := 0
		for _, c := range out {
			n += c.width + 2
		}
		return n - 2
	}
	for len(out) > 1 && width() > w {
		worst := 0
		for i, c := range out {
			if c.drop > out[worst].drop {
				worst = i
			}
		}
		out = slices.Delete(out, worst, worst+1)
	}
	return out
}

// cell is a column's text for an endpoint, and the word to colour it by
// ("" for none). During a probe job the probe and RTT columns show the live
// results as they arrive.
func (m *Model) cell(name string, e *diagnose.EndpointResult) (text, word string) {
	switch name {
	case "ENDPOINT":
		return diagnose.JoinHostPort(e.IP, e.Port), ""
	case "POD":
		if !e.Ready {
			return orDash(e.Pod) + " (not ready)", "refused"
		}
		return orDash(e.Pod), ""
	case "NODE":
		return orDash(e.Node), ""
	case "ENI":
		return orDash(e.ENI), ""
	case "GROUPS":
		return orDash(strings.Join(e.Groups, ",")), ""
	case "CONFIG":
		return e.Config, e.Config
	case "PROBE", "RTT":
		state, rtt := e.Probe, e.RTTMs
		if m.live != nil || m.pending != nil {
			key := diagnose.JoinHostPort(e.IP, e.Port)
			if m.pending[key] {
				if name == "RTT" {
					return "", ""
				}
				return "probing…", ""
			}
			if r, ok := m.live[key]; ok {
				state = string(r.State)
				rtt = float64(r.RTT.Microseconds()) / 1000
			}
		}
		if name == "RTT" {
			if rtt <= 0 || (state != string(probe.StateOpen) && state != string(probe.StateRefused)) {
				return "-", ""
			}
			return fmt.Sprintf("%.1fms", rtt), ""
		}
		if state == "" {
			return "-", ""
		}
		return state, state
	case "HEALTH":
		if e.HealthCheck == "" {
			return "-", ""
		}
		if e.DecidedByHealthCheck {
			return e.HealthCheck + " (decides)", e.HealthCheck
		}
		return e.HealthCheck, e.HealthCheck
	case "VERDICT":
		return e.Verdict, e.Verdict
	}
	return "", ""
}

// textWidth is the cell width of s: its length for printable ASCII (names,
// addresses: nearly every cell), else what ansi.StringWidth measures. The
// grapheme segmentation behind ansi.StringWidth dominated the first frame
// of a 10,000-endpoint service.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}
