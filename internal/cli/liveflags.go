package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/pflag"

	"github.com/gwdoctor/gwdoctor/collect"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// liveFlags are the flags of every command that can collect live
// (snapshot --live, and diagnose/verify/tui --live).
type liveFlags struct {
	region     string
	gateway    string
	endpoint   string
	profile    string
	clusterID  string
	kubeconfig string
	context    string
	timeout    time.Duration
}

// Environment variables that default the live flags.
const (
	envGateway = "GWDOCTOR_GATEWAY"
	envRegion  = "ALIBABA_CLOUD_REGION_ID"
)

func (f *liveFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.gateway, "gateway", os.Getenv(envGateway), "MSE gateway unique id, gw-… (default $"+envGateway+")")
	f.registerSources(fs)
}

// registerSources registers every live flag but --gateway (serve takes
// several gateways).
func (f *liveFlags) registerSources(fs *pflag.FlagSet) {
	fs.StringVar(&f.region, "region", "", "Alibaba Cloud region, e.g. cn-hangzhou (default $"+envRegion+" or the profile's region)")
	fs.StringVar(&f.endpoint, "aliyun-endpoint", "", "send every Alibaba Cloud API call to this base URL (VPC endpoint or proxy), e.g. https://vpc-endpoint.example")
	fs.StringVar(&f.profile, "profile", "", "aliyun CLI profile in ~/.aliyun/config.json (modes AK, StsToken, EcsRamRole)")
	fs.StringVar(&f.clusterID, "cluster-id", "", "ACK cluster id for node pools (default: found from the gateway's K8s source or the nodes' labels)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&f.context, "context", "", "kubeconfig context (default the current context)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up collecting after this long; what was read by then is kept")
}

// options turns the flags into collection options.
func (f *liveFlags) options(progress func(string)) collect.Options {
	return collect.Options{Region: f.region, GatewayID: f.gateway, Endpoint: f.endpoint, Profile: f.profile,
		ClusterID: f.clusterID, Kubeconfig: f.kubeconfig, Context: f.context, Progress: progress}
}

// collect runs a live collection and validates (normalises) the result, as
// loading a file would, so that --live and a saved snapshot diagnose alike.
// A nil snapshot with an error is an input problem (no gateway, no
// credentials, bad flag): exit 2. A snapshot with an error is partial: the
// error (a *multierror.Error) lists every part that is missing, and any
// validation problem of the collected data.
func (f *liveFlags) collect(ctx context.Context, progress func(string)) (*snapshot.Snapshot, error) {
	if f.gateway == "" {
		return nil, inputError(fmt.Errorf("--gateway is required: the MSE gateway's unique id (gw-…), or set $%s", envGateway))
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	s, err := collect.Live(ctx, f.options(progress))
	if s == nil && err != nil {
		return nil, inputError(err)
	}
	if verr := s.Validate(); verr != nil {
		// The account holds something v1 rejects (or a part is missing
		// that v1 requires): say so with the rest; the data is kept.
		err = multierror.Append(err, fmt.Errorf("the collected snapshot does not validate: %w", verr))
	}
	return s, err
}

// spinner shows the current step on w when w is a terminal, and nothing
// otherwise (pipes, CI logs, -o json to a file).
type spinner struct {
	w    io.Writer
	mu   sync.Mutex
	step string
	done chan struct{}
	wg   sync.WaitGroup
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startSpinner returns the progress callback and a stop function.
func startSpinner(w io.Writer) (progress func(string), stop func()) {
	if !isTerminal(w) {
		return func(string) {}, func() {}
	}
	s := &spinner{w: w, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-s.done:
				fmt.Fprint(s.w, "\r\033[K")
				return
			case <-t.C:
				s.mu.Lock()
				step := s.step
				s.mu.Unlock()
				fmt.Fprintf(s.w, "\r\033[K%c %s…", frames[i%len(frames)], step)
			}
		}
	}()
	return func(step string) {
			s.mu.Lock()
			s.step = step
			s.mu.Unlock()
		}, func() {
			close(s.done)
			s.wg.Wait()
		}
}

// liveSource collects the current state with a spinner on a terminal. A
// partial collection is not an error: every failure is printed to errw, the
// missing parts are in the snapshot (so the checks that need them are skipped
// and the verdicts that depend on them are unknown); only a collection that
// could not start (no gateway, no credentials) is an input error.
func (f *liveFlags) liveSource(errw io.Writer) stateSource {
	return func(ctx context.Context) (*snapshot.Snapshot, *diagnose.SourceInfo, error) {
		progress, stop := startSpinner(errw)
		snap, err := f.collect(ctx, progress)
		stop()
		if snap == nil {
			return nil, nil, err
		}
		if err != nil {
			var me *multierror.Error
			if errors.As(err, &me) {
				for _, e := range me.Errors {
					fmt.Fprintf(errw, "gwdoctor: %v\n", e)
				}
			} else {
				fmt.Fprintf(errw, "gwdoctor: %v\n", err)
			}
			fmt.Fprintf(errw, "gwdoctor: the live snapshot is partial (%d part(s) missing): verdicts that depend on them are unknown\n", len(snap.Missing))
		}
		return snap, &diagnose.SourceInfo{Kind: "live", Name: snap.Gateway.ID, CapturedAt: snap.CapturedAt}, nil
	}
}
