package cli

import (
	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/demo"
)

func init() { register("demo", newDemoCmd) }

func newDemoCmd(s *Streams) *cobra.Command {
	var (
		rf    reportFlags
		print bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Diagnose the embedded demo scenario (no cloud account needed)",
		Long: `Runs the diagnosis on an embedded scenario: one MSE gateway and seven services on an ACK
cluster, one healthy and the others broken in the ways the MSE FAQ describes (wrong node
authorized, port changed, pod ENI in another security group, a deny rule, a service down, an
enterprise security group). Use --print to see the scenario's snapshot, a worked example of the
snapshot format.`,
		Example: `  gwdoctor demo
  gwdoctor demo -o markdown
  gwdoctor demo --print > demo.yaml && gwdoctor diagnose demo.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if print {
				_, err := s.Out.Write(demo.Source())
				return err
			}
			format, failOn, sup, err := rf.parsed()
			if err != nil {
				return inputError(err)
			}
			snap, err := demo.Snapshot()
			if err != nil {
				return err
			}
			if err := checkServices(snap, rf.services); err != nil {
				return inputError(err)
			}
			report := diagnoseSnapshot(cmd.Context(), snap, &diagnose.SourceInfo{Kind: "demo", Name: demo.Name, CapturedAt: snap.CapturedAt})
			report.ApplyFilter(rf.services, sup)
			return writeReport(s.Out, report, format, failOn)
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&print, "print", false, "print the demo scenario's snapshot (YAML) instead of diagnosing it")
	return cmd
}
