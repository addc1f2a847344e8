package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// Markdown writes the report for an incident ticket: a summary, a table of
// endpoints per service, and every finding with its evidence and fix.
func Markdown(w io.Writer, r *diagnose.Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## gwdoctor report: %s\n\n", mdEscape(gatewayLine(r)))
	fmt.Fprintf(&b, "**%s**\n\n", mdEscape(summaryLine(r.Summary)))
	if line := filterLine(r); line != "" {
		fmt.Fprintf(&b, "_%s_\n\n", mdEscape(line))
	}
	if lines := causesLines(r); len(lines) > 0 {
		fmt.Fprintf(&b, "**%s**\n\n", mdEscape(lines[0]))
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "- %s\n", mdEscape(l))
		}
		b.WriteString("\n")
	}
	writeBaselineMarkdown(&b, r)
	groups, global := groupByService(r)
	for _, g := range groups {
		fmt.Fprintf(&b, "### %s — %s\n\n", mdEscape(g.key), g.health.Status())
		if len(g.endpoints) > 0 {
			health := hasHealthCheck(g.endpoints)
			if health {
				b.WriteString("| endpoint | pod | node | ENI | groups | config | decided by | probe | health check | verdict |\n")
				b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
			} else {
				b.WriteString("| endpoint | pod | node | ENI | groups | config | decided by | probe | verdict |\n")
				b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
			}
			for _, e := range g.endpoints {
				pod := orDash(e.Pod)
				if !e.Ready {
					pod += " (not ready)"
				}
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s | ",
					diagnose.JoinHostPort(e.IP, e.Port), mdEscape(pod), mdEscape(orDash(e.Node)), mdEscape(orDash(e.ENI)),
					mdEscape(orDash(strings.Join(e.Groups, ", "))), e.Config, mdEscape(e.DecidedBy()), mdEscape(probeCell(e)))
				if health {
					fmt.Fprintf(&b, "%s | ", mdEscape(healthCell(e)))
				}
				fmt.Fprintf(&b, "**%s** |\n", e.Verdict)
			}
			b.WriteString("\n")
		}
		for _, f := range g.findings {
			writeMarkdownFinding(&b, f)
		}
	}
	if len(global) > 0 {
		b.WriteString("### Not tied to one service\n\n")
		for _, f := range global {
			writeMarkdownFinding(&b, f)
		}
	}
	if len(r.Skipped) > 0 {
		b.WriteString("### Skipped checks\n\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "- `%s`: %s\n", s.Check, mdEscape(s.Reason))
		}
		b.WriteString("\n")
	}
	if len(r.CheckErrors) > 0 {
		b.WriteString("### Checks that failed (report incomplete)\n\n")
		for _, c := range r.CheckErrors {
			fmt.Fprintf(&b, "- `%s`: %s\n", c.Check, mdEscape(firstLine(c.Error)))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMarkdownFinding(b *strings.Builder, f *diagnose.Finding) {
	tag := ""
	if f.Status == diagnose.StatusNew {
		tag = "NEW "
	}
	fmt.Fprintf(b, "#### %s%s %s `%s`: %s\n\n", tag, strings.ToUpper(f.Level().String()), f.Code, f.Check, mdEscape(f.Message))
	if len(f.Chain) > 0 {
		fmt.Fprintf(b, "Path: %s\n\n", mdEscape(chainText(f.Chain, false)))
	}
	if len(f.Evidence) > 0 {
		b.WriteString("Evidence:\n\n")
		for _, e := range f.Evidence {
			if detail, ok := strings.CutPrefix(e, "  "); ok {
				fmt.Fprintf(b, "  - %s\n", mdEscape(detail))
				continue
			}
			fmt.Fprintf(b, "- %s\n", mdEscape(e))
		}
		b.WriteString("\n")
	}
	if len(f.Remediation.Steps) > 0 {
		b.WriteString("Fix:\n\n")
		for i, s := range f.Remediation.Steps {
			fmt.Fprintf(b, "%d. %s\n", i+1, mdEscape(s))
		}
		b.WriteString("\n")
	}
	if len(f.Remediation.Commands) > 0 {
		b.WriteString("```sh\n")
		for _, c := range f.Remediation.Commands {
			b.WriteString(c + "\n")
		}
		b.WriteString("```\n\n")
	}
}

// mdEscape keeps table cells and list items intact: pipes and line breaks.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
