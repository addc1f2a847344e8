package diagnose

import "slices"

// Finding statuses against a baseline report (Finding.Status).
const (
	// StatusNew: not in the baseline report.
	StatusNew = "new"
	// StatusPresent: in the baseline report too.
	StatusPresent = "present"
	// StatusFixed: in the baseline report, gone now, and the check that
	// found it ran now. Listed, never counted.
	StatusFixed = "fixed"
	// StatusUnverified: in the baseline report, but the check that found it
	// was skipped now (its inputs are missing), so it is not claimed fixed.
	// Listed, never counted.
	StatusUnverified = "unverified"
)

// Counted reports whether the finding counts towards the summary and the
// exit code: fixed and unverified baseline findings are listed only.
func (f *Finding) Counted() bool { return f.Status != StatusFixed && f.Status != StatusUnverified }

// EndpointID identifies an endpoint across two snapshots: by service and pod
// name when the pod is named, else by service and ip:port.
type EndpointID struct {
	Service string
	Pod     string
	IP      string
	Port    int
}

// Label is "ns/name ip:port", as in findings' subjects.
func (id EndpointID) Label() string { return id.Service + " " + JoinHostPort(id.IP, id.Port) }

// ID is the endpoint's identity.
func (e *Endpoint) ID() EndpointID {
	return EndpointID{Service: e.ServiceKey, Pod: e.Endpoint.Pod, IP: e.Endpoint.IP, Port: e.Endpoint.Port}
}

// ID is the endpoint row's identity.
func (e *EndpointResult) ID() EndpointID {
	return EndpointID{Service: e.Service, Pod: e.Pod, IP: e.IP, Port: e.Port}
}

// Serving reports whether the gateway can use the endpoint: reachable and ready.
func (e *EndpointResult) Serving() bool { return e.Verdict == VerdictReachable && e.Ready }

// EndpointPair is an endpoint present in both lists, by index.
type EndpointPair struct{ Base, Current int }

// MatchEndpoints pairs endpoints across two lists: first by service and pod
// name (a pod that moved or changed port is still the same pod), then the
// rest by service and ip:port. Unpaired ones disappeared (removed, indexes
// into base) or appeared (added, indexes into cur). Output is in list order.
func MatchEndpoints(base, cur []EndpointID) (pairs []EndpointPair, removed, added []int) {
	type podKey struct{ service, pod string }
	type addrKey struct {
		service, ip string
		port        int
	}
	usedBase := make([]bool, len(base))
	usedCur := make([]bool, len(cur))
	byPod := make(map[podKey][]int, len(base))
	for i, id := range base {
		if id.Pod != "" {
			k := podKey{id.Service, id.Pod}
			byPod[k] = append(byPod[k], i)
		}
	}
	for j, id := range cur {
		if id.Pod == "" {
			continue
		}
		k := podKey{id.Service, id.Pod}
		if c := byPod[k]; len(c) > 0 {
			pairs = append(pairs, EndpointPair{c[0], j})
			usedBase[c[0]], usedCur[j] = true, true
			byPod[k] = c[1:]
		}
	}
	byAddr := map[addrKey][]int{}
	for i, id := range base {
		if !usedBase[i] {
			k := addrKey{id.Service, id.IP, id.Port}
			byAddr[k] = append(byAddr[k], i)
		}
	}
	for j, id := range cur {
		if usedCur[j] {
			continue
		}
		k := addrKey{id.Service, id.IP, id.Port}
		if c := byAddr[k]; len(c) > 0 {
			pairs = append(pairs, EndpointPair{c[0], j})
			usedBase[c[0]], usedCur[j] = true, true
			byAddr[k] = c[1:]
		}
	}
	slices.SortFunc(pairs, func(a, b EndpointPair) int { return a.Current - b.Current })
	for i := range base {
		if !usedBase[i] {
			removed = append(removed, i)
		}
	}
	for j := range cur {
		if !usedCur[j] {
			added = append(added, j)
		}
	}
	return pairs, removed, added
}

// BaselineInfo is what a report says about its baseline (diagnose --baseline).
type BaselineInfo struct {
	Source *SourceInfo `json:"source,omitempty"`
	// New, Present, Fixed and Unverified count findings by status.
	New        int `json:"new"`
	Present    int `json:"present"`
	Fixed      int `json:"fixed"`
	Unverified int `json:"unverified"`
	// Regressions are endpoints that served in the baseline (reachable and
	// ready) and do not now, or are gone from a service left with none
	// serving; Recovered the other way round.
	Regressions []EndpointTransition `json:"regressions"`
	Recovered   []EndpointTransition `json:"recovered"`
}

// EndpointTransition is one endpoint's state in the baseline and now.
// Before/After are verdicts, "not-ready", or "absent".
type EndpointTransition struct {
	Service string `json:"service"`
	IP      string `json:"ip"`
	Port    int    `json:"port"`
	Pod     string `json:"pod,omitempty"`
	Before  string `json:"before"`
	After   string `json:"after"`
}

// Label is "ns/name ip:port".
func (t EndpointTransition) Label() string { return t.Service + " " + JoinHostPort(t.IP, t.Port) }

// State is an endpoint row's one-word state for transitions: its verdict,
// or not-ready when reachable but not ready.
func State(e *EndpointResult) string {
	if e.Verdict == VerdictReachable && !e.Ready {
		return "not-ready"
	}
	return e.Verdict
}

// MatchEndpointResults is MatchEndpoints over two reports' endpoint rows.
func MatchEndpointResults(base, cur []EndpointResult) (pairs []EndpointPair, removed, added []int) {
	ids := func(rs []EndpointResult) []EndpointID {
		out := make([]EndpointID, len(rs))
		for i := range rs {
			out[i] = rs[i].ID()
		}
		return out
	}
	return MatchEndpoints(ids(base), ids(cur))
}

// ServingServices is the set of services with at least one serving endpoint
// (reachable and ready) among eps.
func ServingServices(eps []EndpointResult) map[string]bool {
	out := map[string]bool{}
	for i := range eps {
		if eps[i].Serving() {
			out[eps[i].Service] = true
		}
	}
	return out
}

// StateAbsent is the transition state of an endpoint not in the snapshot.
const StateAbsent = "absent"

// CompareEndpoints lists the endpoints that stopped or started serving
// between base and cur. An endpoint that disappeared is a regression only
// when its service has no serving endpoint left (pods replaced by a rollout
// are not); a new endpoint that does not serve, in a service that served in
// the baseline, is a regression too (the replacement pod is broken).
func CompareEndpoints(base, cur []EndpointResult) (regressions, recovered []EndpointTransition) {
	pairs, removed, added := MatchEndpointResults(base, cur)
	tr := func(e *EndpointResult, before, after string) EndpointTransition {
		return EndpointTransition{Service: e.Service, IP: e.IP, Port: e.Port, Pod: e.Pod, Before: before, After: after}
	}
	servingNow, servedBefore := ServingServices(cur), ServingServices(base)
	for _, p := range pairs {
		b, c := &base[p.Base], &cur[p.Current]
		switch {
		case b.Serving() && !c.Serving():
			regressions = append(regressions, tr(c, State(b), State(c)))
		case !b.Serving() && c.Serving():
			recovered = append(recovered, tr(c, State(b), State(c)))
		}
	}
	for _, i := range removed {
		b := &base[i]
		if b.Serving() && !servingNow[b.Service] {
			regressions = append(regressions, tr(b, State(b), StateAbsent))
		}
	}
	for _, j := range added {
		c := &cur[j]
		switch {
		case servedBefore[c.Service] && !c.Serving():
			regressions = append(regressions, tr(c, StateAbsent, State(c)))
		case !servedBefore[c.Service] && c.Serving():
			recovered = append(recovered, tr(c, StateAbsent, State(c)))
		}
	}
	return regressions, recovered
}

// CompareBaseline annotates r's findings against base, the report of the
// baseline snapshot: new or present; base's findings that are gone are added
// with status fixed (or unverified, when the check that could find them was
// skipped now). checks is the catalog both reports ran, to know which codes
// a skipped check would have emitted. Fixed and unverified findings are
// listed, never counted.
func (r *Report) CompareBaseline(base *Report, src *SourceInfo, checks []*Check) {
	inBase := map[string]bool{}
	for i := range base.Findings {
		inBase[base.Findings[i].Key()] = true
	}
	inCur := map[string]bool{}
	info := &BaselineInfo{Source: src}
	for i := range r.Findings {
		f := &r.Findings[i]
		inCur[f.Key()] = true
		if inBase[f.Key()] {
			f.Status = StatusPresent
			info.Present++
		} else {
			f.Status = StatusNew
			info.New++
		}
	}
	skippedCodes := map[string]bool{}
	for _, s := range r.Skipped {
		for _, c := range checks {
			if c.Name == s.Check {
				for _, code := range c.Codes {
					skippedCodes[code] = true
				}
			}
		}
	}
	for i := range base.Findings {
		f := base.Findings[i]
		if inCur[f.Key()] {
			continue
		}
		f.Subjects = slices.Clone(f.Subjects)
		if skippedCodes[f.Code] {
			f.Status = StatusUnverified
			info.Unverified++
		} else {
			f.Status = StatusFixed
			info.Fixed++
		}
		r.Findings = append(r.Findings, f)
	}
	info.Regressions, info.Recovered = CompareEndpoints(base.Endpoints, r.Endpoints)
	if info.Regressions == nil {
		info.Regressions = []EndpointTransition{}
	}
	if info.Recovered == nil {
		info.Recovered = []EndpointTransition{}
	}
	r.Baseline = info
	r.finish()
}

// filterBaseline keeps only the given services' endpoint transitions.
func (b *BaselineInfo) filter(services []string) {
	keep := func(ts []EndpointTransition) []EndpointTransition {
		out := ts[:0]
		for _, t := range ts {
			if slices.Contains(services, t.Service) {
				out = append(out, t)
			}
		}
		return out
	}
	b.Regressions = keep(b.Regressions)
	b.Recovered = keep(b.Recovered)
}

// recount recomputes the status counts after filtering.
func (b *BaselineInfo) recount(fs []Finding) {
	b.New, b.Present, b.Fixed, b.Unverified = 0, 0, 0, 0
	for i := range fs {
		switch fs[i].Status {
		case StatusNew:
			b.New++
		case StatusPresent:
			b.Present++
		case StatusFixed:
			b.Fixed++
		case StatusUnverified:
			b.Unverified++
		}
	}
}

// Regressed reports whether the report, compared with a baseline, got worse:
// an endpoint stopped serving or a new finding at or above sev appeared
// (skipped-check and unknown-verdict notes aside).
func (r *Report) Regressed(sev Severity) bool {
	if r.Baseline == nil {
		return false
	}
	if len(r.Baseline.Regressions) > 0 {
		return true
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Status == StatusNew && f.Code != CodeCheckSkipped && f.Code != CodeVerdictUnknown && f.Level() >= sev {
			return true
		}
	}
	return false
}

// statusRank orders counted findings before fixed and unverified ones.
func statusRank(s string) int {
	switch s {
	case StatusFixed:
		return 1
	case StatusUnverified:
		return 2
	}
	return 0
}
