package serve

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// Transition kinds.
const (
	KindEndpointBlocked   = "endpoint-blocked"
	KindEndpointReachable = "endpoint-reachable"
	KindEndpointUnknown   = "endpoint-unknown"
	KindEndpointNotReady  = "endpoint-not-ready"
	KindEndpointRemoved   = "endpoint-removed"
	KindFindingAppeared   = "finding-appeared"
	KindFindingCleared    = "finding-cleared"
	// KindFindingUnverified: a finding is gone because the check that
	// finds it was skipped this run (a part could not be read), not
	// because it was fixed.
	KindFindingUnverified = "finding-unverified"
)

// Transition is one change between two runs of a gateway: an endpoint's
// state (reachable, blocked, unknown, not-ready, absent) or a finding
// appearing or clearing, with its cause.
type Transition struct {
	Gateway  string `json:"gateway"`
	Kind     string `json:"kind"`
	Service  string `json:"service,omitempty"`
	Endpoint string `json:"endpoint,omitempty"` // ip:port
	Pod      string `json:"pod,omitempty"`
	Before   string `json:"before,omitempty"`
	After    string `json:"after,omitempty"`
	// Code and Severity name the finding (for an endpoint: the finding
	// that names it as its cause, if any).
	Code     string   `json:"code,omitempty"`
	Severity string   `json:"severity,omitempty"`
	Subjects []string `json:"subjects,omitempty"`
	// Cause says why, in words: the finding's message, or what decided
	// the endpoint's verdict.
	Cause string `json:"cause"`
}

// Transitions compares two consecutive reports of a gateway. Endpoints are
// matched as a baseline comparison matches them (diagnose.MatchEndpointResults);
// an endpoint that appears or disappears is a transition only when it
// changes whether its service serves (as diagnose.CompareEndpoints decides),
// so a rollout that replaces pods is quiet.
func Transitions(gateway string, before, after *diagnose.Report) []Transition {
	var out []Transition
	pairs, removed, added := diagnose.MatchEndpointResults(before.Endpoints, after.Endpoints)
	for _, p := range pairs {
		b, a := &before.Endpoints[p.Base], &after.Endpoints[p.Current]
		if diagnose.State(b) != diagnose.State(a) {
			out = append(out, endpointTransition(gateway, after, a, diagnose.State(b), diagnose.State(a)))
		}
	}
	servingNow, servedBefore := diagnose.ServingServices(after.Endpoints), diagnose.ServingServices(before.Endpoints)
	for _, i := range removed {
		b := &before.Endpoints[i]
		if b.Serving() && !servingNow[b.Service] {
			t := endpointTransition(gateway, before, b, diagnose.State(b), diagnose.StateAbsent)
			t.Kind = KindEndpointRemoved
			t.Cause = "the endpoint is no longer in the service, and no endpoint of " + b.Service + " serves now"
			t.Code, t.Severity = "", ""
			out = append(out, t)
		}
	}
	for _, j := range added {
		a := &after.Endpoints[j]
		if servedBefore[a.Service] != a.Serving() {
			out = append(out, endpointTransition(gateway, after, a, diagnose.StateAbsent, diagnose.State(a)))
		}
	}

	// Findings, by their cross-run key (code and subjects).
	inBefore, inAfter := map[string]*diagnose.Finding{}, map[string]*diagnose.Finding{}
	for i := range before.Findings {
		inBefore[before.Findings[i].Key()] = &before.Findings[i]
	}
	for i := range after.Findings {
		inAfter[after.Findings[i].Key()] = &after.Findings[i]
	}
	for i := range after.Findings {
		f := &after.Findings[i]
		if inBefore[f.Key()] == nil {
			out = append(out, findingTransition(gateway, KindFindingAppeared, f, f.Message))
		}
	}
	skipped := map[string]bool{}
	for _, s := range after.Skipped {
		skipped[s.Check] = true
	}
	for i := range before.Findings {
		f := &before.Findings[i]
		if inAfter[f.Key()] != nil {
			continue
		}
		if skipped[f.Check] {
			out = append(out, findingTransition(gateway, KindFindingUnverified, f,
				"check "+f.Check+" was skipped this run, so this finding could not be re-checked: "+f.Message))
			continue
		}
		out = append(out, findingTransition(gateway, KindFindingCleared, f, "no longer found: "+f.Message))
	}
	return out
}

func endpointTransition(gateway string, r *diagnose.Report, e *diagnose.EndpointResult, before, after string) Transition {
	t := Transition{Gateway: gateway, Service: e.Service, Endpoint: diagnose.JoinHostPort(e.IP, e.Port), Pod: e.Pod,
		Before: before, After: after}
	switch after {
	case diagnose.VerdictBlocked:
		t.Kind = KindEndpointBlocked
	case diagnose.VerdictReachable:
		t.Kind = KindEndpointReachable
	case "not-ready":
		t.Kind = KindEndpointNotReady
	default:
		t.Kind = KindEndpointUnknown
	}
	// The cause: the worst finding naming this endpoint, else what decided
	// its verdict.
	label := e.Service + " " + t.Endpoint
	var cause *diagnose.Finding
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Counted() && slices.Contains(f.Subjects, label) && (cause == nil || f.Level() > cause.Level()) {
			cause = f
		}
	}
	var why []string
	if cause != nil {
		t.Code, t.Severity = cause.Code, cause.Level().String()
		why = append(why, cause.Message)
	}
	if d := e.DecidedBy(); d != "" {
		why = append(why, fmt.Sprintf("configuration %s, decided by %s", e.Config, d))
	}
	if e.Probe != "" {
		why = append(why, "probe "+e.Probe)
	}
	if after == "not-ready" {
		why = append(why, "the pod is not ready")
	}
	t.Cause = strings.Join(why, "; ")
	if t.Cause == "" {
		t.Cause = "verdict " + e.Verdict
	}
	return t
}

func findingTransition(gateway, kind string, f *diagnose.Finding, cause string) Transition {
	return Transition{Gateway: gateway, Kind: kind, Code: f.Code, Severity: f.Level().String(),
		Subjects: f.Subjects, Service: first(f.Services), Cause: cause}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// level is the log level of the transition: a regression warns.
func (t Transition) level() slog.Level {
	switch t.Kind {
	case KindEndpointBlocked, KindEndpointUnknown, KindEndpointNotReady, KindEndpointRemoved:
		return slog.LevelWarn
	case KindFindingAppeared:
		if t.Severity == diagnose.Error.String() || t.Severity == diagnose.Warning.String() {
			return slog.LevelWarn
		}
	}
	return slog.LevelInfo
}

// maxLoggedSubjects caps the subjects of a finding on its log line.
const maxLoggedSubjects = 10

// attrs are the transition's fields as slog key-value pairs, empty ones left out.
func (t Transition) attrs() []any {
	out := []any{"gateway", t.Gateway, "kind", t.Kind}
	add := func(k, v string) {
		if v != "" {
			out = append(out, k, v)
		}
	}
	add("service", t.Service)
	add("endpoint", t.Endpoint)
	add("pod", t.Pod)
	add("before", t.Before)
	add("after", t.After)
	add("code", t.Code)
	add("severity", t.Severity)
	if len(t.Subjects) > 0 {
		// A finding about a whole service names every endpoint: the log
		// line keeps the first few (/diff has them all).
		subjects := t.Subjects
		if len(subjects) > maxLoggedSubjects {
			subjects = append(slices.Clip(subjects[:maxLoggedSubjects]), fmt.Sprintf("and %d more", len(t.Subjects)-maxLoggedSubjects))
		}
		out = append(out, "subjects", subjects)
	}
	out = append(out, "cause", t.Cause)
	return out
}
