// Package cli wires gwdoctor's commands (cobra). Each command lives in its own
// file and registers itself with register in an init function, so commands
// can be added without touching this file.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes, identical for every output format (DESIGN.md).
const (
	ExitOK           = 0
	ExitFindings     = 1
	ExitInput        = 2
	ExitInconclusive = 3
)

// ExitError ends a command with a specific exit code. A nil Err means the
// command already printed what it had to say.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// inputError marks bad input or usage: exit code 2. An error that already
// carries its exit code (an interruption while reading input) keeps it.
func inputError(err error) error {
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: ExitInput, Err: err}
}

// exitCode returns the code a command's result maps to.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	// Cobra's own flag and argument errors are usage errors.
	return ExitInput
}

// Streams are the command's standard streams, replaceable in tests.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

type commandFactory func(*Streams) *cobra.Command

var factories = map[string]commandFactory{}

// register adds a top-level command; name is only the sort key for the help.
func register(name string, f commandFactory) {
	if _, dup := factories[name]; dup {
		panic("cli: command registered twice: " + name)
	}
	factories[name] = f
}

// NewRoot builds the root command with every registered subcommand.
func NewRoot(s *Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "gwdoctor",
		Short: "Find why an MSE cloud-native gateway cannot reach its backends, with evidence and the fix",
		Long: `gwdoctor joins the gateway's security-group authorizations, the security groups on
the backends' network interfaces, where each pod runs, and live TCP probes; then it
names the cause of every broken endpoint, with the evidence chain and the exact fix.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it;
2 usage or input error; 3 inconclusive (unknown verdicts only).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionText(),
	}
	// --version prints what gwdoctor version prints.
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	names := make([]string, 0, len(factories))
	for name := range factories {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		root.AddCommand(factories[name](s))
	}
	return root
}

// Main runs gwdoctor with args and returns the process exit code.
func Main(args []string, in io.Reader, out, errw io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return mainContext(ctx, args, in, out, errw)
}

// mainContext is Main with the context that SIGINT and SIGTERM cancel.
func mainContext(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	s := &Streams{In: in, Out: out, Err: errw}
	root := NewRoot(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	var ee *ExitError
	if err != nil && (!errors.As(err, &ee) || ee.Err != nil) {
		fmt.Fprintf(errw, "gwdoctor: %v\n", err)
	}
	return code
}
