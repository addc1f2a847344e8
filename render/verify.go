package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gwdoctor/gwdoctor/verify"
)

// WriteVerification renders a verification as text or JSON (Markdown is
// rendered as text: verify is for terminals and CI logs).
func WriteVerification(w io.Writer, v *verify.Verification, f Format) error {
	if f == FormatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(w, VerificationText(v))
	return err
}

// VerificationHeadline is the one-line state: "FAIL 1 of 2 required
// endpoints reachable · 1 failing · 0 new errors".
func VerificationHeadline(v *verify.Verification) string {
	word, style := "PASS", "OK"
	switch v.Result {
	case verify.Fail:
		word, style = "FAIL", "BROKEN"
	case verify.Undecidable:
		word, style = "UNDECIDABLE", "UNKNOWN"
	}
	s := v.Summary
	parts := []string{fmt.Sprintf("%d of %d required endpoints reachable", s.Passing, s.Required)}
	if s.Failing > 0 {
		parts = append(parts, fmt.Sprintf("%d failing", s.Failing))
	}
	if s.Undecidable > 0 {
		parts = append(parts, fmt.Sprintf("%d undecidable", s.Undecidable))
	}
	if s.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d not required", s.Skipped))
	}
	parts = append(parts, plural(s.NewErrors, "new error finding", "new error findings"))
	return statusStyle(style).Render(word) + "  " + strings.Join(parts, " · ")
}

// VerificationText is the full text form.
func VerificationText(v *verify.Verification) string {
	var b strings.Builder
	title := "gwdoctor verify"
	if v.Source != nil && v.Source.Name != "" {
		title += " " + v.Source.Name
	}
	if v.Baseline != nil && v.Baseline.Name != "" {
		title += " against baseline " + v.Baseline.Name
	} else {
		title += " (no baseline: every endpoint must be reachable)"
	}
	fmt.Fprintf(&b, "%s\n%s\n", styles.title.Render(title), VerificationHeadline(v))
	if len(v.Endpoints) > 0 {
		b.WriteString("\n")
		width := 0
		for _, e := range v.Endpoints {
			width = max(width, len(e.Label()))
		}
		for _, e := range v.Endpoints {
			mark := styles.ok.Render("✓")
			switch e.Status {
			case verify.StatusFail:
				mark = styles.err.Render("✗")
			case verify.StatusUndecidable:
				mark = styles.unknown.Render("?")
			case verify.StatusSkipped:
				mark = styles.dim.Render("-")
			}
			line := fmt.Sprintf("  %s %-*s  %s", mark, width, e.Label(), verdictStyle(e.State).Render(e.State))
			switch {
			case e.Cause != "":
				line += " — " + e.Cause
			case e.Status == verify.StatusSkipped:
				line += styles.dim.Render(" (" + e.Why + ")")
			}
			b.WriteString(line + "\n")
		}
	}
	if len(v.NewErrors) > 0 {
		fmt.Fprintf(&b, "\n%s\n", styles.bold.Render("New error findings"))
		for _, f := range v.NewErrors {
			fmt.Fprintf(&b, "  %s %s %s\n", styles.err.Render("✗"), styles.code.Render(f.Code+" "+f.Check), f.Message)
			if len(f.Remediation.Steps) > 0 {
				fmt.Fprintf(&b, "      %s %s\n", styles.label.Render("fix:"), f.Remediation.Steps[0])
			}
		}
	}
	fmt.Fprintf(&b, "\n%s\n", styles.warn.Render("warning: ")+verify.StatefulWarning)
	return b.String()
}
