package tui

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// Service badges: words, so the state reads without colour. A service's
// badge is diagnose.ServiceHealth's, as in the text report; INFO is the
// gateway-wide entry's when it holds notes only.
const (
	StatusBroken  = diagnose.ServiceBroken
	StatusUnknown = diagnose.ServiceUnknown
	StatusWarning = diagnose.ServiceWarning
	StatusInfo    = "INFO"
	StatusOK      = diagnose.ServiceOK
)

// gatewayWide is the key of the list entry that gathers findings naming no
// service (stale authorizations, node-pool drift, skipped checks).
const gatewayWide = ""

// Finding change states against the previous run.
const (
	changeNew       = "NEW"
	changeFixed     = "FIXED"
	changeUnchanged = ""
)

// serviceEntry is one row of the services list with everything the right
// column shows for it, as indices into the report (built once per report).
type serviceEntry struct {
	key       string // "namespace/name"; gatewayWide for the gateway-wide entry
	endpoints []int  // into Report.Endpoints, report order
	findings  []int  // into Report.Findings, report order (severity first)
	fixed     []*diagnose.Finding
	health    diagnose.ServiceHealth
	status    string
	// search is what "/" matches (see searchText).
	search string
}

func (s *serviceEntry) title() string {
	if s.key == gatewayWide {
		return "(gateway-wide)"
	}
	return s.key
}

// rank orders statuses worst first.
func statusRank(status string) int {
	switch status {
	case StatusBroken:
		return 0
	case StatusUnknown:
		return 1
	case StatusWarning:
		return 2
	case StatusInfo:
		return 3
	}
	return 4
}

// index is the report split by service, built once per report so that every
// frame reads slices instead of scanning the report.
type index struct {
	report   *diagnose.Report
	services []*serviceEntry // worst first, then by name; gateway-wide last
	byKey    map[string]*serviceEntry
	// changes maps Finding.Key() to NEW (absent from the previous run) or
	// "" (unchanged); nil when there is no previous run.
	changes map[string]string
	diff    *runDiff
}

// runDiff counts what changed since the previous run.
type runDiff struct {
	New, Fixed, Unchanged int
}

func newIndex(r *diagnose.Report, previous *diagnose.Report) *index {
	ix := &index{report: r, byKey: map[string]*serviceEntry{}}
	get := func(key string) *serviceEntry {
		if s, ok := ix.byKey[key]; ok {
			return s
		}
		s := &serviceEntry{key: key}
		ix.byKey[key] = s
		ix.services = append(ix.services, s)
		return s
	}
	for i := range r.Endpoints {
		e := &r.Endpoints[i]
		s := get(e.Service)
		s.endpoints = append(s.endpoints, i)
		s.health.Add(e)
	}
	addFinding := func(s *serviceEntry, i int) {
		s.findings = append(s.findings, i)
		s.health.AddFinding(&r.Findings[i])
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if len(f.Services) == 0 {
			addFinding(get(gatewayWide), i)
			continue
		}
		for _, key := range uniq(f.Services) {
			addFinding(get(key), i)
		}
	}
	if previous != nil {
		ix.diffWith(previous, get)
	}
	for _, s := range ix.services {
		s.status = serviceStatus(s)
		s.search = searchText(r, s)
	}
	slices.SortStableFunc(ix.services, func(a, b *serviceEntry) int {
		if (a.key == gatewayWide) != (b.key == gatewayWide) {
			if a.key == gatewayWide {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(statusRank(a.status), statusRank(b.status)); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	return ix
}

// diffWith compares findings by Finding.Key with the previous run's: new
// ones are marked, fixed ones are kept (to be shown struck off) under their
// services.
func (ix *index) diffWith(prev *diagnose.Report, get func(string) *serviceEntry) {
	ix.changes = map[string]string{}
	ix.diff = &runDiff{}
	before := make(map[string]bool, len(prev.Findings))
	for i := range prev.Findings {
		before[prev.Findings[i].Key()] = true
	}
	now := make(map[string]bool, len(ix.report.Findings))
	for i := range ix.report.Findings {
		k := ix.report.Findings[i].Key()
		now[k] = true
		if before[k] {
			ix.changes[k] = changeUnchanged
			ix.diff.Unchanged++
		} else {
			ix.changes[k] = changeNew
			ix.diff.New++
		}
	}
	for i := range prev.Findings {
		f := &prev.Findings[i]
		if now[f.Key()] {
			continue
		}
		ix.diff.Fixed++
		keys := uniq(f.Services)
		if len(keys) == 0 {
			keys = []string{gatewayWide}
		}
		for _, key := range keys {
			s := get(key)
			s.fixed = append(s.fixed, f)
		}
	}
}

// change is a finding's state against the previous run.
func (ix *index) change(f *diagnose.Finding) string {
	if ix.changes == nil {
		return changeUnchanged
	}
	return ix.changes[f.Key()]
}

// serviceStatus is the badge: a service's is diagnose.ServiceHealth's; the
// gateway-wide entry has no endpoints by nature, so its worst finding alone
// speaks, and INFO says it holds notes only.
func serviceStatus(s *serviceEntry) string {
	if s.key != gatewayWide {
		return s.health.Status()
	}
	switch s.health.Worst() {
	case diagnose.Error:
		return StatusBroken
	case diagnose.Warning:
		return StatusWarning
	}
	return StatusInfo
}

// statusAtLeast reports whether a service passes the severity filter.
func statusAtLeast(status string, min diagnose.Severity) bool {
	switch min {
	case diagnose.Error:
		return status == StatusBroken
	case diagnose.Warning:
		return status != StatusOK && status != StatusInfo
	}
	return true
}

func uniq(xs []string) []string {
	if len(xs) < 2 {
		return xs
	}
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// searchText is what "/" matches for a service, lowercased, one term per
// line: what an on-call engineer has from a 503 log or a ticket. The
// service key; each endpoint's IP, ip:port, pod, node, ENI, security groups
// and deciding rule; each finding's code, slug and subjects (nodes, groups,
// rules, endpoints).
func searchText(r *diagnose.Report, s *serviceEntry) string {
	terms := []string{s.title()}
	for _, i := range s.endpoints {
		e := &r.Endpoints[i]
		terms = append(terms, e.IP, net.JoinHostPort(e.IP, strconv.Itoa(e.Port)), e.Pod, e.Node, e.ENI)
		terms = append(terms, e.Groups...)
		if d := e.DecidingRule; d != nil {
			terms = append(terms, d.SecurityGroupID, d.RuleID)
		}
	}
	for _, i := range s.findings {
		f := &r.Findings[i]
		terms = append(terms, f.Code, f.Check)
		terms = append(terms, f.Subjects...)
	}
	var b strings.Builder
	for _, t := range terms {
		if t != "" {
			b.WriteString(strings.ToLower(t))
			b.WriteByte('\n')
		}
	}
	return b.String()
}
