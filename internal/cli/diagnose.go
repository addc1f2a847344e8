package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/render"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func init() { register("diagnose", newDiagnoseCmd) }

// reportFlags are the output and exit-code flags shared by diagnose, demo and verify.
type reportFlags struct {
	output     string
	failOn     string
	services   []string
	endpoints  []string
	suppress   []string
	onlyBroken bool
}

// selection is what --service and --endpoint pick in one snapshot.
type selection struct {
	services  []string // service keys (NAMESPACE/NAME), resolved
	endpoints []diagnose.EndpointSelector
}

// selectIn resolves --service and --endpoint against snap: bare names, and
// values that pick nothing, are errors naming what is there.
func (f *reportFlags) selectIn(snap *snapshot.Snapshot) (selection, error) {
	return newSelection(snap, f.services, f.endpoints)
}

func newSelection(snap *snapshot.Snapshot, services, endpoints []string) (selection, error) {
	var sel selection
	var err error
	if sel.services, err = resolveServices(snap, services); err != nil {
		return selection{}, err
	}
	if sel.endpoints, err = parseEndpoints(endpoints); err != nil {
		return selection{}, err
	}
	if err := checkEndpoints(snap, sel.endpoints); err != nil {
		return selection{}, err
	}
	return sel, nil
}

// include selects the endpoints to probe (nil: all).
func (sel selection) include() func(*snapshot.Service, *snapshot.Endpoint) bool {
	return endpointInclude(sel.services, sel.endpoints)
}

// apply hides what the selection and the suppressions leave out.
func (sel selection) apply(report *diagnose.Report, sup []diagnose.Suppression) {
	report.ApplyFilter(sel.services, sup)
	report.ApplyEndpointFilter(sel.endpoints)
}

func (f *reportFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&f.output, "output", "o", "text", "output format: text, json or markdown")
	fs.StringVar(&f.failOn, "fail-on", "error", "exit 1 when a finding is at or above this severity: error, warning, info or never")
	fs.StringArrayVar(&f.services, "service", nil, "only this service (NAMESPACE/NAME, or NAME when one namespace has it); repeatable")
	fs.StringArrayVar(&f.endpoints, "endpoint", nil, "only this endpoint and its findings (IP or IP:PORT, as in a 503 log); repeatable")
	fs.StringArrayVar(&f.suppress, "suppress", nil, "hide findings of CODE or SLUG, optionally only for one subject: CODE[=SUBJECT]; repeatable")
	fs.BoolVar(&f.onlyBroken, "only-broken", false, "leave reachable endpoints out of the endpoint list (the summary still counts them): for huge estates")
}

// parsed validates the flags up front, so bad flags exit 2 before any work.
func (f *reportFlags) parsed() (render.Format, diagnose.FailOn, []diagnose.Suppression, error) {
	format, err := render.ParseFormat(f.output)
	if err != nil {
		return "", diagnose.FailOn{}, nil, err
	}
	failOn, err := diagnose.ParseFailOn(f.failOn)
	if err != nil {
		return "", diagnose.FailOn{}, nil, err
	}
	if _, err := parseEndpoints(f.endpoints); err != nil {
		return "", diagnose.FailOn{}, nil, err
	}
	var sup []diagnose.Suppression
	for _, s := range f.suppress {
		x, err := diagnose.ParseSuppression(s)
		if err != nil {
			return "", diagnose.FailOn{}, nil, err
		}
		sup = append(sup, x)
	}
	return format, failOn, sup, nil
}

func newDiagnoseCmd(s *Streams) *cobra.Command {
	var (
		rf       reportFlags
		pf       endpointProbeFlags
		baseline string
		live     liveFlags
		isLive   bool
	)
	cmd := &cobra.Command{
		Use:   "diagnose [FILE]",
		Short: "Diagnose a snapshot: every endpoint's verdict, the cause of every broken one, and the fix",
		Long: `Reads a snapshot (YAML or JSON, format v1; "-" for standard input), or with --live collects
the current state from Alibaba Cloud and Kubernetes, and reports, for every service endpoint,
whether the gateway can reach it (reachable / blocked / unknown), the ENI and security groups
that decide it, the deciding rule, and the findings with evidence and fix.

With --live, parts that cannot be read (a missing RAM permission, throttling) are printed and
marked missing: the checks that need them are skipped and the verdicts that depend on them
are unknown, never healthy.`,
		Example: `  gwdoctor diagnose snapshot.yaml
  gwdoctor diagnose snapshot.yaml -o json --fail-on warning
  gwdoctor diagnose snapshot.yaml --service shop/orders --suppress broad-authorization
  gwdoctor diagnose snapshot.yaml --probe --probe-from gateway   # run on a host in the gateway's vSwitch
  gwdoctor diagnose now.yaml --baseline before.yaml             # lead with what got worse
  gwdoctor diagnose --live --region cn-hangzhou --gateway gw-3f9a --context prod --probe`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, failOn, sup, err := rf.parsed()
			if err != nil {
				return inputError(err)
			}
			probeOpts, err := pf.options()
			if err != nil {
				return inputError(err)
			}
			var src *diagnose.SourceInfo
			switch {
			case isLive && len(args) > 0:
				return inputError(fmt.Errorf("give a snapshot FILE or --live, not both"))
			case !isLive && len(args) == 0:
				return inputError(fmt.Errorf("diagnose needs a snapshot FILE (or - for standard input), or --live"))
			case !isLive && baseline == "-" && args[0] == "-":
				return inputError(fmt.Errorf("--baseline -: standard input is already the current snapshot"))
			}
			var snap *snapshot.Snapshot
			if isLive {
				snap, src, err = live.liveSource(s.Err)(cmd.Context())
			} else {
				snap, err = loadSnapshot(cmd.Context(), args[0], s.In)
				if snap != nil {
					src = &diagnose.SourceInfo{Kind: "file", Name: args[0], CapturedAt: snap.CapturedAt}
				}
			}
			if err != nil {
				return inputError(err)
			}
			base, err := loadBaseline(cmd.Context(), baseline, s.In)
			if err != nil {
				return inputError(err)
			}
			sel, err := rf.selectIn(snap)
			if err != nil {
				return inputError(err)
			}
			if pf.enabled {
				probeEndpoints(cmd.Context(), s, snap, pf.from, probeOpts, sel.include())
			}
			var report *diagnose.Report
			if base != nil {
				warnOtherGateway(s.Err, base, snap)
				report = diagnoseAgainst(cmd.Context(), snap, src, base, baseline)
			} else {
				report = diagnoseSnapshot(cmd.Context(), snap, src)
			}
			sel.apply(report, sup)
			if rf.onlyBroken {
				report.KeepOnlyBroken()
			}
			return writeReport(s.Out, report, format, failOn)
		},
	}
	rf.register(cmd)
	pf.register(cmd)
	cmd.Flags().BoolVar(&isLive, "live", false, "collect the current state from Alibaba Cloud and Kubernetes instead of reading a FILE (see the live flags)")
	live.register(cmd.Flags())
	cmd.Flags().StringVar(&baseline, "baseline", "", "a snapshot from when it worked: findings are marked new, present or fixed, and the report leads with regressions")
	return cmd
}

// diagnoseSnapshot runs the whole catalog over snap.
func diagnoseSnapshot(ctx context.Context, snap *snapshot.Snapshot, src *diagnose.SourceInfo) *diagnose.Report {
	report := diagnose.Run(ctx, diagnose.NewView(snap), checks.All())
	report.Source = src
	return report
}

// writeReport renders the report and turns it into the exit code.
func writeReport(out io.Writer, report *diagnose.Report, format render.Format, failOn diagnose.FailOn) error {
	w := out
	if format == render.FormatText {
		w = render.Terminal(out)
	}
	if err := render.Write(w, report, format); err != nil {
		return err
	}
	if code := report.ExitCode(failOn); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}
