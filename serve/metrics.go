package serve

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// Metric names. The label sets are bounded: gateway, service, verdict,
// finding code and severity, collection part and RAM action are all finite
// (the catalog, the snapshot's parts, the actions the collector calls); no
// endpoint label unless --per-endpoint-metrics.
const (
	metricUp              = "gwdoctor_up"
	metricEndpoints       = "gwdoctor_endpoints"
	metricServiceBroken   = "gwdoctor_service_broken"
	metricFindings        = "gwdoctor_findings"
	metricLastSuccess     = "gwdoctor_last_success_timestamp_seconds"
	metricEndpointVerdict = "gwdoctor_endpoint_verdict"
)

// Verdicts always exported per service, zero included, so that a rise
// from zero shows as a change and alerts can compare against it.
var verdicts = []string{diagnose.VerdictReachable, diagnose.VerdictBlocked, diagnose.VerdictUnknown, diagnose.CountNotReady}

type metrics struct {
	s *Server

	duration    *prometheus.HistogramVec
	errors      *prometheus.CounterVec
	probeRTT    *prometheus.HistogramVec
	runs        *prometheus.CounterVec
	transitions *prometheus.CounterVec
	listErrors  prometheus.Counter

	upDesc, endpointsDesc, brokenDesc, findingsDesc, lastSuccessDesc, endpointDesc *prometheus.Desc
}

func newMetrics(s *Server) *metrics {
	return &metrics{
		s: s,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gwdoctor_collection_duration_seconds",
			Help:    "Time to collect one gateway's snapshot (cloud and Kubernetes).",
			Buckets: []float64{0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300},
		}, []string{"gateway"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwdoctor_collection_errors_total",
			Help: "Parts that could not be collected, by snapshot part and the RAM or Kubernetes action that failed.",
		}, []string{"gateway", "part", "action"}),
		probeRTT: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gwdoctor_probe_rtt_seconds",
			Help:    "TCP handshake time of the endpoint probes that were answered (--probe).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
		}, []string{"gateway"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwdoctor_runs_total",
			Help: "Runs per gateway by result: ok (every part collected), partial (some parts missing), failed (nothing collected).",
		}, []string{"gateway", "result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gwdoctor_transitions_total",
			Help: "Endpoint and finding transitions between consecutive runs, by kind.",
		}, []string{"gateway", "kind"}),
		listErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gwdoctor_gateway_list_errors_total",
			Help: "Failed MSE ListGateway calls (--all-gateways).",
		}),
		upDesc: prometheus.NewDesc(metricUp,
			"1 when the gateway's last run collected every part and was diagnosed, else 0 (failed or partial: see gwdoctor_collection_errors_total).",
			[]string{"gateway"}, nil),
		endpointsDesc: prometheus.NewDesc(metricEndpoints,
			"Endpoints of a service by verdict in the gateway's last report (reachable, blocked, unknown; not-ready for a reachable endpoint whose pod is not ready).",
			[]string{"gateway", "service", "verdict"}, nil),
		brokenDesc: prometheus.NewDesc(metricServiceBroken,
			"1 when the service's status in the last report is BROKEN (an endpoint blocked, an error finding, or no endpoint), else 0.",
			[]string{"gateway", "service"}, nil),
		findingsDesc: prometheus.NewDesc(metricFindings,
			"Findings in the gateway's last report, by code and severity.",
			[]string{"gateway", "code", "severity"}, nil),
		lastSuccessDesc: prometheus.NewDesc(metricLastSuccess,
			"Unix time the gateway's last report was produced (a run that collected at least part of the state).",
			[]string{"gateway"}, nil),
		endpointDesc: prometheus.NewDesc(metricEndpointVerdict,
			"1 for the endpoint's verdict in the last report (--per-endpoint-metrics only).",
			[]string{"gateway", "service", "endpoint", "verdict"}, nil),
	}
}

func (m *metrics) register(r *prometheus.Registry) error {
	for _, c := range []prometheus.Collector{m.duration, m.errors, m.probeRTT, m.runs, m.transitions, m.listErrors, m,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// forget drops a gateway's series when it is no longer watched.
func (m *metrics) forget(gateway string) {
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{m.duration, m.errors, m.probeRTT, m.runs, m.transitions} {
		v.DeletePartialMatch(prometheus.Labels{"gateway": gateway})
	}
}

// Describe implements prometheus.Collector for the report-derived gauges.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.upDesc, m.endpointsDesc, m.brokenDesc, m.findingsDesc, m.lastSuccessDesc, m.endpointDesc} {
		ch <- d
	}
}

// Collect derives the gauges from each gateway's last report at scrape
// time, so series of services that are gone disappear with them.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, g := range m.s.states() {
		g.mu.Lock()
		report, ran, complete, last := g.report, g.ran, g.complete, g.lastSuccess
		g.mu.Unlock()
		if !ran {
			continue
		}
		up := 0.0
		if complete && report != nil {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(m.upDesc, prometheus.GaugeValue, up, g.id)
		if report == nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.lastSuccessDesc, prometheus.GaugeValue, float64(last.UnixMilli())/1000, g.id)

		health := map[string]*diagnose.ServiceHealth{}
		byVerdict := map[string]map[string]int{}
		var services []string
		service := func(key string) *diagnose.ServiceHealth {
			h, ok := health[key]
			if !ok {
				h = &diagnose.ServiceHealth{}
				health[key] = h
				byVerdict[key] = map[string]int{}
				services = append(services, key)
			}
			return h
		}
		for i := range report.Endpoints {
			e := &report.Endpoints[i]
			service(e.Service).Add(e)
			byVerdict[e.Service][diagnose.CountAs(e.Verdict, e.Ready)]++
			if m.s.cfg.PerEndpointMetrics {
				ch <- prometheus.MustNewConstMetric(m.endpointDesc, prometheus.GaugeValue, 1,
					g.id, e.Service, diagnose.JoinHostPort(e.IP, e.Port), diagnose.CountAs(e.Verdict, e.Ready))
			}
		}
		type codeSev struct{ code, sev string }
		findings := map[codeSev]int{}
		for i := range report.Findings {
			f := &report.Findings[i]
			if !f.Counted() {
				continue
			}
			findings[codeSev{f.Code, f.Level().String()}]++
			for _, sv := range f.Services {
				service(sv).AddFinding(f)
			}
		}
		slices.Sort(services)
		for _, sv := range services {
			counts := byVerdict[sv]
			for _, v := range verdicts {
				ch <- prometheus.MustNewConstMetric(m.endpointsDesc, prometheus.GaugeValue, float64(counts[v]), g.id, sv, v)
			}
			for v, n := range counts {
				if !slices.Contains(verdicts, v) {
					ch <- prometheus.MustNewConstMetric(m.endpointsDesc, prometheus.GaugeValue, float64(n), g.id, sv, v)
				}
			}
			broken := 0.0
			if health[sv].Status() == diagnose.ServiceBroken {
				broken = 1
			}
			ch <- prometheus.MustNewConstMetric(m.brokenDesc, prometheus.GaugeValue, broken, g.id, sv)
		}
		for k, n := range findings {
			ch <- prometheus.MustNewConstMetric(m.findingsDesc, prometheus.GaugeValue, float64(n), g.id, k.code, k.sev)
		}
	}
}
