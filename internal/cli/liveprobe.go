package cli

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/probe"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// endpointProbeFlags turn on live probing of a snapshot's endpoints for
// diagnose, verify and tui.
type endpointProbeFlags struct {
	enabled     bool
	from        string
	timeout     time.Duration
	concurrency int
	retries     int
	fromSet     func() bool // whether --probe-from was given
}

// defaultProbeFrom is the vantage point of probes when --probe-from is not
// given: the operator's machine, or the gateway inside gwdoctor lab exec
// (which runs commands in the gateway's namespace).
func defaultProbeFrom() string {
	if os.Getenv(labExecEnv) != "" {
		return "gateway"
	}
	return "operator"
}

func (f *endpointProbeFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&f.enabled, "probe", false, "probe every endpoint live (TCP) and join the results with the configuration")
	// The default depends on where it runs, so the help states it once in
	// words instead of cobra printing one value.
	fs.StringVar(&f.from, "probe-from", "", "vantage point recorded with live probes: \"gateway\" only when running where the gateway's traffic comes from, so timeouts prove a block (default \"operator\"; \"gateway\" inside gwdoctor lab exec)")
	f.fromSet = func() bool { return fs.Changed("probe-from") }
	fs.DurationVar(&f.timeout, "probe-timeout", probe.DefaultTimeout, "longest wait per probe attempt")
	fs.IntVar(&f.concurrency, "probe-concurrency", 256, "endpoints probed at once")
	fs.IntVar(&f.retries, "probe-retries", probe.DefaultRetries, "further SYNs sent to a silent endpoint before it is called filtered")
}

func (f *endpointProbeFlags) options() (probe.Options, error) {
	if err := checkProbeTimeout("--probe-timeout", f.timeout); err != nil {
		return probe.Options{}, err
	}
	switch {
	case f.concurrency < 1:
		return probe.Options{}, fmt.Errorf("--probe-concurrency %d: must be at least 1", f.concurrency)
	case f.retries < 0 || f.retries > 10:
		return probe.Options{}, fmt.Errorf("--probe-retries %d: must be 0-10", f.retries)
	case f.from == "" && f.fromSet != nil && f.fromSet():
		return probe.Options{}, fmt.Errorf("--probe-from: needs a label (gateway, operator, …)")
	}
	if f.from == "" {
		f.from = defaultProbeFrom()
	}
	retries := f.retries
	if retries == 0 {
		retries = -1 // probe.Options: negative means none
	}
	return probe.Options{Timeout: f.timeout, MinTimeout: min(probe.DefaultMinTimeout, f.timeout), Concurrency: f.concurrency, Retries: retries}, nil
}

// probeEndpoints probes the snapshot's endpoints that include accepts (all
// when nil), once per ip:port, and appends the results to snap.Probes as
// observations from the vantage point from. Newer observations win over
// recorded ones. It returns how many targets it probed.
func probeEndpoints(ctx context.Context, s *Streams, snap *snapshot.Snapshot, from string, opts probe.Options, include func(*snapshot.Service, *snapshot.Endpoint) bool) int {
	seen := map[string]bool{}
	var targets []probe.Target
	for i := range snap.Services {
		svc := &snap.Services[i]
		for j := range svc.Endpoints {
			ep := &svc.Endpoints[j]
			if include != nil && !include(svc, ep) {
				continue
			}
			if _, err := netip.ParseAddr(ep.IP); err != nil {
				continue // validation rejects these; nothing to probe
			}
			// The IP as written, so the recorded target matches the endpoint's.
			t := probe.Target{Host: ep.IP, Port: ep.Port}
			if key := t.String(); !seen[key] {
				seen[key] = true
				targets = append(targets, t)
			}
		}
	}
	if len(targets) == 0 {
		return 0
	}
	progress := newProgressLine(s.Err, len(targets))
	opts.OnResult = progress.add
	progress.start()
	results := probe.Run(ctx, targets, opts)
	progress.stop()
	now := time.Now()
	for _, r := range results {
		snap.Probes = append(snap.Probes, r.Record(from, now))
	}
	return len(targets)
}
