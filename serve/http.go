package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/render"
)

// Handler serves /metrics, /healthz, /readyz, /report and /diff.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ok, why := s.Ready(); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", why)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /report", s.serveReport)
	mux.HandleFunc("GET /diff", s.serveDiff)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "gwdoctor serve: /metrics /healthz /readyz /report[?gateway=ID] /diff[?gateway=ID]")
	})
	return mux
}

// selected returns the gateway states ?gateway= selects (all without it),
// or writes 404 for an unknown gateway.
func (s *Server) selected(w http.ResponseWriter, r *http.Request) ([]*gatewayState, bool) {
	states := s.states()
	id := r.URL.Query().Get("gateway")
	if id == "" {
		return states, true
	}
	for _, g := range states {
		if g.id == id {
			return []*gatewayState{g}, true
		}
	}
	httpError(w, http.StatusNotFound, fmt.Sprintf("gateway %q is not watched by this server", id))
	return nil, false
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// serveReport writes the last report: with ?gateway=ID exactly what
// `gwdoctor diagnose --live -o json` writes for it; without, every
// gateway's as {"reports": [...]}, in gateway order, each written by the
// report's own JSON writer.
func (s *Server) serveReport(w http.ResponseWriter, r *http.Request) {
	states, ok := s.selected(w, r)
	if !ok {
		return
	}
	var reports []*diagnose.Report
	for _, g := range states {
		g.mu.Lock()
		if g.report != nil {
			reports = append(reports, g.report)
		}
		g.mu.Unlock()
	}
	if r.URL.Query().Get("gateway") != "" {
		if len(reports) == 0 {
			httpError(w, http.StatusServiceUnavailable, "no report yet: the gateway's first run has not produced one")
			return
		}
		// Rendered into a buffer first, so an error is still an HTTP error.
		var b bytes.Buffer
		if err := render.JSON(&b, reports[0]); err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b.Bytes())
		return
	}
	var b bytes.Buffer
	b.WriteString("{\"reports\": [\n")
	for i, rep := range reports {
		if i > 0 {
			b.WriteString(",\n")
		}
		if err := render.JSON(&b, rep); err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	b.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

// GatewayDiff is one gateway's transitions between its last two runs.
type GatewayDiff struct {
	Gateway string `json:"gateway"`
	// PreviousRun and Run are when the two compared runs started (RFC 3339);
	// PreviousRun is empty before a second run.
	PreviousRun string       `json:"previousRun,omitempty"`
	Run         string       `json:"run,omitempty"`
	Transitions []Transition `json:"transitions"`
}

// serveDiff writes {"gateways": [GatewayDiff…]}.
func (s *Server) serveDiff(w http.ResponseWriter, r *http.Request) {
	states, ok := s.selected(w, r)
	if !ok {
		return
	}
	out := struct {
		Gateways []GatewayDiff `json:"gateways"`
	}{Gateways: []GatewayDiff{}}
	for _, g := range states {
		g.mu.Lock()
		d := GatewayDiff{Gateway: g.id, Transitions: append([]Transition{}, g.transitions...)}
		if g.report != nil {
			d.Run = g.runAt.UTC().Format(time.RFC3339)
		}
		if g.previous != nil {
			d.PreviousRun = g.previousAt.UTC().Format(time.RFC3339)
		}
		g.mu.Unlock()
		out.Gateways = append(out.Gateways, d)
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}
