// Package diff compares two snapshots — a baseline from when it worked and
// the current state — and reports every change that matters to the gateway's
// reachability, each tied to the endpoints it affects and to the findings it
// explains. It answers "why did it stop working?": it diagnoses both
// snapshots with the catalog it is given and links every endpoint that
// stopped serving, and every new finding, to the changes that touch it.
//
// It sits above diagnose (which owns the view, the report and the endpoint
// matching) and below the CLI; it never imports the catalog itself.
package diff

import (
	"context"
	"strings"
	"sync"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// SchemaVersion is the version of the diff JSON.
const SchemaVersion = 1

// Change kinds. Stable: they are the JSON "kind" field.
const (
	KindEndpointMoved     = "endpoint-moved"        // pod on another node or ENI (so possibly another group set)
	KindEndpointPort      = "endpoint-port-changed" // the port the gateway dials changed
	KindEndpointNotReady  = "endpoint-not-ready"
	KindEndpointReady     = "endpoint-ready"
	KindEndpointAdded     = "endpoint-added"
	KindEndpointRemoved   = "endpoint-removed"
	KindServiceAdded      = "service-added"
	KindServiceRemoved    = "service-removed"
	KindServiceProtocol   = "service-protocol-changed"
	KindAuthAdded         = "authorization-added"
	KindAuthRemoved       = "authorization-removed"
	KindAuthNarrowed      = "authorization-narrowed"
	KindAuthWidened       = "authorization-widened"
	KindAuthChanged       = "authorization-changed" // ports moved, or protocol changed
	KindGroupAttached     = "group-attached"        // to an ENI
	KindGroupDetached     = "group-detached"        // from an ENI
	KindRuleAdded         = "rule-added"
	KindRuleRemoved       = "rule-removed"
	KindRuleChanged       = "rule-changed"
	KindGroupType         = "group-type-changed"
	KindInnerAccessPolicy = "inner-access-policy-changed"
	KindGroupVPC          = "group-vpc-changed"
	KindGroupAdded        = "group-added"
	KindGroupRemoved      = "group-removed"
	KindNodePoolGroups    = "node-pool-groups-changed"
	KindNodePool          = "node-pool-changed" // a node now belongs to another pool
	// KindServerlessDefault: the group new ECI / ACS pods get when their
	// annotation names none (cluster.eciProfileSecurityGroupId or
	// cluster.securityGroupId) changed.
	KindServerlessDefault = "serverless-default-changed"
	KindNodeAdded         = "node-added"
	KindNodeRemoved       = "node-removed"
	KindENIAdded          = "eni-added"
	KindENIRemoved        = "eni-removed"
	KindNodeVPC           = "node-vpc-changed"
	KindGatewayReplaced   = "gateway-replaced" // another gateway id
	KindGatewayGroup      = "gateway-group-changed"
	KindGatewayAddresses  = "gateway-addresses-changed"
	KindGatewayVPC        = "gateway-vpc-changed"
	KindDataMissing       = "data-missing"   // a part the current snapshot could not collect
	KindDataRecovered     = "data-recovered" // collected now, missing in the baseline
)

// Overall results, the JSON "result" field.
const (
	ResultBroken       = "broken"       // an endpoint stopped serving, or a new error finding (exit 1)
	ResultInconclusive = "inconclusive" // endpoints that served are now unknown, nothing worse (exit 3)
	ResultChanged      = "changed"      // changes that matter, none broke anything (exit 0)
	ResultUnchanged    = "unchanged"    // nothing that matters changed (exit 0)
)

// Endpoint delta kinds, the JSON endpoints[].change field.
const (
	DeltaRegressed   = "regressed"   // served in the baseline, does not now
	DeltaRecovered   = "recovered"   // serves now, did not in the baseline
	DeltaChanged     = "changed"     // another non-serving state (blocked → unknown, …)
	DeltaAppeared    = "appeared"    // new endpoint, not a regression
	DeltaDisappeared = "disappeared" // gone, not a regression (its service still serves)
)

// Options configure Compare.
type Options struct {
	// Checks is the catalog both snapshots are diagnosed with (checks.All()).
	Checks []*diagnose.Check
	// BaselineName and CurrentName label the two sides (file names).
	BaselineName, CurrentName string
}

// Result is the comparison, as written by -o json.
type Result struct {
	SchemaVersion int     `json:"schemaVersion"`
	Result        string  `json:"result"`
	Baseline      Side    `json:"baseline"`
	Current       Side    `json:"current"`
	Summary       Summary `json:"summary"`
	// Explanations answer "why did it break?" in one line each: every
	// regressed endpoint and every new error finding with its cause.
	Explanations []Explanation   `json:"explanations"`
	Changes      []Change        `json:"changes"`
	Endpoints    []EndpointDelta `json:"endpoints"`
	Findings     []FindingDelta  `json:"findings"`
	// Ignored counts changes that cannot affect reachability, by what changed.
	Ignored []IgnoredCount `json:"ignored"`

	// The two reports, for callers that want more (not in the JSON).
	BaselineReport *diagnose.Report `json:"-"`
	CurrentReport  *diagnose.Report `json:"-"`
}

// Side describes one snapshot of the comparison.
type Side struct {
	Name       string           `json:"name,omitempty"`
	CapturedAt string           `json:"capturedAt,omitempty"`
	Summary    diagnose.Summary `json:"summary"`
}

// Summary counts the comparison's parts.
type Summary struct {
	Changes       int `json:"changes"`
	Regressions   int `json:"regressions"`
	Recoveries    int `json:"recoveries"`
	NewFindings   int `json:"newFindings"`
	NewErrors     int `json:"newErrors"`
	FixedFindings int `json:"fixedFindings"`
	Ignored       int `json:"ignored"`
}

// Change is one difference that matters to reachability.
type Change struct {
	// ID is "C1", "C2", … in report order, for cross-references.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Subjects are the ids the change is about (groups, rules as
	// "sg-a/sgr-1", authorizations, ENIs, nodes, pools, services, endpoints).
	Subjects []string `json:"subjects"`
	Message  string   `json:"message"`
	Before   string   `json:"before,omitempty"`
	After    string   `json:"after,omitempty"`
	// Endpoints are the endpoints it affects ("ns/name ip:port"), Services
	// their services.
	Endpoints []string `json:"endpoints,omitempty"`
	Services  []string `json:"services,omitempty"`
	// Explains lists what it is linked to: endpoint labels that regressed and
	// finding keys (code|subjects) that appeared or were fixed.
	Explains []string `json:"explains,omitempty"`
	// Breaking: it is a cause of a regression or of a new error finding.
	Breaking bool `json:"breaking"`

	rank    int
	order   int             // detection order, for stable ties
	touches map[int]bool    // indexes into the endpoint states
	tokens  map[string]bool // subjects, for linking findings
	rules   []string        // "group\x00ruleID-or-#index" of rules it changes, both sides
}

// EndpointDelta is one endpoint whose state changed.
type EndpointDelta struct {
	Service  string `json:"service"`
	Endpoint string `json:"endpoint"` // ip:port now (baseline's when gone)
	Pod      string `json:"pod,omitempty"`
	Change   string `json:"change"`
	Before   string `json:"before"` // verdict, not-ready or absent
	After    string `json:"after"`
	// Causes are change IDs, most likely first.
	Causes []string `json:"causes"`
	// Findings are keys of new findings about it.
	Findings []string `json:"findings,omitempty"`
}

// Label is "ns/name ip:port".
func (d *EndpointDelta) Label() string { return d.Service + " " + d.Endpoint }

// FindingDelta is a finding that appeared (new) or went away (fixed, or
// unverified when the check could not run now).
type FindingDelta struct {
	Status  string           `json:"status"`
	Key     string           `json:"key"`
	Finding diagnose.Finding `json:"finding"`
	Causes  []string         `json:"causes"`
}

// Explanation is the one-line answer for one regression or new error.
type Explanation struct {
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	Causes  []string `json:"causes"`
	// Findings are the codes that name the cause ("GWD102 wrong-node").
	Findings []string `json:"findings,omitempty"`
	Fix      []string `json:"fix,omitempty"`
	Commands []string `json:"commands,omitempty"`
}

// IgnoredCount is how many differences of one sort were not listed.
type IgnoredCount struct {
	What  string `json:"what"`
	Count int    `json:"count"`
}

// ExitCode: 1 broken, 3 inconclusive, 0 otherwise.
func (r *Result) ExitCode() int {
	switch r.Result {
	case ResultBroken:
		return 1
	case ResultInconclusive:
		return 3
	}
	return 0
}

// Compare diagnoses base and cur with opts.Checks and returns every change
// between them that matters to reachability, linked to the endpoints and
// findings it explains. Both snapshots must be valid (snapshot.Load).
func Compare(ctx context.Context, base, cur *snapshot.Snapshot, opts Options) *Result {
	// The two sides are independent until the current view gets its
	// baseline: build, then diagnose, both at once.
	var bv, cv *diagnose.View
	both(func() { bv = diagnose.NewView(base) }, func() { cv = diagnose.NewView(cur) })
	cv.Baseline = bv
	var br, cr *diagnose.Report
	both(func() { br = diagnose.Run(ctx, bv, opts.Checks) }, func() { cr = diagnose.Run(ctx, cv, opts.Checks) })
	cr.CompareBaseline(br, &diagnose.SourceInfo{Kind: "file", Name: opts.BaselineName, CapturedAt: base.CapturedAt}, opts.Checks)

	c := newComparer(bv, cv, br, cr)
	c.detect()
	res := c.link()
	res.SchemaVersion = SchemaVersion
	res.Baseline = Side{Name: opts.BaselineName, CapturedAt: base.CapturedAt, Summary: br.Summary}
	res.Current = Side{Name: opts.CurrentName, CapturedAt: cur.CapturedAt, Summary: cr.Summary}
	res.BaselineReport, res.CurrentReport = br, cr
	return res
}

// both runs a and b concurrently and waits for both.
func both(a, b func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a()
	}()
	b()
	wg.Wait()
}

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// setDiff returns what is in a and not in b, in a's order.
func setDiff(a, b []string) []string {
	inB := setOf(b)
	var out []string
	for _, x := range a {
		if !inB[x] {
			out = append(out, x)
		}
	}
	return out
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
