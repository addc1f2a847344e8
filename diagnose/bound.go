package diagnose

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gwdoctor/gwdoctor/internal/words"
)

// Findings at scale (DESIGN.md): a finding names one cause for a group of
// endpoints, and no finding repeats a long list in prose, so a report is
// O(endpoints + findings) whatever the estate's size. Checks bound their own
// lists (BoundedList); Pass.Report enforces the bounds below on whatever a
// check emits, so one check's oversight cannot blow up a report.
const (
	// MaxListed is how many items one prose list names before "and K more".
	MaxListed = 5
	// MaxEvidence is the most evidence lines a finding carries.
	MaxEvidence = 24
	// MaxSubjects is the most subjects a finding carries.
	MaxSubjects = 24
	// MaxSteps is the most remediation steps (and commands) a finding carries.
	MaxSteps = 8
	// MaxChain is the most links in a finding's chain.
	MaxChain = 16
	// MaxText is the longest prose string (message, evidence line, step,
	// link id or detail) in bytes; longer ones are cut with "… (N more bytes)".
	MaxText = 640
)

// BoundedList joins at most n items with ", ", then "and K more":
// "sg-1, sg-2, sg-3 and 497 more".
func BoundedList(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + " and " + strconv.Itoa(len(items)-n) + " more"
}

// Affected says which endpoints a finding explains: how many, and the first
// few as "ns/name ip:port". Every one of them points back at the finding
// through its row's findingIds.
type Affected struct {
	Count     int      `json:"count"`
	Endpoints []string `json:"endpoints"`
}

// SetAffected records the endpoints the finding explains; Run links each of
// them to the finding (EndpointResult.FindingIDs).
func (f *Finding) SetAffected(eps []*Endpoint) {
	f.affected = eps
	a := &Affected{Count: len(eps), Endpoints: make([]string, 0, min(len(eps), MaxListed))}
	for _, ep := range eps[:min(len(eps), MaxListed)] {
		a.Endpoints = append(a.Endpoints, ep.Label())
	}
	f.Affected = a
}

// bound enforces the bounds on a finding a check reported.
func (f *Finding) bound() {
	f.Message = cutText(f.Message)
	f.Subjects = boundStrings(f.Subjects, MaxSubjects, "subjects")
	f.Evidence = boundStrings(f.Evidence, MaxEvidence, "evidence lines")
	f.Remediation.Steps = boundStrings(f.Remediation.Steps, MaxSteps, "steps")
	if len(f.Remediation.Commands) > MaxSteps {
		// Commands are never cut inside (each must run as printed).
		f.Remediation.Commands = f.Remediation.Commands[:MaxSteps]
	}
	if len(f.Chain) > MaxChain {
		f.Chain = f.Chain[:MaxChain]
	}
	for i := range f.Chain {
		f.Chain[i].ID = cutText(f.Chain[i].ID)
		f.Chain[i].Detail = cutText(f.Chain[i].Detail)
	}
}

// boundStrings keeps n-1 items and says how many more, and cuts long items.
func boundStrings(xs []string, n int, what string) []string {
	if len(xs) > n {
		more := len(xs) - (n - 1)
		xs = append(xs[:n-1:n-1], fmt.Sprintf("… and %d more %s", more, what))
	}
	for i := range xs {
		xs[i] = cutText(xs[i])
	}
	return xs
}

func cutText(s string) string {
	if len(s) <= MaxText {
		return s
	}
	keep := MaxText - 32
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + fmt.Sprintf("… (%s)", words.Count(len(s)-keep, "more byte", "more bytes"))
}

// findingID is a finding's stable id: its code and a hash of what makes it
// this finding — the services and the attribute that groups its endpoints
// (the subjects when it has none). The same cause in the same service keeps
// its id from run to run however many endpoints it affects.
func findingID(f *Finding) string {
	h := fnv.New64a()
	h.Write([]byte(f.Code))
	for _, s := range f.Services {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	h.Write([]byte{1})
	if f.Attribute != "" {
		h.Write([]byte(f.Attribute))
	} else {
		for _, s := range f.Subjects {
			h.Write([]byte{0})
			h.Write([]byte(s))
		}
	}
	return fmt.Sprintf("%s-%08x", f.Code, uint32(h.Sum64()^h.Sum64()>>32))
}

// assignIDs gives every finding without one its id, unique in the report
// (a clash gets "-2", "-3", … in report order).
func (r *Report) assignIDs() {
	seen := make(map[string]bool, len(r.Findings))
	for i := range r.Findings {
		if r.Findings[i].ID != "" {
			seen[r.Findings[i].ID] = true
		}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.ID != "" {
			continue
		}
		id := findingID(f)
		for k := 2; seen[id]; k++ {
			id = findingID(f) + "-" + strconv.Itoa(k)
		}
		seen[id] = true
		f.ID = id
	}
}

// link points every affected endpoint's row at its findings, in report
// order. A finding without SetAffected is linked to the endpoints its
// subjects name ("ns/name ip:port").
func (r *Report) link(v *View) {
	row := make(map[*Endpoint]int, len(v.Endpoints))
	for i, ep := range v.Endpoints {
		row[ep] = i
	}
	var byLabel map[string]int
	add := func(k int, id string) {
		if k < len(r.Endpoints) && !slices.Contains(r.Endpoints[k].FindingIDs, id) {
			r.Endpoints[k].FindingIDs = append(r.Endpoints[k].FindingIDs, id)
		}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.affected == nil && f.Affected == nil {
			for _, s := range f.Subjects {
				if !strings.Contains(s, " ") {
					continue // a service, node, group or rule
				}
				if byLabel == nil {
					byLabel = make(map[string]int, len(v.Endpoints))
					for k, ep := range v.Endpoints {
						byLabel[ep.Label()] = k
					}
				}
				if k, ok := byLabel[s]; ok {
					add(k, f.ID)
				}
			}
			continue
		}
		for _, ep := range f.affected {
			if k, ok := row[ep]; ok {
				add(k, f.ID)
			}
		}
		f.affected = nil
	}
}

// CauseSummary is one line of "N causes explain M blocked endpoints": a
// finding code and how many blocked endpoints it explains (each endpoint
// counted once, under its most severe finding), in how many services and
// findings.
type CauseSummary struct {
	Code      string `json:"code"`
	Check     string `json:"check"`
	Endpoints int    `json:"endpoints"`
	Services  int    `json:"services"`
	Findings  int    `json:"findings"`
}

// Causes is the top of an incident summary: how many blocked endpoints the
// findings explain, and by which causes, most endpoints first.
type Causes struct {
	// Explained blocked endpoints have a finding; Unexplained have none.
	Explained   int            `json:"explained"`
	Unexplained int            `json:"unexplained"`
	ByCode      []CauseSummary `json:"byCode"`
}

// summariseCauses counts blocked endpoints by the code of their first
// (most severe: findings are sorted) finding.
func (r *Report) summariseCauses() *Causes {
	index := make(map[string]int, len(r.Findings))
	for i := range r.Findings {
		index[r.Findings[i].ID] = i
	}
	c := &Causes{ByCode: []CauseSummary{}}
	type acc struct {
		endpoints int
		services  map[string]bool
		findings  map[string]bool
	}
	by := map[string]*acc{}
	for i := range r.Endpoints {
		e := &r.Endpoints[i]
		if e.Verdict != VerdictBlocked {
			continue
		}
		best := -1
		for _, id := range e.FindingIDs {
			if k, ok := index[id]; ok && r.Findings[k].Counted() && (best < 0 || k < best) {
				best = k
			}
		}
		if best < 0 {
			c.Unexplained++
			continue
		}
		c.Explained++
		f := &r.Findings[best]
		a := by[f.Code]
		if a == nil {
			a = &acc{services: map[string]bool{}, findings: map[string]bool{}}
			by[f.Code] = a
		}
		a.endpoints++
		a.services[e.Service] = true
		a.findings[f.ID] = true
	}
	for code, a := range by {
		slug := code
		if k, ok := LookupCode(code); ok {
			slug = k.Slug
		}
		c.ByCode = append(c.ByCode, CauseSummary{Code: code, Check: slug, Endpoints: a.endpoints, Services: len(a.services), Findings: len(a.findings)})
	}
	slices.SortFunc(c.ByCode, func(a, b CauseSummary) int {
		return cmp.Or(b.Endpoints-a.Endpoints, strings.Compare(a.Code, b.Code))
	})
	return c
}
