package render

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// Terminal wraps w so that styles become colour only on a terminal that
// wants it: stripped when w is not a TTY (files, pipes, buffers), and
// colourless (bold kept) with NO_COLOR, per no-color.org.
func Terminal(w io.Writer) io.Writer {
	return colorprofile.NewWriter(w, os.Environ())
}

// styles holds every style the text report uses. Colours are ANSI basics so
// they read on dark and light terminals; words carry the meaning, colour
// only repeats it.
var styles = struct {
	title, dim, bold, code         lipgloss.Style
	err, warn, info, ok, unknown   lipgloss.Style
	header, command, broken, label lipgloss.Style
}{
	title:   lipgloss.NewStyle().Bold(true),
	dim:     lipgloss.NewStyle().Faint(true),
	bold:    lipgloss.NewStyle().Bold(true),
	code:    lipgloss.NewStyle().Bold(true),
	err:     lipgloss.NewStyle().Foreground(lipgloss.Red).Bold(true),
	warn:    lipgloss.NewStyle().Foreground(lipgloss.Yellow).Bold(true),
	info:    lipgloss.NewStyle().Foreground(lipgloss.Blue),
	ok:      lipgloss.NewStyle().Foreground(lipgloss.Green).Bold(true),
	unknown: lipgloss.NewStyle().Foreground(lipgloss.Magenta).Bold(true),
	header:  lipgloss.NewStyle().Faint(true),
	command: lipgloss.NewStyle().Foreground(lipgloss.Cyan),
	broken:  lipgloss.NewStyle().Foreground(lipgloss.Red),
	label:   lipgloss.NewStyle().Faint(true),
}

func severityStyle(s diagnose.Severity) lipgloss.Style {
	switch s {
	case diagnose.Error:
		return styles.err
	case diagnose.Warning:
		return styles.warn
	}
	return styles.info
}

func statusStyle(status string) lipgloss.Style {
	switch status {
	case diagnose.ServiceOK:
		return styles.ok
	case diagnose.ServiceBroken:
		return styles.err
	case diagnose.ServiceWarning:
		return styles.warn
	}
	return styles.unknown
}

func verdictStyle(v string) lipgloss.Style {
	switch v {
	case diagnose.VerdictReachable, "allow", "open", diagnose.HealthPassing:
		return styles.ok
	case diagnose.VerdictBlocked, "deny", "refused", "filtered", "unreachable", diagnose.HealthFailing:
		return styles.err
	}
	return styles.unknown
}

// Text writes the human report, grouped by service, streamed: the text is
// handed to w service by service (in chunks of at least 32 KiB).
func Text(w io.Writer, r *diagnose.Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", styles.title.Render("gwdoctor"), gatewayLine(r))
	fmt.Fprintf(&b, "%s\n", summaryLine(r.Summary))
	if line := filterLine(r); line != "" {
		fmt.Fprintf(&b, "%s\n", styles.dim.Render(line))
	}
	if lines := causesLines(r); len(lines) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.bold.Render(lines[0]))
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "  - %s\n", l)
		}
	}
	writeBaselineText(&b, r)
	groups, global := groupByService(r)
	for _, g := range groups {
		b.WriteString("\n")
		status := g.health.Status()
		fmt.Fprintf(&b, "%s %s  %s\n", statusStyle(status).Render(status), styles.bold.Render(g.key), styles.dim.Render(serviceCounts(g)))
		if len(g.endpoints) > 0 {
			writeEndpointTable(&b, g.endpoints)
		}
		for _, f := range g.findings {
			writeFinding(&b, f)
		}
		// Stream per service: a huge report is never held whole as text.
		if b.Len() >= 32<<10 {
			if _, err := io.WriteString(w, b.String()); err != nil {
				return err
			}
			b.Reset()
		}
	}
	if len(global) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.bold.Render("Not tied to one service"))
		for _, f := range global {
			writeFinding(&b, f)
		}
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.dim.Render("Skipped checks (GWD001):"))
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "  %s %s\n", styles.dim.Render("-"), styles.dim.Render(s.Check+": "+s.Reason))
		}
	}
	if len(r.CheckErrors) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.err.Render("Checks that failed (their results are missing, so the report is incomplete):"))
		for _, c := range r.CheckErrors {
			fmt.Fprintf(&b, "  - %s: %s\n", c.Check, firstLine(c.Error))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func serviceCounts(g *serviceGroup) string {
	h := g.health
	s := fmt.Sprintf("%s: %d reachable", plural(h.Endpoints, "endpoint", "endpoints"), h.Reachable)
	if h.NotReady > 0 {
		s += fmt.Sprintf(", %d not ready", h.NotReady)
	}
	if h.Blocked > 0 {
		s += fmt.Sprintf(", %d blocked", h.Blocked)
	}
	if h.Unknown > 0 {
		s += fmt.Sprintf(", %d unknown", h.Unknown)
	}
	return s
}

func writeEndpointTable(b *strings.Builder, eps []diagnose.EndpointResult) {
	header := []string{"ENDPOINT", "POD", "NODE", "ENI", "GROUPS", "CONFIG", "DECIDED BY", "PROBE", "VERDICT"}
	health := hasHealthCheck(eps)
	if health {
		header = slices.Insert(header, 8, "HEALTH CHECK")
	}
	rows := make([][]string, 0, len(eps))
	for _, e := range eps {
		pod := e.Pod
		if !e.Ready {
			pod = orDash(pod) + " (not ready)"
		}
		node := orDash(e.Node)
		if e.Kind != "" && e.Node != "" {
			// A serverless pod's own instance, or a plain ECS instance.
			node += " (" + strings.ToUpper(e.Kind) + ")"
		}
		row := []string{
			diagnose.JoinHostPort(e.IP, e.Port), orDash(pod), node, orDash(e.ENI),
			orDash(strings.Join(e.Groups, ",")), e.Config, e.DecidedBy(), probeCell(e), e.Verdict,
		}
		if health {
			row = slices.Insert(row, 8, healthCell(e))
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = len(h)
	}
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], ansi.StringWidth(c))
		}
	}
	pad := func(s string, w int) string { return s + strings.Repeat(" ", max(0, w-ansi.StringWidth(s))) }
	var line []string
	for i, h := range header {
		line = append(line, pad(h, widths[i]))
	}
	fmt.Fprintf(b, "  %s\n", styles.header.Render(strings.TrimRight(strings.Join(line, "  "), " ")))
	for _, row := range rows {
		line = line[:0]
		for i, c := range row {
			cell := c
			if i < len(row)-1 { // no trailing padding: styles would keep it past TrimRight
				cell = pad(c, widths[i])
			}
			switch header[i] {
			case "CONFIG", "VERDICT":
				cell = verdictStyle(c).Render(cell)
			case "PROBE", "HEALTH CHECK":
				if state, _, _ := strings.Cut(c, " "); state != "-" {
					cell = verdictStyle(state).Render(cell)
				}
			}
			line = append(line, cell)
		}
		fmt.Fprintf(b, "  %s\n", strings.TrimRight(strings.Join(line, "  "), " "))
	}
}

func writeFinding(b *strings.Builder, f *diagnose.Finding) {
	sev := f.Level()
	tag := ""
	if f.Status == diagnose.StatusNew {
		tag = styles.err.Render("NEW") + " "
	}
	fmt.Fprintf(b, "\n  %s%s %s %s\n", tag, severityStyle(sev).Render(strings.ToUpper(sev.String())),
		styles.code.Render(f.Code+" "+f.Check), f.Message)
	if len(f.Chain) > 0 {
		fmt.Fprintf(b, "    %s %s\n", styles.label.Render("path:"), chainText(f.Chain, true))
	}
	if len(f.Evidence) > 0 {
		fmt.Fprintf(b, "    %s\n", styles.label.Render("evidence:"))
		for _, e := range f.Evidence {
			// Evidence lines indented by the check are details of the
			// line before (e.g. the rules considered): nest them.
			if detail, ok := strings.CutPrefix(e, "  "); ok {
				fmt.Fprintf(b, "          · %s\n", detail)
				continue
			}
			fmt.Fprintf(b, "      - %s\n", e)
		}
	}
	if len(f.Remediation.Steps) > 0 {
		fmt.Fprintf(b, "    %s\n", styles.label.Render("fix:"))
		for i, s := range f.Remediation.Steps {
			fmt.Fprintf(b, "      %d. %s\n", i+1, s)
		}
	}
	for _, c := range f.Remediation.Commands {
		fmt.Fprintf(b, "      %s\n", styles.command.Render("$ "+c))
	}
}

// chainText draws the evidence chain as a path, marking the broken hop.
func chainText(chain []diagnose.Link, styled bool) string {
	parts := make([]string, 0, len(chain))
	for _, l := range chain {
		s := l.Kind + " " + l.ID
		if l.Broken {
			s = "✗ " + s
			if styled {
				s = styles.broken.Render(s)
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " → ")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
