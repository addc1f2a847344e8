package diff

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// stateOf is an endpoint's one-word state on one side.
func stateOf(r *diagnose.EndpointResult) string {
	if r == nil {
		return diagnose.StateAbsent
	}
	return diagnose.State(r)
}

func serving(r *diagnose.EndpointResult) bool { return r != nil && r.Serving() }

// broken reports whether a regression's after-state is a definite failure
// (as opposed to unknown).
func broken(after string) bool { return after != diagnose.VerdictUnknown }

// score ranks change ch as a cause of endpoint e: its kind's rank, raised
// when it changes the rule that decided the endpoint on either side.
func score(ch *Change, e *epState) int {
	s := ch.rank
	if ch.Kind == KindDataMissing && e.curRes != nil && e.curRes.Verdict == diagnose.VerdictUnknown {
		return rankDecidingRule + 1 // unknown now because the data is missing: that is the cause
	}
	for _, r := range []*diagnose.EndpointResult{e.baseRes, e.curRes} {
		if r == nil || r.DecidingRule == nil {
			continue
		}
		k := ruleKey(r.DecidingRule.SecurityGroupID, r.DecidingRule.Index, r.DecidingRule.RuleID)
		if slices.Contains(ch.rules, k) {
			s = max(s, rankDecidingRule)
		}
	}
	return s
}

// link computes the endpoint and finding deltas, ties them to the changes,
// orders and numbers everything and writes the explanations.
func (c *comparer) link() *Result {
	res := &Result{Changes: []Change{}, Endpoints: []EndpointDelta{}, Findings: []FindingDelta{}, Explanations: []Explanation{}, Ignored: []IgnoredCount{}}

	// Services of each change, from the endpoints it touches. (Findings
	// reach the changes touching the endpoints they name through epCauses.)
	for _, ch := range c.changes {
		svcs := setOf(ch.Services)
		for i := range ch.touches {
			svcs[c.eps[i].service()] = true
		}
		ch.Services = slices.Sorted(maps.Keys(svcs))
	}

	// Reverse indexes: endpoint → changes touching it, subject token →
	// changes, service → changes; each list in detection order.
	epCauses := make([][]*Change, len(c.eps))
	tokenChanges, serviceChanges := map[string][]*Change{}, map[string][]*Change{}
	for n, ch := range c.changes {
		ch.order = n
		for _, i := range slices.Sorted(maps.Keys(ch.touches)) {
			epCauses[i] = append(epCauses[i], ch)
		}
		for _, tok := range slices.Sorted(maps.Keys(ch.tokens)) {
			tokenChanges[tok] = append(tokenChanges[tok], ch)
		}
		for _, svc := range ch.Services {
			serviceChanges[svc] = append(serviceChanges[svc], ch)
		}
	}

	servingNow, servedBefore := map[string]bool{}, map[string]bool{}
	for _, e := range c.eps {
		if serving(e.curRes) {
			servingNow[e.service()] = true
		}
		if serving(e.baseRes) {
			servedBefore[e.service()] = true
		}
	}

	type delta struct {
		EndpointDelta
		idx    int
		causes []*Change
	}
	var deltas []*delta
	for i, e := range c.eps {
		before, after := stateOf(e.baseRes), stateOf(e.curRes)
		var kind string
		switch {
		case e.baseRes == nil && servedBefore[e.service()] && !serving(e.curRes):
			kind = DeltaRegressed // a replacement pod that does not serve
		case e.curRes == nil && serving(e.baseRes) && !servingNow[e.service()]:
			kind = DeltaRegressed // the last serving endpoint is gone
		case e.baseRes == nil && !servedBefore[e.service()] && serving(e.curRes):
			kind = DeltaRecovered // the first serving endpoint of a service that had none
		case e.baseRes == nil:
			kind = DeltaAppeared
		case e.curRes == nil:
			kind = DeltaDisappeared
		case serving(e.baseRes) && !serving(e.curRes):
			kind = DeltaRegressed
		case !serving(e.baseRes) && serving(e.curRes):
			kind = DeltaRecovered
		case before != after:
			kind = DeltaChanged
		default:
			continue
		}
		d := &delta{idx: i}
		d.Service, d.Change, d.Before, d.After = e.service(), kind, before, after
		d.Endpoint = strings.TrimPrefix(e.label(), e.service()+" ")
		for _, ep := range e.sides() {
			if ep.Endpoint.Pod != "" {
				d.Pod = ep.Endpoint.Pod
			}
		}
		d.causes = slices.Clone(epCauses[i])
		slices.SortStableFunc(d.causes, func(a, b *Change) int { return score(b, e) - score(a, e) })
		deltas = append(deltas, d)
	}

	// Findings that appeared or went away, each linked to the changes that
	// touch its subjects.
	// Findings name endpoints by label ("ns/name ip:port"); match labels to
	// endpoint states structurally, without formatting every endpoint's label.
	type epAddr struct {
		service, ip string
		port        int
	}
	labelIdx := func(base bool) map[epAddr]int {
		m := make(map[epAddr]int, len(c.eps))
		for i, e := range c.eps {
			ep := e.cur
			if base {
				ep = e.base
			}
			if ep != nil {
				m[epAddr{ep.ServiceKey, ep.Endpoint.IP, ep.Endpoint.Port}] = i
			}
		}
		return m
	}
	var curLabels, baseLabels map[epAddr]int
	lookupLabel := func(label string, base bool) (int, bool) {
		svc, target, ok := strings.Cut(label, " ")
		if !ok {
			return 0, false
		}
		host, portText, err := net.SplitHostPort(target)
		if err != nil {
			return 0, false
		}
		port, err := strconv.Atoi(portText)
		if err != nil {
			return 0, false
		}
		if base {
			if baseLabels == nil {
				baseLabels = labelIdx(true)
			}
			i, ok := baseLabels[epAddr{svc, host, port}]
			return i, ok
		}
		if curLabels == nil {
			curLabels = labelIdx(false)
		}
		i, ok := curLabels[epAddr{svc, host, port}]
		return i, ok
	}
	var fds []*fdelta
	for _, f := range c.cr.Findings {
		if f.Status == diagnose.StatusPresent || f.Status == "" {
			continue
		}
		fd := &fdelta{FindingDelta: FindingDelta{Status: f.Status, Key: f.Key(), Finding: f}}
		subj := setOf(f.Subjects)
		for _, s := range f.Subjects {
			if i, ok := lookupLabel(s, f.Status != diagnose.StatusNew); ok {
				fd.eps = append(fd.eps, i)
			}
		}
		linked := map[*Change]bool{}
		link := func(chs []*Change) {
			for _, ch := range chs {
				if !linked[ch] {
					linked[ch] = true
					fd.causes = append(fd.causes, ch)
				}
			}
		}
		for _, i := range fd.eps {
			link(epCauses[i])
		}
		for _, s := range slices.Sorted(maps.Keys(subj)) {
			link(tokenChanges[s])
		}
		if len(fd.eps) == 0 && len(fd.causes) == 0 {
			// A finding about a whole service: the changes to its endpoints.
			for _, s := range f.Services {
				link(serviceChanges[s])
			}
		}
		slices.SortStableFunc(fd.causes, func(a, b *Change) int {
			if a.rank != b.rank {
				return b.rank - a.rank
			}
			return a.order - b.order
		})
		fds = append(fds, fd)
	}

	// Breaking changes: causes of regressions and of new errors.
	for _, d := range deltas {
		if d.Change == DeltaRegressed {
			for _, ch := range d.causes {
				ch.Breaking = true
				ch.Explains = append(ch.Explains, d.Label())
			}
		}
	}
	for _, fd := range fds {
		for _, ch := range fd.causes {
			ch.Explains = append(ch.Explains, fd.Key)
			if fd.Status == diagnose.StatusNew && countsAsError(&fd.Finding) {
				ch.Breaking = true
			}
		}
	}

	// Order and number the changes: breaking first, then by rank.
	order := slices.Clone(c.changes)
	slices.SortStableFunc(order, func(a, b *Change) int {
		if a.Breaking != b.Breaking {
			if a.Breaking {
				return -1
			}
			return 1
		}
		return b.rank - a.rank
	})
	for n, ch := range order {
		ch.ID = fmt.Sprintf("C%d", n+1)
	}
	for _, ch := range order {
		out := *ch
		out.Subjects = dedupe(ch.Subjects)
		for i := range ch.touches {
			out.Endpoints = append(out.Endpoints, c.eps[i].label())
		}
		slices.Sort(out.Endpoints)
		out.Explains = dedupe(ch.Explains)
		res.Changes = append(res.Changes, out)
	}
	ids := func(chs []*Change) []string {
		out := []string{}
		for _, ch := range chs {
			out = append(out, ch.ID)
		}
		return out
	}

	deltaRank := map[string]int{DeltaRegressed: 0, DeltaRecovered: 1, DeltaChanged: 2, DeltaDisappeared: 3, DeltaAppeared: 4}
	slices.SortStableFunc(deltas, func(a, b *delta) int {
		if r := deltaRank[a.Change] - deltaRank[b.Change]; r != 0 {
			return r
		}
		return strings.Compare(a.Label(), b.Label())
	})
	newAbout := map[int][]*fdelta{}
	for _, fd := range fds {
		if fd.Status == diagnose.StatusNew {
			for _, i := range fd.eps {
				newAbout[i] = append(newAbout[i], fd)
			}
		}
	}
	explained := map[string]bool{}
	for _, d := range deltas {
		d.Causes = ids(d.causes)
		for _, fd := range newAbout[d.idx] {
			d.Findings = append(d.Findings, fd.Key)
		}
		res.Endpoints = append(res.Endpoints, d.EndpointDelta)
		switch d.Change {
		case DeltaRegressed:
			res.Summary.Regressions++
			fs := newAbout[d.idx]
			res.Explanations = append(res.Explanations, explainEndpoint(&d.EndpointDelta, c.eps[d.idx], d.causes, fs))
			for _, fd := range fs {
				explained[fd.Key] = true
			}
		case DeltaRecovered:
			res.Summary.Recoveries++
		}
	}

	for _, fd := range fds {
		fd.Causes = ids(fd.causes)
		res.Findings = append(res.Findings, fd.FindingDelta)
		switch fd.Status {
		case diagnose.StatusNew:
			res.Summary.NewFindings++
			if countsAsError(&fd.Finding) {
				res.Summary.NewErrors++
				if !explained[fd.Key] {
					res.Explanations = append(res.Explanations, explainFinding(&fd.Finding, fd.causes))
				}
			}
		default:
			res.Summary.FixedFindings++
		}
	}

	for what, n := range c.ignored {
		res.Ignored = append(res.Ignored, IgnoredCount{What: what, Count: n})
		res.Summary.Ignored += n
	}
	slices.SortFunc(res.Ignored, func(a, b IgnoredCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.What, b.What)
	})
	res.Summary.Changes = len(res.Changes)

	hard, soft := res.Summary.NewErrors > 0, false
	for _, d := range res.Endpoints {
		if d.Change == DeltaRegressed {
			if broken(d.After) {
				hard = true
			} else {
				soft = true
			}
		}
	}
	switch {
	case hard:
		res.Result = ResultBroken
	case soft:
		res.Result = ResultInconclusive
	case len(res.Changes) > 0 || len(res.Endpoints) > 0 || len(res.Findings) > 0:
		res.Result = ResultChanged
	default:
		res.Result = ResultUnchanged
	}
	return res
}

// countsAsError: a new finding that breaks the comparison (not a note about
// skipped checks or unknown verdicts, which the endpoint states cover).
func countsAsError(f *diagnose.Finding) bool {
	return f.Level() == diagnose.Error && f.Code != diagnose.CodeCheckSkipped && f.Code != diagnose.CodeVerdictUnknown
}

// fdelta is a finding delta with its endpoints (indexes) and causes.
type fdelta struct {
	FindingDelta
	eps    []int
	causes []*Change
}

// explainEndpoint writes the answer for one regressed endpoint: what changed
// in its state, the most likely cause, the finding that names it and its fix.
func explainEndpoint(d *EndpointDelta, e *epState, causes []*Change, fs []*fdelta) Explanation {
	ex := Explanation{Subject: d.Label(), Causes: []string{}}
	var b strings.Builder
	verb := "broke"
	if d.After == diagnose.VerdictUnknown {
		verb = "can no longer be verified"
	}
	fmt.Fprintf(&b, "%s %s (%s → %s)", d.Label(), verb, d.Before, d.After)
	if len(causes) == 0 {
		b.WriteString(": " + unexplained(e))
	} else {
		fmt.Fprintf(&b, " because %s [%s]", causes[0].Message, causes[0].ID)
		var also []string
		for _, ch := range causes {
			ex.Causes = append(ex.Causes, ch.ID)
			if ch != causes[0] {
				also = append(also, ch.ID)
			}
		}
		if len(also) > 0 {
			fmt.Fprintf(&b, " (also %s)", strings.Join(also, ", "))
		}
	}
	if f := worst(fs); f != nil {
		ex.Findings = findingNames(fs)
		fmt.Fprintf(&b, " — %s %s", f.Code, f.Check)
		ex.Fix, ex.Commands = f.Remediation.Steps, f.Remediation.Commands
		if len(ex.Fix) > 0 {
			fmt.Fprintf(&b, "; fix: %s", ex.Fix[0])
		}
	}
	ex.Text = b.String()
	return ex
}

// unexplained says what is left when no configuration change touches the
// endpoint: a probe that now disagrees, or nothing in the data.
func unexplained(e *epState) string {
	probe := func(r *diagnose.EndpointResult) string {
		if r == nil || r.Probe == "" {
			return ""
		}
		p := r.Probe
		if r.ProbeFrom != "" {
			p += " from " + r.ProbeFrom
		}
		return p
	}
	before, after := probe(e.baseRes), probe(e.curRes)
	if after != "" && after != before {
		was := ""
		if before != "" {
			was = " (it was " + before + ")"
		}
		why := "something the snapshot does not model drops it (host firewall, NetworkPolicy, network ACL)"
		if e.curRes.Probe == "refused" {
			why = "the host answers but nothing listens on the port (the service is down, or listens elsewhere)"
		}
		return fmt.Sprintf("no configuration change explains it, but the probe now answers %s%s: %s", after, was, why)
	}
	return "no change in the data explains it (something the snapshot does not model changed)"
}

// explainFinding writes the answer for a new error finding that no
// regressed endpoint explains.
func explainFinding(f *diagnose.Finding, causes []*Change) Explanation {
	ex := Explanation{Subject: strings.Join(f.Subjects, ", "), Causes: []string{}, Findings: []string{f.Code + " " + f.Check},
		Fix: f.Remediation.Steps, Commands: f.Remediation.Commands}
	var b strings.Builder
	fmt.Fprintf(&b, "new %s %s: %s", f.Code, f.Check, f.Message)
	if len(causes) == 0 {
		b.WriteString(" — no change in the data explains it")
	} else {
		fmt.Fprintf(&b, " — after %s [%s]", causes[0].Message, causes[0].ID)
		for _, ch := range causes {
			ex.Causes = append(ex.Causes, ch.ID)
		}
	}
	if len(ex.Fix) > 0 {
		fmt.Fprintf(&b, "; fix: %s", ex.Fix[0])
	}
	ex.Text = b.String()
	return ex
}

// worst is the most severe finding (errors before warnings), nil for none.
func worst(fs []*fdelta) *diagnose.Finding {
	var best *diagnose.Finding
	for _, fd := range fs {
		f := &fd.Finding
		if f.Code == diagnose.CodeVerdictUnknown && len(fs) > 1 {
			continue
		}
		if best == nil || f.Level() > best.Level() {
			best = f
		}
	}
	return best
}

func findingNames(fs []*fdelta) []string {
	var out []string
	for _, fd := range fs {
		out = append(out, fd.Finding.Code+" "+fd.Finding.Check)
	}
	return dedupe(out)
}
