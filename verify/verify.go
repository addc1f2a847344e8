// Package verify judges a post-change state: does every endpoint that
// worked before (every endpoint, without a baseline) work now, and did no new
// error finding appear? It reads diagnose reports only; loading, probing and
// watching belong to the caller (gwdoctor verify).
package verify

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// SchemaVersion is the version of the verification JSON.
const SchemaVersion = 1

// Results, the JSON "result" field.
const (
	Pass        = "pass"        // exit 0
	Fail        = "fail"        // exit 1
	Undecidable = "undecidable" // exit 3: unknown verdicts among the endpoints that must work
)

// Endpoint statuses.
const (
	StatusPass        = "pass"
	StatusFail        = "fail"
	StatusUndecidable = "undecidable"
	StatusSkipped     = "skipped" // not required: it did not serve in the baseline either
)

// StatefulWarning is printed with every verification: security groups are
// stateful, so connections opened before a rule change can keep working.
const StatefulWarning = "connections established before a rule change may persist for up to 910 s " +
	"(security groups are stateful): old connections still working is not proof; only new connections " +
	"(fresh probes, or a new request through the gateway) are"

// Verification is the judgement, as written by -o json.
type Verification struct {
	SchemaVersion int                  `json:"schemaVersion"`
	Result        string               `json:"result"`
	Source        *diagnose.SourceInfo `json:"source,omitempty"`
	Baseline      *diagnose.SourceInfo `json:"baseline,omitempty"`
	Summary       Summary              `json:"summary"`
	Endpoints     []EndpointCheck      `json:"endpoints"`
	// NewErrors are error findings not in the baseline (every error finding
	// without one), skipped-check and unknown-verdict notes aside.
	NewErrors []diagnose.Finding `json:"newErrors"`
	Warnings  []string           `json:"warnings"`
	// Checks is how many times the state was checked (--watch).
	Checks int `json:"checks"`

	Report *diagnose.Report `json:"-"`
}

// Summary counts the endpoint checks.
type Summary struct {
	Required    int `json:"required"`
	Passing     int `json:"passing"`
	Failing     int `json:"failing"`
	Undecidable int `json:"undecidable"`
	Skipped     int `json:"skipped"`
	NewErrors   int `json:"newErrors"`
}

// EndpointCheck is one endpoint's verdict against what is required of it.
type EndpointCheck struct {
	Service  string `json:"service"`
	Endpoint string `json:"endpoint"` // ip:port
	Pod      string `json:"pod,omitempty"`
	Required bool   `json:"required"`
	// Why says why it is (or is not) required.
	Why string `json:"why"`
	// Baseline is its state in the baseline ("" without one); State now:
	// reachable, blocked, unknown, not-ready or absent.
	Baseline string `json:"baseline,omitempty"`
	State    string `json:"state"`
	Status   string `json:"status"`
	// Cause explains a failure or an undecidable state: the finding naming
	// the endpoint, else the configuration's and the probe's answers.
	Cause string `json:"cause,omitempty"`

	id diagnose.EndpointID
}

// Label is "ns/name ip:port".
func (e *EndpointCheck) Label() string { return e.Service + " " + e.Endpoint }

// ExitCode is 0 pass, 1 fail, 3 undecidable.
func (v *Verification) ExitCode() int {
	switch v.Result {
	case Fail:
		return 1
	case Undecidable:
		return 3
	}
	return 0
}

// Evaluate judges cur against base (nil: no baseline, every endpoint must
// serve and no error finding may exist). cur must carry its baseline
// annotation (Report.CompareBaseline) when base is given.
func Evaluate(base, cur *diagnose.Report) *Verification {
	v := &Verification{SchemaVersion: SchemaVersion, Source: cur.Source, Endpoints: []EndpointCheck{}, NewErrors: []diagnose.Finding{},
		Warnings: []string{StatefulWarning}, Report: cur}
	if base != nil {
		v.Baseline = base.Source
		if cur.Baseline != nil && cur.Baseline.Source != nil {
			v.Baseline = cur.Baseline.Source
		}
	}
	causes := findingCauses(cur)
	check := func(e *diagnose.EndpointResult, required bool, why, before string) EndpointCheck {
		c := EndpointCheck{Service: e.Service, Endpoint: diagnose.JoinHostPort(e.IP, e.Port), Pod: e.Pod, Required: required, Why: why,
			Baseline: before, State: diagnose.State(e), id: e.ID()}
		switch {
		case !required:
			c.Status = StatusSkipped
		case e.Serving():
			c.Status = StatusPass
		case e.Verdict == diagnose.VerdictUnknown:
			c.Status = StatusUndecidable
		default:
			c.Status = StatusFail
		}
		if c.Status == StatusFail || c.Status == StatusUndecidable {
			c.Cause = causeOf(e, causes[e.Service+" "+c.Endpoint])
		}
		return c
	}
	if base == nil {
		for i := range cur.Endpoints {
			v.Endpoints = append(v.Endpoints, check(&cur.Endpoints[i], true, "no baseline: every endpoint must be reachable", ""))
		}
	} else {
		v.Endpoints = append(v.Endpoints, againstBaseline(base.Endpoints, cur.Endpoints, check)...)
	}
	for i := range cur.Findings {
		f := &cur.Findings[i]
		if f.Level() != diagnose.Error || f.Code == diagnose.CodeCheckSkipped || f.Code == diagnose.CodeVerdictUnknown || !f.Counted() {
			continue
		}
		if base == nil || f.Status == diagnose.StatusNew {
			v.NewErrors = append(v.NewErrors, *f)
		}
	}
	for _, c := range v.Endpoints {
		if c.Required {
			v.Summary.Required++
		}
		switch c.Status {
		case StatusPass:
			v.Summary.Passing++
		case StatusFail:
			v.Summary.Failing++
		case StatusUndecidable:
			v.Summary.Undecidable++
		default:
			v.Summary.Skipped++
		}
	}
	v.Summary.NewErrors = len(v.NewErrors)
	switch {
	case v.Summary.Failing > 0 || v.Summary.NewErrors > 0:
		v.Result = Fail
	case v.Summary.Undecidable > 0:
		v.Result = Undecidable
	default:
		v.Result = Pass
	}
	return v
}

// againstBaseline decides which endpoints must serve: those that served in
// the baseline, and new endpoints of services that served (a rollout's
// replacement pods must work too). A service that served and has no
// endpoint now fails as "absent".
func againstBaseline(base, cur []diagnose.EndpointResult, check func(*diagnose.EndpointResult, bool, string, string) EndpointCheck) []EndpointCheck {
	pairs, removed, added := diagnose.MatchEndpointResults(base, cur)
	servedBefore := diagnose.ServingServices(base)
	hasNow := map[string]bool{}
	for i := range cur {
		hasNow[cur[i].Service] = true
	}
	var out []EndpointCheck
	for _, p := range pairs {
		b, c := &base[p.Base], &cur[p.Current]
		if b.Serving() {
			out = append(out, check(c, true, "reachable in the baseline", diagnose.State(b)))
		} else {
			out = append(out, check(c, false, "not required: "+diagnose.State(b)+" in the baseline", diagnose.State(b)))
		}
	}
	for _, j := range added {
		c := &cur[j]
		if servedBefore[c.Service] {
			out = append(out, check(c, true, "new endpoint of a service that was reachable in the baseline", diagnose.StateAbsent))
		} else {
			out = append(out, check(c, false, "not required: new, and its service was not reachable in the baseline", diagnose.StateAbsent))
		}
	}
	gone := map[string]bool{}
	for _, i := range removed {
		b := &base[i]
		if !b.Serving() || hasNow[b.Service] || gone[b.Service] {
			continue // replaced (its successors are checked) or never served
		}
		gone[b.Service] = true
		out = append(out, EndpointCheck{Service: b.Service, Endpoint: diagnose.JoinHostPort(b.IP, b.Port), Pod: b.Pod, Required: true,
			Why: "reachable in the baseline", Baseline: diagnose.State(b), State: diagnose.StateAbsent, Status: StatusFail,
			Cause: "the service has no endpoints now", id: b.ID()})
	}
	slices.SortStableFunc(out, func(a, b EndpointCheck) int { return strings.Compare(a.Label(), b.Label()) })
	return out
}

// findingCauses indexes counted findings by the endpoint labels they name.
func findingCauses(r *diagnose.Report) map[string][]*diagnose.Finding {
	m := map[string][]*diagnose.Finding{}
	for i := range r.Findings {
		f := &r.Findings[i]
		if !f.Counted() || f.Code == diagnose.CodeCheckSkipped {
			continue
		}
		for _, s := range f.Subjects {
			m[s] = append(m[s], f)
		}
	}
	return m
}

// causeOf explains why an endpoint does not serve: the most severe finding
// naming it (findings are sorted by severity), else the verdict's parts.
func causeOf(e *diagnose.EndpointResult, fs []*diagnose.Finding) string {
	for _, f := range fs {
		if f.Code != diagnose.CodeVerdictUnknown || len(fs) == 1 {
			return fmt.Sprintf("%s %s: %s", f.Code, f.Check, f.Message)
		}
	}
	parts := []string{"configuration " + e.Config}
	if e.Reason != "" {
		parts[0] += " (" + e.Reason + ")"
	}
	if len(e.Groups) > 0 {
		parts[0] += " on " + strings.Join(e.Groups, ", ")
	}
	if e.Probe != "" {
		p := "probe " + e.Probe
		if e.ProbeFrom != "" {
			p += " from " + e.ProbeFrom
		}
		parts = append(parts, p)
	}
	if !e.Ready {
		parts = append(parts, "pod not ready")
	}
	parts = append(parts, e.Notes...)
	return strings.Join(parts, "; ")
}

// Transitions lists what changed between two checks, in words, for --watch:
// "shop/orders 10.0.0.1:8080: blocked → reachable", "finding GWD102
// wrong-node on shop/orders fixed", "result: fail → pass".
func Transitions(prev, next *Verification) []string {
	var out []string
	before := map[string]*EndpointCheck{}
	for i := range prev.Endpoints {
		before[prev.Endpoints[i].key()] = &prev.Endpoints[i]
	}
	for i := range next.Endpoints {
		n := &next.Endpoints[i]
		p := before[n.key()]
		switch {
		case p == nil:
			out = append(out, fmt.Sprintf("endpoint %s appeared: %s", n.Label(), n.State))
		case p.State != n.State || p.Label() != n.Label():
			out = append(out, fmt.Sprintf("endpoint %s: %s → %s", n.Label(), p.State, n.State))
		}
		delete(before, n.key())
	}
	for _, p := range prev.Endpoints {
		if before[p.key()] != nil {
			out = append(out, fmt.Sprintf("endpoint %s is gone", p.Label()))
		}
	}
	pf, nf := problemFindings(prev.Report), problemFindings(next.Report)
	for _, k := range slices.Sorted(maps.Keys(nf)) {
		if pf[k] == nil {
			out = append(out, fmt.Sprintf("finding %s on %s appeared", findingName(nf[k]), findingSubject(nf[k])))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(pf)) {
		if nf[k] == nil {
			out = append(out, fmt.Sprintf("finding %s on %s fixed", findingName(pf[k]), findingSubject(pf[k])))
		}
	}
	if prev.Result != next.Result {
		out = append(out, fmt.Sprintf("result: %s → %s", prev.Result, next.Result))
	}
	return out
}

func (e *EndpointCheck) key() string {
	if e.id.Pod != "" {
		return e.Service + "\x00" + e.id.Pod
	}
	return e.Service + "\x00" + e.Endpoint
}

// problemFindings are the counted warnings and errors, by key.
func problemFindings(r *diagnose.Report) map[string]*diagnose.Finding {
	m := map[string]*diagnose.Finding{}
	if r == nil {
		return m
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Counted() && f.Level() >= diagnose.Warning && f.Code != diagnose.CodeCheckSkipped {
			m[f.Key()] = f
		}
	}
	return m
}

func findingName(f *diagnose.Finding) string { return f.Code + " " + f.Check }

func findingSubject(f *diagnose.Finding) string {
	if len(f.Subjects) > 0 {
		return strings.Join(f.Subjects, ", ")
	}
	return strings.Join(f.Services, ", ")
}
