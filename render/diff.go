package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/gwdoctor/gwdoctor/diff"
	"github.com/gwdoctor/gwdoctor/internal/words"
)

// WriteDiff renders a snapshot comparison in format f.
func WriteDiff(w io.Writer, r *diff.Result, f Format) error {
	switch f {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case FormatMarkdown:
		return diffMarkdown(w, r)
	}
	return diffText(w, r)
}

func sideText(s diff.Side) string {
	t := s.Name
	if t == "" {
		t = "(unnamed)"
	}
	if s.CapturedAt != "" {
		t += " (captured " + s.CapturedAt + ")"
	}
	return t
}

func diffHeadline(r *diff.Result) string {
	s := r.Summary
	var parts []string
	switch r.Result {
	case diff.ResultBroken, diff.ResultInconclusive:
		if s.Regressions > 0 {
			parts = append(parts, plural(s.Regressions, "endpoint stopped serving", "endpoints stopped serving"))
		}
		if s.NewErrors > 0 {
			parts = append(parts, plural(s.NewErrors, "new error", "new errors"))
		}
	case diff.ResultChanged:
		parts = append(parts, "nothing broke")
	default:
		parts = append(parts, "nothing that matters to reachability changed")
	}
	if s.Recoveries > 0 {
		parts = append(parts, plural(s.Recoveries, "endpoint recovered", "endpoints recovered"))
	}
	if s.FixedFindings > 0 {
		parts = append(parts, plural(s.FixedFindings, "finding gone", "findings gone"))
	}
	parts = append(parts, plural(s.Changes, "change that matters", "changes that matter"), fmt.Sprintf("%d not listed", s.Ignored))
	return strings.Join(parts, " · ")
}

func resultWord(r *diff.Result) (string, string) {
	switch r.Result {
	case diff.ResultBroken:
		return "BROKEN", "BROKEN"
	case diff.ResultInconclusive:
		return "INCONCLUSIVE", "UNKNOWN"
	case diff.ResultChanged:
		return "CHANGED", "OK"
	}
	return "UNCHANGED", "OK"
}

func diffText(w io.Writer, r *diff.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → %s\n", styles.title.Render("gwdoctor diff"), sideText(r.Baseline), sideText(r.Current))
	word, style := resultWord(r)
	fmt.Fprintf(&b, "%s  %s\n", statusStyle(style).Render(word), diffHeadline(r))
	if len(r.Explanations) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.bold.Render(whyHeading(r)))
		for _, g := range groupExplanations(r.Explanations) {
			ex := g.ex
			// The explanation's text ends with its first fix step (JSON
			// keeps it whole); here every step is listed once, numbered
			// from 1, under the cause.
			text := g.text()
			if len(ex.Fix) > 0 {
				if i := strings.LastIndex(text, "; fix: "+ex.Fix[0]); i >= 0 {
					text = text[:i] + text[i+len("; fix: "+ex.Fix[0]):]
				}
			}
			fmt.Fprintf(&b, "  %s %s\n", styles.err.Render("✗"), text)
			switch len(ex.Fix) {
			case 0:
			case 1:
				fmt.Fprintf(&b, "      fix: %s\n", ex.Fix[0])
			default:
				fmt.Fprintf(&b, "      fix:\n")
				for i, s := range ex.Fix {
					fmt.Fprintf(&b, "      %d. %s\n", i+1, s)
				}
			}
			for _, c := range ex.Commands {
				fmt.Fprintf(&b, "      %s\n", styles.command.Render("$ "+c))
			}
		}
	}
	if len(r.Changes) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.bold.Render("Changes that matter"))
		for _, c := range r.Changes {
			mark := " "
			if c.Breaking {
				mark = styles.err.Render("!")
			}
			fmt.Fprintf(&b, "  %s %s %s  %s\n", mark, styles.code.Render(c.ID), styles.dim.Render(c.Kind), c.Message)
			if len(c.Endpoints) > 0 {
				fmt.Fprintf(&b, "       %s %s\n", styles.label.Render("affects:"), strings.Join(c.Endpoints, ", "))
			}
		}
	}
	if len(r.Endpoints) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.bold.Render("Endpoints"))
		width := 0
		for _, d := range r.Endpoints {
			width = max(width, len(d.Label()))
		}
		for _, d := range r.Endpoints {
			causes := ""
			if len(d.Causes) > 0 {
				causes = styles.dim.Render("  (" + strings.Join(d.Causes, ", ") + ")")
			}
			fmt.Fprintf(&b, "  %-11s %-*s  %s → %s%s\n", deltaStyle(d.Change).Render(d.Change), width, d.Label(),
				verdictStyle(d.Before).Render(d.Before), verdictStyle(d.After).Render(d.After), causes)
		}
	}
	if len(r.Findings) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.bold.Render("Findings"))
		for _, fd := range r.Findings {
			f := fd.Finding
			causes := ""
			if len(fd.Causes) > 0 {
				causes = styles.dim.Render("  (" + strings.Join(fd.Causes, ", ") + ")")
			}
			fmt.Fprintf(&b, "  %-10s %s %s %s%s\n", fd.Status, severityStyle(f.Level()).Render(strings.ToUpper(f.Level().String())),
				styles.code.Render(f.Code+" "+f.Check), f.Message, causes)
		}
	}
	if len(r.Ignored) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.dim.Render("Not listed (cannot affect reachability): "+ignoredText(r.Ignored)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// explanationGroup is explanations that say the same of several endpoints:
// at scale one cause breaks hundreds of them, and the reader needs the cause
// once (JSON keeps one explanation per endpoint).
type explanationGroup struct {
	subjects []string
	rest     string // the text after the subject
	ex       diff.Explanation
}

// groupExplanations merges explanations whose text, subject aside, is
// identical, in order of first appearance.
func groupExplanations(exs []diff.Explanation) []*explanationGroup {
	var out []*explanationGroup
	index := map[string]*explanationGroup{}
	for _, ex := range exs {
		rest, ok := strings.CutPrefix(ex.Text, ex.Subject)
		if !ok || ex.Subject == "" {
			out = append(out, &explanationGroup{subjects: []string{ex.Subject}, ex: ex})
			continue
		}
		if g := index[rest]; g != nil {
			g.subjects = append(g.subjects, ex.Subject)
			continue
		}
		g := &explanationGroup{subjects: []string{ex.Subject}, rest: rest, ex: ex}
		index[rest] = g
		out = append(out, g)
	}
	return out
}

// shownSubjects is how many endpoints a group names before "and N more".
const shownSubjects = 3

func (g *explanationGroup) text() string {
	if len(g.subjects) == 1 {
		return g.ex.Text
	}
	names := g.subjects
	more := ""
	if len(names) > shownSubjects {
		more = fmt.Sprintf(" and %d more", len(names)-shownSubjects)
		names = names[:shownSubjects]
	}
	return fmt.Sprintf("%s (%s%s)%s", words.Count(len(g.subjects), "endpoint", "endpoints"), strings.Join(names, ", "), more, g.rest)
}

// whyHeading titles the explanations: broken, or only undecidable now.
func whyHeading(r *diff.Result) string {
	if r.Result == diff.ResultInconclusive {
		return "Why it can no longer be verified"
	}
	return "Why it broke"
}

func ignoredText(ig []diff.IgnoredCount) string {
	var parts []string
	for _, i := range ig {
		parts = append(parts, fmt.Sprintf("%s %d", i.What, i.Count))
	}
	return strings.Join(parts, ", ")
}

func deltaStyle(change string) lipgloss.Style {
	switch change {
	case diff.DeltaRegressed:
		return styles.err
	case diff.DeltaRecovered:
		return styles.ok
	}
	return styles.dim
}

func diffMarkdown(w io.Writer, r *diff.Result) error {
	var b strings.Builder
	word, _ := resultWord(r)
	fmt.Fprintf(&b, "## gwdoctor diff: %s → %s\n\n", mdEscape(sideText(r.Baseline)), mdEscape(sideText(r.Current)))
	fmt.Fprintf(&b, "**%s** — %s\n\n", word, mdEscape(diffHeadline(r)))
	if len(r.Explanations) > 0 {
		fmt.Fprintf(&b, "### %s\n\n", whyHeading(r))
		for _, g := range groupExplanations(r.Explanations) {
			fmt.Fprintf(&b, "- %s\n", mdEscape(g.text()))
		}
		b.WriteString("\n")
		for _, ex := range r.Explanations {
			if len(ex.Commands) > 0 {
				b.WriteString("```sh\n")
				for _, c := range ex.Commands {
					b.WriteString(c + "\n")
				}
				b.WriteString("```\n\n")
				break
			}
		}
	}
	if len(r.Changes) > 0 {
		b.WriteString("### Changes that matter\n\n| id | kind | change | affects | breaking |\n|---|---|---|---|---|\n")
		for _, c := range r.Changes {
			br := ""
			if c.Breaking {
				br = "**yes**"
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", c.ID, c.Kind, mdEscape(c.Message), mdEscape(orDash(strings.Join(c.Endpoints, ", "))), br)
		}
		b.WriteString("\n")
	}
	if len(r.Endpoints) > 0 {
		b.WriteString("### Endpoints\n\n| endpoint | pod | change | before | after | causes |\n|---|---|---|---|---|---|\n")
		for _, d := range r.Endpoints {
			fmt.Fprintf(&b, "| %s `%s` | %s | %s | %s | **%s** | %s |\n", mdEscape(d.Service), d.Endpoint, mdEscape(orDash(d.Pod)), d.Change, d.Before, d.After, orDash(strings.Join(d.Causes, ", ")))
		}
		b.WriteString("\n")
	}
	if len(r.Findings) > 0 {
		b.WriteString("### Findings\n\n| status | severity | code | message | causes |\n|---|---|---|---|---|\n")
		for _, fd := range r.Findings {
			f := fd.Finding
			fmt.Fprintf(&b, "| %s | %s | %s `%s` | %s | %s |\n", fd.Status, f.Level(), f.Code, f.Check, mdEscape(f.Message), orDash(strings.Join(fd.Causes, ", ")))
		}
		b.WriteString("\n")
	}
	if len(r.Ignored) > 0 {
		fmt.Fprintf(&b, "Not listed (cannot affect reachability): %s\n", mdEscape(ignoredText(r.Ignored)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
