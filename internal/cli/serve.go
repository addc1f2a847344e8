package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/collect"
	"github.com/gwdoctor/gwdoctor/serve"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func init() { register("serve", newServeCmd) }

// shutdownBudget is how long serve takes at most from SIGTERM to exit: a
// Kubernetes pod gets 30 s by default, and a rollout should not wait on us.
const shutdownBudget = 5 * time.Second

func newServeCmd(s *Streams) *cobra.Command {
	var (
		live        liveFlags
		isLive      bool
		gateways    []string
		all         bool
		interval    time.Duration
		concurrency int
		listen      string
		perEndpoint bool
		pf          endpointProbeFlags
	)
	cmd := &cobra.Command{
		Use:   "serve --live (--gateway ID … | --all-gateways)",
		Short: "Verify continuously: collect and diagnose every interval, export Prometheus metrics, log transitions",
		Long: `Runs as a long-lived service (a Deployment in the cluster, see deploy/kubernetes/):
every --interval (jittered by ±10%) it collects each gateway live, diagnoses it (and probes its
endpoints with --probe), and keeps the last report per gateway. Two collections of one gateway
never overlap; at most --concurrency gateways collect at once; a throttled gateway backs off
(the interval doubled per throttled run, up to 16×); a failing gateway never stops the others.

HTTP on --listen:
  /metrics   Prometheus metrics (gwdoctor_up, gwdoctor_endpoints{verdict}, gwdoctor_findings, …)
  /healthz   the process is alive
  /readyz    every gateway finished a first run
  /report    the last report per gateway as JSON (?gateway=ID: exactly diagnose -o json)
  /diff      the transitions between each gateway's last two runs

Every transition (an endpoint becomes blocked, reachable, unknown or not ready; a finding
appears or clears) is logged to standard error as a JSON line with its cause, so any log
pipeline can alert on it. SIGTERM stops within 5 s, cancelling a collection in flight.

Inside a pod, Kubernetes is read with the pod's service account unless --kubeconfig or
$KUBECONFIG says otherwise; Alibaba Cloud credentials come from the default chain (RRSA:
ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE).`,
		Example: `  gwdoctor serve --live --region cn-hangzhou --gateway gw-3f9a --gateway gw-7c21
  gwdoctor serve --live --region cn-hangzhou --all-gateways --interval 2m --listen :9108
  curl -s 'localhost:9108/report?gateway=gw-3f9a' | jq .summary`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case !isLive:
				return inputError(errors.New("serve needs --live: it collects the current state every --interval"))
			case all && len(gateways) > 0:
				return inputError(errors.New("give --gateway ID (repeatable) or --all-gateways, not both"))
			case interval < time.Second:
				return inputError(fmt.Errorf("--interval %s: must be at least 1s", interval))
			case concurrency < 1:
				return inputError(fmt.Errorf("--concurrency %d: must be at least 1", concurrency))
			}
			if len(gateways) == 0 && !all {
				if env := os.Getenv(envGateway); env != "" {
					gateways = strings.Split(env, ",")
				}
			}
			probeOpts, err := pf.options()
			if err != nil {
				return inputError(err)
			}
			logger := slog.New(slog.NewJSONHandler(s.Err, nil))
			cfg := serve.Config{
				Gateways: gateways, Interval: interval, Concurrency: concurrency,
				Probe: pf.enabled, ProbeFrom: pf.from, ProbeOptions: probeOpts,
				PerEndpointMetrics: perEndpoint, Logger: logger,
				Collect: live.serveCollect,
			}
			if all {
				cfg.ListGateways = live.listGateways
			}
			srv, err := serve.New(cfg)
			if err != nil {
				return inputError(err)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return inputError(fmt.Errorf("--listen %s: %w", listen, err))
			}
			httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			served := make(chan error, 1)
			go func() { served <- httpSrv.Serve(ln) }()
			logger.Info("serving", "listen", ln.Addr().String(), "interval", interval.String(), "gateways", strings.Join(gateways, ","), "allGateways", all)

			ctx := cmd.Context()
			ran := make(chan struct{})
			go func() {
				srv.Run(ctx)
				close(ran)
			}()
			select {
			case <-ctx.Done():
			case err := <-served:
				return fmt.Errorf("serving %s: %w", ln.Addr(), err)
			}
			// Shutting down: cancelled collections return promptly; the
			// budget bounds the wait on a stuck one.
			stopping := time.Now()
			logger.Info("shutting down", "budget", shutdownBudget.String())
			deadline := time.NewTimer(shutdownBudget - 500*time.Millisecond)
			defer deadline.Stop()
			clean := true
			select {
			case <-ran:
			case <-deadline.C:
				clean = false
			}
			sctx, cancel := context.WithTimeout(context.Background(), max(shutdownBudget-time.Since(stopping), 0))
			defer cancel()
			if err := httpSrv.Shutdown(sctx); err != nil {
				_ = httpSrv.Close()
			}
			if !clean {
				logger.Warn("shutdown budget spent: a collection did not stop in time and was abandoned", "took", time.Since(stopping).Round(time.Millisecond).String())
				return nil
			}
			logger.Info("stopped", "took", time.Since(stopping).Round(time.Millisecond).String())
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&isLive, "live", false, "collect the current state from Alibaba Cloud and Kubernetes (required: serve has no file mode)")
	live.registerSources(fs)
	fs.StringArrayVar(&gateways, "gateway", nil, "MSE gateway unique id, gw-…; repeatable (default $"+envGateway+", comma-separated)")
	fs.BoolVar(&all, "all-gateways", false, "watch every MSE gateway in the region (MSE ListGateway, re-read every interval)")
	fs.DurationVar(&interval, "interval", time.Minute, "time between the starts of two runs of a gateway (jittered by ±10%)")
	fs.IntVar(&concurrency, "concurrency", 4, "gateways collected at once")
	fs.StringVar(&listen, "listen", ":9108", "address for /metrics, /healthz, /readyz, /report and /diff")
	fs.BoolVar(&perEndpoint, "per-endpoint-metrics", false, "also export gwdoctor_endpoint_verdict with one series per endpoint (high cardinality: small fleets only)")
	pf.register(cmd)
	return cmd
}

// serveCollect collects one gateway as every --live command does (within
// --timeout, validated), for serve.
func (f *liveFlags) serveCollect(ctx context.Context, gatewayID string) (*snapshot.Snapshot, error) {
	g := *f
	g.gateway = gatewayID
	s, err := g.collect(ctx, nil)
	if s == nil {
		var ee *ExitError
		if errors.As(err, &ee) && ee.Err != nil {
			err = ee.Err // an input error of one gateway is that gateway's failure
		}
		return nil, err
	}
	return s, err
}

// listGateways lists the region's gateway ids for --all-gateways.
func (f *liveFlags) listGateways(ctx context.Context) ([]string, error) {
	opts := f.options(nil)
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	gws, err := collect.ListGateways(ctx, opts)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(gws))
	for i, g := range gws {
		ids[i] = g.ID
	}
	return ids, nil
}
