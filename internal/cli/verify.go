package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/render"
	"github.com/gwdoctor/gwdoctor/snapshot"
	"github.com/gwdoctor/gwdoctor/verify"
)

func init() { register("verify", newVerifyCmd) }

// stateSource produces the current state; verify calls it at every check,
// so a file is re-read (and a live source re-collected) each time.
type stateSource func(ctx context.Context) (*snapshot.Snapshot, *diagnose.SourceInfo, error)

// stateProber adds live observations to a freshly loaded snapshot (--probe).
type stateProber func(ctx context.Context, snap *snapshot.Snapshot, include func(*snapshot.Service, *snapshot.Endpoint) bool)

// afterVerifyCheck, when set (tests), is called after each check with its
// number, before the watch waits for the next one.
var afterVerifyCheck func(n int)

func fileSource(path string, stdin io.Reader) stateSource {
	return func(ctx context.Context) (*snapshot.Snapshot, *diagnose.SourceInfo, error) {
		snap, err := loadSnapshot(ctx, path, stdin)
		if err != nil {
			return nil, nil, err
		}
		return snap, &diagnose.SourceInfo{Kind: "file", Name: path, CapturedAt: snap.CapturedAt}, nil
	}
}

// verifier judges one state against an optional baseline.
type verifier struct {
	source     stateSource
	probe      stateProber
	services   []string // as given: resolved against each state read
	endpoints  []string
	suppress   []diagnose.Suppression
	catalog    []*diagnose.Check
	baseView   *diagnose.View
	baseReport *diagnose.Report
	baseSrc    *diagnose.SourceInfo
	warn       io.Writer // warnings (standard error)
	warned     bool
}

func (vr *verifier) check(ctx context.Context) (*verify.Verification, error) {
	snap, src, err := vr.source(ctx)
	if err != nil {
		return nil, err
	}
	sel, err := newSelection(snap, vr.services, vr.endpoints)
	if err != nil {
		return nil, err
	}
	if vr.baseView != nil && !vr.warned {
		vr.warned = true
		warnOtherGateway(vr.warn, vr.baseView.Snapshot, snap)
	}
	if vr.probe != nil {
		vr.probe(ctx, snap, sel.include())
	}
	v := diagnose.NewView(snap)
	v.Baseline = vr.baseView
	report := diagnose.Run(ctx, v, vr.catalog)
	report.Source = src
	if vr.baseReport != nil {
		report.CompareBaseline(vr.baseReport, vr.baseSrc, vr.catalog)
	}
	sel.apply(report, vr.suppress)
	return verify.Evaluate(vr.baseReport, report), nil
}

func newVerifyCmd(s *Streams) *cobra.Command {
	var (
		output    string
		baseline  string
		junit     string
		watch     time.Duration
		interval  time.Duration
		services  []string
		endpoints []string
		suppress  []string
		pf        endpointProbeFlags
		live      liveFlags
		isLive    bool
	)
	cmd := &cobra.Command{
		Use:   "verify [FILE]",
		Short: "Post-change verification: does everything that worked still work?",
		Long: `Checks the current state after a change. It passes (exit 0) only when every endpoint that
was reachable in the --baseline snapshot is reachable now (every endpoint, without a
baseline) and no new error finding appeared. New endpoints of a service that worked (a
rollout's replacement pods) must be reachable too; endpoints that did not work in the
baseline are reported but not required.

With --watch, the state is checked again every --interval (the file re-read, the
endpoints re-probed with --probe) until the verification passes or the duration ends;
every change is printed as it happens. --junit writes one test case per service endpoint
(classname = service, name = ip:port) and one per new error finding, for CI pipelines.

Security groups are stateful: connections established before a rule change may persist
for up to 910 s, so old connections still working is not proof. verify always says so.

Exit codes: 0 pass; 1 an endpoint that must be reachable is not, or a new error finding;
2 usage or input error; 3 undecidable (unknown verdicts among the endpoints that must be
reachable, and nothing worse).`,
		Example: `  gwdoctor verify now.yaml --baseline before.yaml
  gwdoctor verify now.yaml --baseline before.yaml --probe --probe-from gateway --junit verify.xml
  gwdoctor verify state.yaml --baseline before.yaml --watch 10m --interval 15s   # while the fix rolls out
  gwdoctor verify --live --gateway gw-3f9a --baseline before.yaml --probe --watch 10m`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := render.ParseFormat(output)
			if err != nil {
				return inputError(err)
			}
			if format == render.FormatMarkdown {
				return inputError(fmt.Errorf("verify writes text or json (-o text|json); use --junit FILE for CI"))
			}
			probeOpts, err := pf.options()
			if err != nil {
				return inputError(err)
			}
			if _, err := parseEndpoints(endpoints); err != nil {
				return inputError(err)
			}
			current := ""
			if len(args) > 0 {
				current = args[0]
			}
			switch {
			case isLive && current != "":
				return inputError(fmt.Errorf("give a snapshot FILE or --live, not both"))
			case !isLive && current == "":
				return inputError(fmt.Errorf("verify needs a snapshot FILE (or - for standard input), or --live"))
			case watch < 0:
				return inputError(fmt.Errorf("--watch %s: must not be negative", watch))
			case interval <= 0:
				return inputError(fmt.Errorf("--interval %s: must be positive", interval))
			case watch > 0 && current == "-":
				return inputError(fmt.Errorf("--watch re-reads the snapshot: give a FILE, not standard input"))
			case baseline == "-" && current == "-":
				return inputError(fmt.Errorf("--baseline -: standard input is already the current snapshot"))
			}
			if junit != "" {
				if dir := filepath.Dir(junit); dir != "" {
					if st, err := os.Stat(dir); err != nil || !st.IsDir() {
						return inputError(fmt.Errorf("--junit %s: directory %s does not exist", junit, dir))
					}
				}
			}
			source := fileSource(current, s.In)
			if isLive {
				source = live.liveSource(s.Err) // re-collected at every check, so --watch follows the cloud
			}
			var sup []diagnose.Suppression
			for _, x := range suppress {
				y, err := diagnose.ParseSuppression(x)
				if err != nil {
					return inputError(err)
				}
				sup = append(sup, y)
			}
			vr := &verifier{source: source, services: services, endpoints: endpoints, suppress: sup, catalog: checks.All(), warn: s.Err}
			if pf.enabled {
				vr.probe = func(ctx context.Context, snap *snapshot.Snapshot, include func(*snapshot.Service, *snapshot.Endpoint) bool) {
					probeEndpoints(ctx, s, snap, pf.from, probeOpts, include)
				}
			}
			if baseline != "" {
				base, err := loadBaseline(cmd.Context(), baseline, s.In)
				if err != nil {
					return inputError(err)
				}
				baseSel, err := newSelection(base, services, nil)
				if err != nil {
					return inputError(fmt.Errorf("--baseline: %w", err))
				}
				vr.baseView = diagnose.NewView(base)
				vr.baseSrc = &diagnose.SourceInfo{Kind: "file", Name: baseline, CapturedAt: base.CapturedAt}
				vr.baseReport = diagnose.Run(cmd.Context(), vr.baseView, vr.catalog)
				vr.baseReport.Source = vr.baseSrc
				// The endpoints are picked in the baseline too, but an
				// endpoint may be new now: not an error when absent there.
				baseSel.endpoints, _ = parseEndpoints(endpoints)
				baseSel.apply(vr.baseReport, nil)
			}
			return runVerify(cmd.Context(), s, vr, verifyRun{format: format, junit: junit, watch: watch, interval: interval})
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&output, "output", "o", "text", "output format: text or json")
	fs.StringVar(&baseline, "baseline", "", "a snapshot from when it worked: only what was reachable then must be reachable now")
	fs.StringVar(&junit, "junit", "", "write JUnit XML to this file (one test case per service endpoint)")
	fs.DurationVar(&watch, "watch", 0, "re-check until the verification passes or this duration ends (e.g. 10m)")
	fs.DurationVar(&interval, "interval", 5*time.Second, "time between checks with --watch")
	fs.StringArrayVar(&services, "service", nil, "only this service (NAMESPACE/NAME, or NAME when one namespace has it); repeatable")
	fs.StringArrayVar(&endpoints, "endpoint", nil, "only this endpoint (IP or IP:PORT, as in a 503 log); repeatable")
	fs.StringArrayVar(&suppress, "suppress", nil, "hide findings of CODE or SLUG, optionally only for one subject: CODE[=SUBJECT]; repeatable (a blocked endpoint still fails the verification)")
	pf.register(cmd)
	fs.BoolVar(&isLive, "live", false, "collect the current state from Alibaba Cloud and Kubernetes at every check instead of reading a FILE")
	live.register(fs)
	return cmd
}

type verifyRun struct {
	format          render.Format
	junit           string
	watch, interval time.Duration
}

// runVerify checks once, or with --watch until the verification passes or
// the duration ends, printing every change as it happens; then writes the
// final verification (and JUnit) and returns its exit code.
func runVerify(ctx context.Context, s *Streams, vr *verifier, o verifyRun) error {
	start := time.Now()
	ver, err := vr.check(ctx)
	if err != nil {
		return inputError(err)
	}
	n := 1
	ver.Checks = n
	if afterVerifyCheck != nil {
		afterVerifyCheck(n)
	}
	if o.watch > 0 {
		// Progress goes to stdout in text, to stderr when stdout is JSON.
		progress := render.Terminal(s.Out)
		if o.format == render.FormatJSON {
			progress = s.Err
		}
		say := func(msg string) { fmt.Fprintf(progress, "%s check %d: %s\n", time.Now().Format("15:04:05"), n, msg) }
		say(render.VerificationHeadline(ver))
		deadline := time.NewTimer(o.watch)
		defer deadline.Stop()
		ended := ""
	watching:
		for ver.Result != verify.Pass {
			tick := time.NewTimer(o.interval)
			select {
			case <-ctx.Done():
				tick.Stop()
				ended = "interrupted"
				break watching
			case <-deadline.C:
				tick.Stop()
				ended = fmt.Sprintf("--watch %s ended", o.watch)
				break watching
			case <-tick.C:
			}
			n++
			next, err := vr.check(ctx)
			if err != nil {
				say(fmt.Sprintf("cannot load the state (keeping the previous one): %v", err))
			} else {
				for _, t := range verify.Transitions(ver, next) {
					say(t)
				}
				ver = next
			}
			ver.Checks = n
			if afterVerifyCheck != nil {
				afterVerifyCheck(n)
			}
		}
		if ended != "" {
			say(fmt.Sprintf("%s; the verification still %s", ended, map[string]string{verify.Fail: "fails", verify.Undecidable: "is undecidable"}[ver.Result]))
		} else {
			say("the verification passes")
		}
		fmt.Fprintln(progress)
	}
	ver.Checks = n
	w := s.Out
	if o.format == render.FormatText {
		w = render.Terminal(s.Out)
	} else {
		fmt.Fprintf(s.Err, "gwdoctor verify: warning: %s\n", verify.StatefulWarning)
	}
	if err := render.WriteVerification(w, ver, o.format); err != nil {
		return err
	}
	if o.junit != "" {
		if err := writeJUnitFile(o.junit, verify.JUnit(ver, time.Since(start), start)); err != nil {
			return inputError(err)
		}
	}
	if code := ver.ExitCode(); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// writeJUnitFile writes the report atomically: CI never reads half a file.
func writeJUnitFile(path string, doc *verify.JUnitSuites) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gwdoctor-junit-*")
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := verify.WriteJUnit(tmp, doc); err != nil {
		tmp.Close()
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	return nil
}
