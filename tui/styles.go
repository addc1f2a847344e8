package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// Styles is every style the UI uses, in one place. Colours are the 16 ANSI
// basics, which the terminal's own theme maps to readable shades on dark and
// light backgrounds; words and markers (▸, ✗, BROKEN) carry the meaning, so
// with NO_COLOR (colours dropped, bold and reverse kept) nothing is lost.
type Styles struct {
	App, Title, Dim, Bold, Label lipgloss.Style

	// Pane titles: the focused pane's title is reversed.
	PaneTitle, PaneTitleFocused lipgloss.Style
	Separator                   lipgloss.Style
	// Selected rows: reversed in the focused pane, bold elsewhere.
	Selected, SelectedBlurred lipgloss.Style
	TableHeader               lipgloss.Style

	Broken, Unknown, Warning, Info, OK lipgloss.Style

	SevError, SevWarning, SevInfo lipgloss.Style
	New, Fixed                    lipgloss.Style

	Verdict map[string]lipgloss.Style

	LinkOK, LinkBroken lipgloss.Style
	Command            lipgloss.Style

	Status, StatusError, Spinner lipgloss.Style
	FilterPrompt                 lipgloss.Style

	Help help.Styles
}

// NewStyles builds the styles for a dark or light terminal background.
func NewStyles(isDark bool) Styles {
	base := lipgloss.NewStyle()
	s := Styles{
		App:              base,
		Title:            base.Bold(true),
		Dim:              base.Faint(true),
		Bold:             base.Bold(true),
		Label:            base.Bold(true).Foreground(lipgloss.Blue),
		PaneTitle:        base.Bold(true),
		PaneTitleFocused: base.Bold(true).Reverse(true),
		Separator:        base.Faint(true),
		Selected:         base.Reverse(true),
		SelectedBlurred:  base.Bold(true),
		TableHeader:      base.Faint(true).Bold(true),

		Broken:  base.Bold(true).Foreground(lipgloss.Red),
		Unknown: base.Bold(true).Foreground(lipgloss.Magenta),
		Warning: base.Bold(true).Foreground(lipgloss.Yellow),
		Info:    base.Foreground(lipgloss.Blue),
		OK:      base.Bold(true).Foreground(lipgloss.Green),

		SevError:   base.Bold(true).Foreground(lipgloss.Red),
		SevWarning: base.Bold(true).Foreground(lipgloss.Yellow),
		SevInfo:    base.Foreground(lipgloss.Blue),
		New:        base.Bold(true).Foreground(lipgloss.Cyan),
		Fixed:      base.Faint(true).Foreground(lipgloss.Green),

		LinkOK:     base,
		LinkBroken: base.Bold(true).Foreground(lipgloss.Red),
		Command:    base.Bold(true).Foreground(lipgloss.Cyan),

		Status:       base,
		StatusError:  base.Bold(true).Foreground(lipgloss.Red),
		Spinner:      base.Foreground(lipgloss.Cyan),
		FilterPrompt: base.Bold(true),
		Help:         help.DefaultStyles(isDark),
	}
	if !isDark {
		// Yellow text is faint on white: use the darker shade's attributes.
		s.Warning = base.Bold(true).Foreground(lipgloss.Yellow).Underline(true)
		s.SevWarning = s.Warning
	}
	// The help bubble's grey keys fade out on some themes: keys in bold.
	s.Help.ShortKey = s.Help.ShortKey.Bold(true)
	s.Help.FullKey = s.Help.FullKey.Bold(true)
	ok, bad, unk := s.OK, s.Broken, s.Unknown
	s.Verdict = map[string]lipgloss.Style{
		diagnose.VerdictReachable: ok, "allow": ok, "open": ok, diagnose.HealthPassing: ok,
		diagnose.VerdictBlocked: bad, "deny": bad, "refused": bad, "filtered": bad, "unreachable": bad, "error": bad, diagnose.HealthFailing: bad,
		diagnose.VerdictUnknown: unk,
	}
	return s
}

// status styles a service badge.
func (s *Styles) status(status string) lipgloss.Style {
	switch status {
	case StatusBroken:
		return s.Broken
	case StatusUnknown:
		return s.Unknown
	case StatusWarning:
		return s.Warning
	case StatusInfo:
		return s.Info
	}
	return s.OK
}

// severity styles a severity word.
func (s *Styles) severity(sev diagnose.Severity) lipgloss.Style {
	switch sev {
	case diagnose.Error:
		return s.SevError
	case diagnose.Warning:
		return s.SevWarning
	}
	return s.SevInfo
}

// verdict styles a verdict, configuration or probe word.
func (s *Styles) verdict(word string) lipgloss.Style {
	if st, ok := s.Verdict[word]; ok {
		return st
	}
	return s.App
}
