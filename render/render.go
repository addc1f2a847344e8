// Package render writes a diagnose.Report as text (styled for terminals),
// JSON (the stable report schema) or Markdown (for incident tickets).
package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/words"
)

// Format is an output format name.
type Format string

const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

// ParseFormat reads text, json or markdown (md).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "text":
		return FormatText, nil
	case "json":
		return FormatJSON, nil
	case "markdown", "md":
		return FormatMarkdown, nil
	}
	return "", fmt.Errorf("unknown output format %q (want text, json or markdown)", s)
}

// Write renders r in format f. Text is styled; whether colour reaches the
// terminal is decided by the writer (see Terminal).
func Write(w io.Writer, r *diagnose.Report, f Format) error {
	switch f {
	case FormatJSON:
		return JSON(w, r)
	case FormatMarkdown:
		return Markdown(w, r)
	}
	return Text(w, r)
}


// serviceGroup is one service's endpoints and findings, for the text and
// Markdown layouts, in snapshot order.
type serviceGroup struct {
	key       string
	endpoints []diagnose.EndpointResult
	findings  []*diagnose.Finding
	health    diagnose.ServiceHealth
}

// groupByService splits the report by service; findings naming several
// services appear under the first; findings naming none are returned apart
// (skipped-check notes excluded: they are listed on their own).
func groupByService(r *diagnose.Report) (groups []*serviceGroup, global []*diagnose.Finding) {
	index := map[string]*serviceGroup{}
	get := func(key string) *serviceGroup {
		if g, ok := index[key]; ok {
			return g
		}
		g := &serviceGroup{key: key}
		index[key] = g
		groups = append(groups, g)
		return g
	}
	for _, e := range r.Endpoints {
		g := get(e.Service)
		g.endpoints = append(g.endpoints, e)
		g.health.Add(&e)
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Code == diagnose.CodeCheckSkipped || !f.Counted() {
			continue // skipped checks and fixed findings have blocks of their own
		}
		if len(f.Services) == 0 {
			global = append(global, f)
			continue
		}
		g := get(f.Services[0])
		g.findings = append(g.findings, f)
		g.health.AddFinding(f)
	}
	return groups, global
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func summaryLine(s diagnose.Summary) string {
	notReady := ""
	if s.NotReady > 0 {
		notReady = fmt.Sprintf(", %d not ready", s.NotReady)
	}
	return fmt.Sprintf("%s: %d reachable%s, %d blocked, %d unknown · %s, %s, %s",
		plural(s.Endpoints, "endpoint", "endpoints"), s.Reachable, notReady, s.Blocked, s.Unknown,
		plural(s.Errors, "error", "errors"), plural(s.Warnings, "warning", "warnings"), plural(s.Infos, "info", "infos"))
}

// filterLine says what --service and --suppress hid, "" when nothing was.
func filterLine(r *diagnose.Report) string {
	f := r.Filter
	if f == nil {
		return ""
	}
	var parts []string
	if shown := append(append([]string{}, f.Services...), f.Endpoints...); len(shown) > 0 {
		parts = append(parts, fmt.Sprintf("showing %s; %s and %s hidden", strings.Join(shown, ", "),
			words.Count(f.HiddenEndpoints, "other endpoint", "other endpoints"), words.Count(f.HiddenFindings, "other finding", "other findings")))
	}
	if f.SuppressedFinding > 0 || len(f.Suppress) > 0 {
		parts = append(parts, fmt.Sprintf("%s suppressed (%s)", words.Count(f.SuppressedFinding, "finding", "findings"), strings.Join(f.Suppress, ", ")))
	}
	return strings.Join(parts, " · ")
}

func gatewayLine(r *diagnose.Report) string {
	parts := []string{"gateway " + r.Gateway.ID}
	if r.Gateway.Name != "" {
		parts[0] += " (" + r.Gateway.Name + ")"
	}
	if r.Gateway.Region != "" {
		parts = append(parts, r.Gateway.Region)
	}
	if r.Gateway.SecurityGroupID != "" {
		parts = append(parts, "group "+r.Gateway.SecurityGroupID)
	}
	if s := r.Source; s != nil {
		src := s.Kind
		if s.Name != "" {
			src += " " + s.Name
		}
		if s.CapturedAt != "" {
			src += ", captured " + s.CapturedAt
		}
		parts = append(parts, src)
	}
	return strings.Join(parts, " · ")
}

func probeCell(e diagnose.EndpointResult) string {
	if e.Probe == "" {
		return "-"
	}
	s := e.Probe
	if e.RTTMs > 0 && (e.Probe == "open" || e.Probe == "refused") {
		s += fmt.Sprintf(" %.1fms", e.RTTMs)
	}
	if e.ProbeFrom != "" {
		s += " (" + e.ProbeFrom + ")"
	}
	return s
}

// hasHealthCheck reports whether any row carries the gateway's health
// check; tables show its column only then.
func hasHealthCheck(eps []diagnose.EndpointResult) bool {
	for i := range eps {
		if eps[i].HealthCheck != "" {
			return true
		}
	}
	return false
}

// healthCell is the gateway's health check of a row: its state, marked
// when it decided the verdict.
func healthCell(e diagnose.EndpointResult) string {
	if e.HealthCheck == "" {
		return "-"
	}
	if e.DecidedByHealthCheck {
		return e.HealthCheck + " (decides)"
	}
	return e.HealthCheck
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
