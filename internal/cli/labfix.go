package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/fix"
	"github.com/gwdoctor/gwdoctor/lab"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// newLabFixCmd applies the fix plan to a running lab the way the cloud
// would: an MSE authorization comes with the inbound rule MSE writes into
// the backend group (source = the gateway's group), so a rehearsal of "add
// the authorization" matches what the account will do.
func newLabFixCmd(s *Streams, prefix *string) *cobra.Command {
	var finding string
	cmd := &cobra.Command{
		Use:   "fix [--finding ID|CODE|SLUG]",
		Short: "Apply the fix plan of the lab's snapshot to the running lab, as MSE and ECS would",
		Long: `Plans the fix for the snapshot the lab emulates (as gwdoctor fix does), then applies the
plan's changes to the running lab: an MSE authorization is applied with the inbound rule MSE
writes with it (accept the port from the gateway's group), an ECS rule as written. The lab's
snapshot file is updated, so diagnosing it from inside the lab shows the new state, and the
gateway's probes show whether the fix opens the path.

  gwdoctor lab up incident.yaml
  gwdoctor lab exec -- gwdoctor probe 10.0.1.11:8080      # filtered
  gwdoctor lab fix
  gwdoctor lab exec -- gwdoctor probe 10.0.1.11:8080      # open

Exit codes: 0 applied (or nothing to fix); 1 some blocked endpoint has no automatic fix;
2 no lab is up, or bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := labPreflight(*prefix); err != nil {
				return err
			}
			states, err := readLabStates(*prefix, true)
			if err != nil {
				return err
			}
			if len(states) == 0 {
				return inputError(fmt.Errorf("no lab with prefix %s is up: run %s lab up --prefix %s FILE first", *prefix, selfCommand(), *prefix))
			}
			st := states[0]
			base, err := snapshot.Load(st.Emulated)
			if err != nil {
				return inputError(fmt.Errorf("the lab's snapshot: %w", err))
			}
			ctx := cmd.Context()
			plan, err := fix.Build(ctx, base, fix.Diagnose(ctx, base), fix.Options{Finding: finding, Rehearsal: true})
			if err != nil {
				return inputError(err)
			}
			if err := fix.WriteText(s.Out, plan); err != nil {
				return err
			}
			if len(plan.Actions) > 0 {
				fixed, err := fix.Apply(base, plan.Actions)
				if err != nil {
					return err
				}
				if err := lab.ApplyRunning(ctx, *prefix, base, fixed); err != nil {
					if errors.Is(err, lab.ErrCannotEmulate) {
						return inputError(err)
					}
					return err
				}
				if err := snapshot.Save(st.Emulated, fixed); err != nil {
					return fmt.Errorf("the lab runs the fixed rules, but its snapshot file could not be updated: %w", err)
				}
				fmt.Fprintf(s.Out, "\nApplied %d change(s) to lab %s as the cloud would (an authorization with the inbound rule MSE writes for it); %s holds the new state.\nProbe from the gateway: %s lab exec -- gwdoctor diagnose %s --probe\n",
					len(plan.Actions), *prefix, st.Emulated, selfCommand(), st.Emulated)
			}
			if !plan.Complete() {
				return &ExitError{Code: ExitFindings}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&finding, "finding", "", "only the endpoints of the finding with this id, or of the findings with this code or slug")
	return cmd
}
