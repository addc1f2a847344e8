package tui

import (
	"context"
	"io"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// NoDataError is what Run returns when the user quit before any data could
// be loaded: the last load's error, for the caller to report (exit 2).
type NoDataError struct{ Err error }

func (e *NoDataError) Error() string { return "no data loaded: " + e.Err.Error() }
func (e *NoDataError) Unwrap() error { return e.Err }

// Run runs the UI on the terminal until the user quits or ctx ends. in and
// out are the terminal (nil: standard input and output). With NO_COLOR set
// to anything (no-color.org), colours are dropped and bold, reverse and the
// status words remain. extra options go to the bubbletea program (tests
// give tea.WithWindowSize when out is not a terminal).
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer, extra ...tea.ProgramOption) error {
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if in != nil {
		opts = append(opts, tea.WithInput(in))
	}
	if out != nil {
		opts = append(opts, tea.WithOutput(out))
	}
	// no-color.org: any non-empty value; colorprofile only reads booleans.
	if os.Getenv("NO_COLOR") != "" {
		opts = append(opts, tea.WithColorProfile(colorprofile.ASCII))
	}
	cfg.Dark = true
	m := New(cfg)
	_, err := tea.NewProgram(m, append(opts, extra...)...).Run()
	if m.job != nil {
		m.job.kill()
	}
	if err == nil && m.report == nil && m.loadErr != nil {
		return &NoDataError{Err: m.loadErr}
	}
	return err
}
