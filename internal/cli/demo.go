package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/demo"
	"github.com/gwdoctor/gwdoctor/probe"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func init() { register("demo", newDemoCmd) }

func newDemoCmd(s *Streams) *cobra.Command {
	var (
		rf      reportFlags
		print   bool
		noProbe bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Diagnose the embedded demo scenario (no cloud account needed)",
		Long: `Runs the diagnosis on an embedded scenario: one MSE gateway and seven services on an ACK
cluster, one healthy and the others broken in the ways the MSE FAQ describes (wrong node
authorized, port changed, pod ENI in another security group, a deny rule, a service down, an
enterprise security group). Use --print to see the scenario's snapshot, a worked example of the
snapshot format.

The demo's endpoints are loopback addresses. Unless --no-probe is given, the demo starts a
real listener for every healthy backend (configuration allows the gateway and the pod is
ready) and probes, live, every endpoint the configuration allows: listeners answer open, the
service that is down answers refused. Endpoints the security groups block are not probed:
loopback cannot reproduce a security group's silent drop.`,
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
			sel, err := rf.selectIn(snap)
			if err != nil {
				return inputError(err)
			}
			if !noProbe {
				if err := probeDemo(cmd.Context(), snap); err != nil {
					fmt.Fprintf(s.Err, "gwdoctor demo: live probes skipped: %v\n", err)
				}
			}
			report := diagnoseSnapshot(cmd.Context(), snap, &diagnose.SourceInfo{Kind: "demo", Name: demo.Name, CapturedAt: snap.CapturedAt})
			sel.apply(report, sup)
			if rf.onlyBroken {
				report.KeepOnlyBroken()
			}
			return writeReport(s.Out, report, format, failOn)
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&print, "print", false, "print the demo scenario's snapshot (YAML) instead of diagnosing it")
	cmd.Flags().BoolVar(&noProbe, "no-probe", false, "do not start loopback listeners and probe them")
	return cmd
}

// demoProbeFrom labels the demo's live probes: loopback stands in for the
// gateway's network position.
const demoProbeFrom = "demo-loopback"

// probeDemo serves the demo's healthy backends on loopback and probes every
// endpoint the configuration allows, adding the results to snap.
func probeDemo(ctx context.Context, snap *snapshot.Snapshot) error {
	plan := planDemo(snap)
	listeners, err := demo.Listen(plan.healthy)
	if err != nil {
		return err
	}
	defer listeners.Close()
	plan.probe(ctx, snap)
	return nil
}

// demoPlan is what the demo serves and probes, shared by gwdoctor demo and
// gwdoctor tui --demo: a listener for every backend the configuration allows
// and whose pod is ready; a probe of every endpoint the configuration allows
// (on loopback nothing drops a SYN, so probing a blocked one proves nothing).
type demoPlan struct {
	healthy []string
	targets []probe.Target
}

func planDemo(snap *snapshot.Snapshot) demoPlan {
	var p demoPlan
	for _, ep := range diagnose.NewView(snap).Endpoints {
		if ep.Decision.Verdict != secgroup.Allow {
			continue
		}
		p.targets = append(p.targets, probe.Target{Host: ep.Endpoint.IP, Port: ep.Endpoint.Port})
		if ep.Endpoint.IsReady() {
			p.healthy = append(p.healthy, ep.Target())
		}
	}
	return p
}

// probe probes the plan's targets and records the results in snap.
func (p demoPlan) probe(ctx context.Context, snap *snapshot.Snapshot) {
	results := probe.Run(ctx, p.targets, probe.Options{Timeout: 500 * time.Millisecond, Concurrency: 64})
	now := time.Now()
	for _, r := range results {
		snap.Probes = append(snap.Probes, r.Record(demoProbeFrom, now))
	}
}
