package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/demo"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"github.com/gwdoctor/gwdoctor/probe"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
	"github.com/gwdoctor/gwdoctor/tui"
)

func init() { register("tui", newTUICmd) }

func newTUICmd(s *Streams) *cobra.Command {
	var (
		pf       endpointProbeFlags
		live     liveFlags
		useLive  bool
		useDemo  bool
		exportTo string
	)
	cmd := &cobra.Command{
		Use:   "tui [FILE | --live | --demo]",
		Short: "Interactive terminal UI: find the broken service, see why, check the fix, probe and re-check",
		Long: `Opens a full-screen view of a diagnosis: the gateway's services with a status badge
(BROKEN, UNKNOWN, WARNING, OK), the selected service's endpoints (pod, node, ENI, groups,
configuration verdict, probe, RTT) and findings, and the selected finding's evidence path
(gateway group → rule → backend group → ENI → node → pod, ✗ where it breaks), the rules
considered and the fix with the exact command.

p probes the selected service's endpoints live (P: all), r reloads the file (or, with --live,
collects again) and re-diagnoses, showing which findings are new and which are fixed since the
previous run — the check after applying a fix; c copies the fix command to the clipboard
(OSC 52); e exports the report as Markdown; ? explains the screen.

With --live the data is collected from Alibaba Cloud (MSE, ECS, ACK) and Kubernetes with the
same flags and credentials as gwdoctor snapshot --live; the screen shows each step while it runs.`,
		Example: `  gwdoctor tui --demo
  gwdoctor tui snapshot.yaml
  gwdoctor tui --live --gateway gw-3f9a --region cn-hangzhou
  gwdoctor tui snapshot.yaml --probe --probe-from gateway   # probe every endpoint at start`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			probeOpts, err := pf.options()
			if err != nil {
				return inputError(err)
			}
			cfg := tui.Config{
				Diagnose: func(ctx context.Context, snap *snapshot.Snapshot) *diagnose.Report {
					return diagnoseSnapshot(ctx, snap, nil)
				},
				Probe:        tuiProber(probeOpts),
				ProbeFrom:    pf.from,
				ProbeAtStart: pf.enabled,
				ExportDir:    exportTo,
			}
			sources := len(args)
			if useDemo {
				sources++
			}
			if useLive {
				sources++
			}
			switch {
			case sources > 1:
				return inputError(errors.New("give one of a snapshot FILE, --live or --demo"))
			case useLive:
				if live.gateway == "" {
					return inputError(fmt.Errorf("--gateway is required: the MSE gateway's unique id (gw-…), or set $%s", envGateway))
				}
				name := live.gateway
				if live.region != "" {
					name = live.region + "/" + live.gateway
				}
				cfg.Source = tui.Source{Kind: "live", Name: name, Load: live.collect}
			case useDemo:
				src, closeDemo := demoSource()
				defer closeDemo()
				cfg.Source = src
				cfg.ProbeFrom = demoProbeFrom
				cfg.ProbeSkip = demoProbeSkip
			case len(args) == 1:
				if args[0] == "-" {
					return inputError(errors.New("tui reads its keys from the terminal, so it cannot read the snapshot from standard input: give a FILE"))
				}
				path := args[0]
				snap, err := snapshot.Load(path)
				if err != nil {
					return inputError(err)
				}
				cfg.Snapshot = snap
				cfg.Source = tui.Source{Kind: "file", Name: path, Load: func(context.Context, func(string)) (*snapshot.Snapshot, error) {
					return snapshot.Load(path)
				}}
			default:
				return inputError(errors.New("tui needs a snapshot FILE, --live or --demo"))
			}
			out, ok := s.Out.(*os.File)
			if !ok || !term.IsTerminal(out.Fd()) {
				return inputError(errors.New("tui needs a terminal; for scripts and CI use gwdoctor diagnose"))
			}
			if fi, err := os.Stat(exportTo); err != nil || !fi.IsDir() {
				return inputError(fmt.Errorf("--export-dir %q: not a directory", exportTo))
			}
			err = tui.Run(cmd.Context(), cfg, nil, out)
			var noData *tui.NoDataError
			if errors.As(err, &noData) {
				return inputError(noData.Err)
			}
			return err
		},
	}
	pf.register(cmd)
	cmd.Flags().BoolVar(&useLive, "live", false, "collect live from Alibaba Cloud and Kubernetes (--gateway, --region and the other collection flags, as for snapshot --live); r collects again")
	live.register(cmd.Flags())
	cmd.Flags().BoolVar(&useDemo, "demo", false, "open the embedded demo scenario (healthy backends served and probed on loopback)")
	cmd.Flags().StringVar(&exportTo, "export-dir", ".", "directory where e writes the Markdown report")
	return cmd
}

// tuiProber probes with the command's probe options, streaming each result.
func tuiProber(opts probe.Options) tui.ProbeFunc {
	return func(ctx context.Context, targets []probe.Target, onResult func(probe.Result)) []probe.Result {
		o := opts
		o.OnResult = onResult
		return probe.Run(ctx, targets, o)
	}
}

// demoProbeSkip keeps probes off the demo endpoints its security groups
// block: on loopback nothing drops the SYN, so a probe would prove nothing.
func demoProbeSkip(e diagnose.EndpointResult) string {
	if e.Config != secgroup.Allow.String() {
		return "demo: loopback cannot reproduce a security group's drop"
	}
	return ""
}

// demoSource loads the embedded scenario and, like gwdoctor demo, serves
// its healthy backends on loopback (for the whole session, so p and r probe
// them too) and probes every endpoint the configuration allows.
func demoSource() (tui.Source, func()) {
	var (
		mu        sync.Mutex
		listeners *demo.Listeners
		listenErr error
		started   bool
	)
	load := func(ctx context.Context, progress func(string)) (*snapshot.Snapshot, error) {
		progress("loading the embedded demo scenario")
		snap, err := demo.Snapshot()
		if err != nil {
			return nil, err
		}
		plan := planDemo(snap)
		mu.Lock()
		if !started {
			started = true
			progress(fmt.Sprintf("serving %d healthy demo backends on loopback", len(plan.healthy)))
			listeners, listenErr = demo.Listen(plan.healthy)
		}
		lerr := listenErr
		mu.Unlock()
		if lerr != nil {
			return snap, fmt.Errorf("live probes skipped: %w", lerr)
		}
		progress(fmt.Sprintf("probing the %s the configuration allows", words.Count(len(plan.targets), "endpoint", "endpoints")))
		plan.probe(ctx, snap)
		return snap, nil
	}
	closeFn := func() {
		mu.Lock()
		defer mu.Unlock()
		if listeners != nil {
			listeners.Close()
		}
	}
	return tui.Source{Kind: "demo", Name: demo.Name, Load: load}, closeFn
}
