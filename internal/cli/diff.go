package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diff"
	"github.com/gwdoctor/gwdoctor/render"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func init() { register("diff", newDiffCmd) }

func newDiffCmd(s *Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "diff BASELINE CURRENT",
		Short: "What changed since it worked, and what it broke",
		Long: `Compares two snapshots — BASELINE from when the gateway reached its backends, CURRENT now —
and lists every change that matters to reachability: pods that moved to another node, pool or
ENI (so another set of security groups), endpoint ports, readiness, authorizations added,
removed, narrowed or widened (and whether a removal cascaded to the inbound rule), groups
attached to or detached from ENIs, inbound rules added, removed or changed (a new drop
especially), a group's type or innerAccessPolicy, node pools' groups, endpoints that
appeared or disappeared. Changes that cannot matter (descriptions, names, capture time,
unrelated groups and rules, probe records) are counted, not listed.

Both snapshots are diagnosed with the whole catalog; every endpoint that stopped serving
and every new finding is linked to the changes that touch it, most likely cause first.
Endpoints are matched by service and pod name, else by service and ip:port.

Exit codes: 0 nothing broke (changes may be listed); 1 an endpoint that served in the
baseline does not now, or a new error finding; 2 usage or input error; 3 endpoints that
served are now unknown, and nothing worse.`,
		Example: `  gwdoctor snapshot --live -o before.yaml     # while it works
  gwdoctor diff before.yaml now.yaml
  gwdoctor diff before.yaml now.yaml -o markdown >> incident-4711.md
  gwdoctor diff before.yaml - -o json < now.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 2 {
				return inputError(fmt.Errorf("diff needs two snapshots, BASELINE (from when it worked) and CURRENT (now), e.g. gwdoctor diff before.yaml now.yaml; got %d", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := render.ParseFormat(output)
			if err != nil {
				return inputError(err)
			}
			if args[0] == "-" && args[1] == "-" {
				return inputError(fmt.Errorf("only one of BASELINE and CURRENT can be standard input"))
			}
			base, cur, err := loadPair(cmd.Context(), s, args[0], args[1])
			if err != nil {
				return inputError(err)
			}
			warnOtherGateway(s.Err, base, cur)
			res := diff.Compare(cmd.Context(), base, cur, diff.Options{Checks: checks.All(), BaselineName: args[0], CurrentName: args[1]})
			w := s.Out
			if format == render.FormatText {
				w = render.Terminal(s.Out)
			}
			if err := render.WriteDiff(w, res, format); err != nil {
				return err
			}
			if code := res.ExitCode(); code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or markdown")
	return cmd
}

// loadPair loads both snapshots and reports every problem of both at once.
func loadPair(ctx context.Context, s *Streams, basePath, curPath string) (*snapshot.Snapshot, *snapshot.Snapshot, error) {
	// Loading dominates on large snapshots: read both at once.
	var (
		base, cur       *snapshot.Snapshot
		baseErr, curErr error
		wg              sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		base, baseErr = loadSnapshot(ctx, basePath, s.In)
	}()
	cur, curErr = loadSnapshot(ctx, curPath, s.In)
	wg.Wait()
	// Interrupted: say that once, not for each read it stopped.
	for _, err := range []error{baseErr, curErr} {
		var ee *ExitError
		if errors.As(err, &ee) && ee.Code == ExitInterrupted {
			return nil, nil, err
		}
	}
	var errs *multierror.Error
	if baseErr != nil {
		errs = multierror.Append(errs, fmt.Errorf("baseline: %w", baseErr))
	}
	if curErr != nil {
		errs = multierror.Append(errs, fmt.Errorf("current: %w", curErr))
	}
	if errs != nil {
		errs.ErrorFormat = func(es []error) string {
			msg := ""
			for i, e := range es {
				if i > 0 {
					msg += "\n"
				}
				msg += e.Error()
			}
			return msg
		}
		return nil, nil, errs
	}
	return base, cur, nil
}
