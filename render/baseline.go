package render

import (
	"fmt"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// regressionFindings are the new findings worth leading with: every new
// finding except skipped-check notes.
func regressionFindings(r *diagnose.Report) (news, fixed []*diagnose.Finding) {
	for i := range r.Findings {
		f := &r.Findings[i]
		switch {
		case f.Code == diagnose.CodeCheckSkipped:
		case f.Status == diagnose.StatusNew:
			news = append(news, f)
		case !f.Counted():
			fixed = append(fixed, f)
		}
	}
	return news, fixed
}

func baselineLine(b *diagnose.BaselineInfo) string {
	src := "the baseline"
	if b.Source != nil && b.Source.Name != "" {
		src = b.Source.Name
		if b.Source.CapturedAt != "" {
			src += " (captured " + b.Source.CapturedAt + ")"
		}
	}
	s := fmt.Sprintf("against %s: %d new, %d still present, %d fixed", src, b.New, b.Present, b.Fixed)
	if b.Unverified > 0 {
		s += fmt.Sprintf(", %d unverified", b.Unverified)
	}
	return s
}

func transitionText(t diagnose.EndpointTransition) string {
	s := t.Label()
	if t.Pod != "" {
		s += " (pod " + t.Pod + ")"
	}
	return s
}

// writeBaselineText leads the report with what got worse since the
// baseline, then what got better (diagnose --baseline).
func writeBaselineText(b *strings.Builder, r *diagnose.Report) {
	base := r.Baseline
	if base == nil {
		return
	}
	news, fixed := regressionFindings(r)
	fmt.Fprintf(b, "%s\n", styles.dim.Render(baselineLine(base)))
	fmt.Fprintf(b, "\n%s\n", styles.bold.Render("Regressions since baseline"))
	if len(base.Regressions) == 0 && len(news) == 0 {
		fmt.Fprintf(b, "  %s\n", styles.ok.Render("none"))
	}
	for _, t := range base.Regressions {
		fmt.Fprintf(b, "  %s %s  %s → %s\n", styles.err.Render("✗"), transitionText(t), verdictStyle(t.Before).Render(t.Before), verdictStyle(t.After).Render(t.After))
	}
	for _, f := range news {
		fmt.Fprintf(b, "  %s %s %s %s %s\n", styles.err.Render("✗"), styles.err.Render("NEW"), severityStyle(f.Level()).Render(strings.ToUpper(f.Level().String())),
			styles.code.Render(f.Code+" "+f.Check), f.Message)
	}
	if len(base.Recovered) == 0 && len(fixed) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s\n", styles.bold.Render("Fixed since baseline (listed, not counted)"))
	for _, t := range base.Recovered {
		fmt.Fprintf(b, "  %s %s  %s → %s\n", styles.ok.Render("✓"), transitionText(t), verdictStyle(t.Before).Render(t.Before), verdictStyle(t.After).Render(t.After))
	}
	for _, f := range fixed {
		mark, word := styles.ok.Render("✓"), "FIXED"
		if f.Status == diagnose.StatusUnverified {
			mark, word = styles.unknown.Render("?"), "UNVERIFIED"
		}
		fmt.Fprintf(b, "  %s %s %s %s\n", mark, word, styles.code.Render(f.Code+" "+f.Check), f.Message)
	}
	for _, f := range fixed {
		if f.Status == diagnose.StatusUnverified {
			fmt.Fprintf(b, "  %s\n", styles.dim.Render("unverified: the check that found it was skipped now (see Skipped checks), so it is not claimed fixed"))
			break
		}
	}
}

func writeBaselineMarkdown(b *strings.Builder, r *diagnose.Report) {
	base := r.Baseline
	if base == nil {
		return
	}
	news, fixed := regressionFindings(r)
	fmt.Fprintf(b, "%s\n\n", mdEscape(baselineLine(base)))
	b.WriteString("### Regressions since baseline\n\n")
	if len(base.Regressions) == 0 && len(news) == 0 {
		b.WriteString("None.\n\n")
	} else {
		for _, t := range base.Regressions {
			fmt.Fprintf(b, "- `%s` %s: %s → **%s**\n", mdEscape(t.Label()), mdEscape(podText(t.Pod)), t.Before, t.After)
		}
		for _, f := range news {
			fmt.Fprintf(b, "- NEW %s %s `%s`: %s\n", strings.ToUpper(f.Level().String()), f.Code, f.Check, mdEscape(f.Message))
		}
		b.WriteString("\n")
	}
	if len(base.Recovered) == 0 && len(fixed) == 0 {
		return
	}
	b.WriteString("### Fixed since baseline (listed, not counted)\n\n")
	for _, t := range base.Recovered {
		fmt.Fprintf(b, "- `%s` %s: %s → **%s**\n", mdEscape(t.Label()), mdEscape(podText(t.Pod)), t.Before, t.After)
	}
	for _, f := range fixed {
		fmt.Fprintf(b, "- %s %s `%s`: %s\n", strings.ToUpper(f.Status), f.Code, f.Check, mdEscape(f.Message))
	}
	b.WriteString("\n")
}

func podText(pod string) string {
	if pod == "" {
		return ""
	}
	return "(pod " + pod + ")"
}
