package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// SchemaVersion is the report JSON's version (DESIGN.md: stable).
const SchemaVersion = 2

// Report is a diagnosis, as written by -o json.
type Report struct {
	SchemaVersion int         `json:"schemaVersion"`
	Gateway       GatewayInfo `json:"gateway"`
	Source        *SourceInfo `json:"source,omitempty"`
	Summary       Summary     `json:"summary"`
	// Causes is the incident summary's top: which causes explain the blocked endpoints.
	Causes      *Causes          `json:"causes"`
	Endpoints   []EndpointResult `json:"endpoints"`
	Findings    []Finding        `json:"findings"`
	Skipped     []Skipped        `json:"skipped"`
	CheckErrors []CheckError     `json:"checkErrors,omitempty"`
	// Filter says what --service / --suppress hid, when anything was.
	Filter *FilterInfo `json:"filter,omitempty"`
	// Baseline compares the report with a baseline report (diagnose
	// --baseline): findings then carry Status, and fixed ones are listed.
	Baseline *BaselineInfo `json:"baseline,omitempty"`
}

// GatewayInfo names the gateway.
type GatewayInfo struct {
	ID              string `json:"id"`
	Name            string `json:"name,omitempty"`
	Region          string `json:"region,omitempty"`
	SecurityGroupID string `json:"securityGroupId,omitempty"`
}

// SourceInfo says where the data came from and when.
type SourceInfo struct {
	Kind       string `json:"kind"` // file, live, demo
	Name       string `json:"name,omitempty"`
	CapturedAt string `json:"capturedAt,omitempty"`
}

// Summary counts endpoints by verdict and findings by severity.
type Summary struct {
	Endpoints int `json:"endpoints"`
	// Reachable counts ready endpoints the gateway reaches; a not-ready
	// endpoint is never counted reachable (the gateway does not route to
	// it): NotReady counts those the configuration would let it reach.
	// Reachable + NotReady + Blocked + Unknown = Endpoints.
	Reachable int `json:"reachable"`
	NotReady  int `json:"notReady,omitempty"`
	Blocked   int `json:"blocked"`
	Unknown   int `json:"unknown"`
	Errors    int `json:"errors"`
	Warnings  int `json:"warnings"`
	Infos     int `json:"infos"`
}

// RuleID identifies the deciding rule in the report.
type RuleID struct {
	SecurityGroupID string `json:"securityGroupId"`
	RuleID          string `json:"ruleId,omitempty"`
	// Index is the rule's position in the group (0-based), for rules without an id.
	Index int `json:"index"`
}

// EndpointResult is one endpoint's row in the report.
type EndpointResult struct {
	Service string `json:"service"`
	IP      string `json:"ip"`
	Port    int    `json:"port"`
	Pod     string `json:"pod,omitempty"`
	Node    string `json:"node,omitempty"`
	// Kind is the backend's kind when it is not a pod on an ECS node: eci,
	// acs or ecs (snapshot.Backend*); VirtualNode is the Kubernetes node of
	// an ECI or ACS pod, whose own instance is Node.
	Kind        string   `json:"kind,omitempty"`
	VirtualNode string   `json:"virtualNode,omitempty"`
	ENI         string   `json:"eni,omitempty"`
	Groups      []string `json:"groups,omitempty"`
	Resolution  string   `json:"resolution,omitempty"`
	Ready       bool     `json:"ready"`
	Config      string   `json:"config"`
	// Reason says how the configuration decided: rule, intra-group,
	// default-deny, undecidable, egress, other-vpc.
	Reason    string  `json:"reason,omitempty"`
	Probe     string  `json:"probe"`
	ProbeFrom string  `json:"probeFrom,omitempty"`
	RTTMs     float64 `json:"rttMs,omitempty"`
	// HealthCheck is the gateway's own health check of the endpoint:
	// passing, failing, off, unknown, or "" when not read; HealthCheckAt is
	// when it was read.
	HealthCheck   string `json:"healthCheck,omitempty"`
	HealthCheckAt string `json:"healthCheckAt,omitempty"`
	// DecidedByHealthCheck: the health check decided a verdict that the
	// configuration and the probe alone would not give.
	DecidedByHealthCheck bool     `json:"decidedByHealthCheck,omitempty"`
	Verdict              string   `json:"verdict"`
	DecidingRule         *RuleID  `json:"decidingRule,omitempty"`
	Notes                []string `json:"notes,omitempty"`
	// Pieces is set when rules treat the gateway's addresses differently
	// (config "partial", or one decision reached by several rules): each
	// piece of them with its own decision.
	Pieces []PieceResult `json:"pieces,omitempty"`
	// FindingIDs are the findings that explain this endpoint (Finding.ID).
	FindingIDs []string `json:"findingIds,omitempty"`
}

// PieceResult is one piece of the gateway's addresses that every rule treats
// alike: where it is (zone, vSwitch, gateway address), its prefixes, and the
// configuration's decision for traffic from it.
type PieceResult struct {
	ZoneID       string   `json:"zoneId,omitempty"`
	VSwitchID    string   `json:"vswitchId,omitempty"`
	Address      string   `json:"address"`
	Prefixes     []string `json:"prefixes"`
	Config       string   `json:"config"`
	Reason       string   `json:"reason"`
	DecidingRule *RuleID  `json:"decidingRule,omitempty"`
}

// DecidedBy names what decided the configuration verdict: the deciding
// rule as group/rule-id (group/#index for a rule without an id), else the
// reason (intra-group, default-deny, undecidable, …).
func (e *EndpointResult) DecidedBy() string {
	switch {
	case e.DecidingRule != nil && e.DecidingRule.RuleID != "":
		return e.DecidingRule.SecurityGroupID + "/" + e.DecidingRule.RuleID
	case e.DecidingRule != nil:
		return fmt.Sprintf("%s/#%d", e.DecidingRule.SecurityGroupID, e.DecidingRule.Index)
	}
	return e.Reason
}

// FilterInfo records what filtering hid from the report.
type FilterInfo struct {
	Services          []string `json:"services,omitempty"`
	Endpoints         []string `json:"endpoints,omitempty"`
	Suppress          []string `json:"suppress,omitempty"`
	HiddenFindings    int      `json:"hiddenFindings"`
	HiddenEndpoints   int      `json:"hiddenEndpoints"`
	SuppressedFinding int      `json:"suppressedFindings"`
	// OnlyBroken is set by --only-broken: reachable rows were left out
	// (the summary still counts them).
	OnlyBroken bool `json:"onlyBroken,omitempty"`
}

// KeepOnlyBroken drops the rows of reachable endpoints (--only-broken, for
// huge estates): blocked and unknown rows, the findings and the summary
// (which still counts every endpoint) are kept.
func (r *Report) KeepOnlyBroken() {
	if r.Filter == nil {
		r.Filter = &FilterInfo{}
	}
	r.Filter.OnlyBroken = true
	kept := r.Endpoints[:0]
	for _, e := range r.Endpoints {
		if e.Verdict == VerdictReachable {
			r.Filter.HiddenEndpoints++
			continue
		}
		kept = append(kept, e)
	}
	clear(r.Endpoints[len(kept):])
	r.Endpoints = kept
}

// ReasonName is the report word for a decision reason.
func ReasonName(r secgroup.Reason) string {
	switch r {
	case secgroup.ReasonRule:
		return "rule"
	case secgroup.ReasonIntraGroup:
		return "intra-group"
	case secgroup.ReasonDefaultDeny:
		return "default-deny"
	case secgroup.ReasonEgress:
		return "egress"
	case secgroup.ReasonOtherVPC:
		return "other-vpc"
	}
	return "undecidable"
}

func newReport(v *View) *Report {
	s := v.Snapshot
	r := &Report{
		SchemaVersion: SchemaVersion,
		Gateway:       GatewayInfo{ID: s.Gateway.ID, Name: s.Gateway.Name, Region: s.Region, SecurityGroupID: s.Gateway.SecurityGroupID},
		Endpoints:     make([]EndpointResult, 0, len(v.Endpoints)),
		Findings:      []Finding{},
		Skipped:       []Skipped{},
	}
	for _, ep := range v.Endpoints {
		r.Endpoints = append(r.Endpoints, endpointResult(ep))
	}
	return r
}

func endpointResult(ep *Endpoint) EndpointResult {
	res := EndpointResult{
		Service:    ep.ServiceKey,
		IP:         ep.Endpoint.IP,
		Port:       ep.Endpoint.Port,
		Pod:        ep.Endpoint.Pod,
		Node:       ep.NodeLabel(),
		Groups:     ep.GroupIDs,
		Resolution: ep.Resolution,
		Ready:      ep.Endpoint.IsReady(),
		Config:     ep.Decision.Verdict.String(),
		Reason:     ReasonName(ep.Decision.Reason),
		Verdict:    ep.Verdict,
		Notes:      ep.Decision.Notes,
	}
	if ep.ENI != nil {
		res.ENI = ep.ENI.ID
	}
	if ep.Kind != snapshot.BackendPod {
		res.Kind = ep.Kind
	}
	if ep.HostNode != nil && ep.HostNode.KindOf() == snapshot.NodeKindVirtual {
		res.VirtualNode = NodeName(ep.HostNode)
	}
	if d := ep.Decision.Deciding; d != nil {
		res.DecidingRule = &RuleID{SecurityGroupID: d.GroupID, RuleID: d.RuleID, Index: d.Index}
	}
	for _, p := range ep.Decision.Pieces {
		pr := PieceResult{ZoneID: p.ZoneID, VSwitchID: p.VSwitchID, Address: p.Address.String(),
			Config: p.Verdict.String(), Reason: ReasonName(p.Reason)}
		for _, x := range p.Prefixes {
			pr.Prefixes = append(pr.Prefixes, x.String())
		}
		if d := p.Deciding; d != nil {
			pr.DecidingRule = &RuleID{SecurityGroupID: d.GroupID, RuleID: d.RuleID, Index: d.Index}
		}
		res.Pieces = append(res.Pieces, pr)
	}
	if ep.Probe != nil {
		res.Probe = ep.Probe.State
		res.ProbeFrom = ep.Probe.From
		res.RTTMs = ep.Probe.RTTMs
	}
	res.HealthCheck, res.HealthCheckAt, res.DecidedByHealthCheck = ep.Health.State, ep.Health.At, ep.HealthDecided
	return res
}

// finish sorts and counts; call after every change to Findings or Endpoints.
func (r *Report) finish() {
	SortFindings(r.Findings)
	r.assignIDs()
	slices.SortStableFunc(r.Skipped, func(a, b Skipped) int { return strings.Compare(a.Check, b.Check) })
	slices.SortStableFunc(r.CheckErrors, func(a, b CheckError) int { return strings.Compare(a.Check, b.Check) })
	sum := Summary{Endpoints: len(r.Endpoints)}
	for i := range r.Endpoints {
		switch e := &r.Endpoints[i]; CountAs(e.Verdict, e.Ready) {
		case VerdictReachable:
			sum.Reachable++
		case CountNotReady:
			sum.NotReady++
		case VerdictBlocked:
			sum.Blocked++
		default:
			sum.Unknown++
		}
	}
	for i := range r.Findings {
		if !r.Findings[i].Counted() {
			continue
		}
		switch r.Findings[i].Level() {
		case Error:
			sum.Errors++
		case Warning:
			sum.Warnings++
		default:
			sum.Infos++
		}
	}
	r.Summary = sum
	r.Causes = r.summariseCauses()
}

// Suppression hides findings of a code (ID or slug), optionally only those
// with a given subject: "GWD302" or "broad-authorization=sg-nodes".
type Suppression struct {
	Code    string // canonical ID
	Subject string // empty: every subject
	raw     string
}

// ParseSuppression reads CODE or CODE=SUBJECT.
func ParseSuppression(s string) (Suppression, error) {
	codeText, subject, _ := strings.Cut(s, "=")
	code, ok := LookupCode(codeText)
	if !ok {
		return Suppression{}, fmt.Errorf("--suppress %q: unknown code or slug %q (see gwdoctor checks)", s, codeText)
	}
	return Suppression{Code: code.ID, Subject: strings.TrimSpace(subject), raw: s}, nil
}

func (s Suppression) matches(f *Finding) bool {
	if f.Code != s.Code {
		return false
	}
	return s.Subject == "" || slices.Contains(f.Subjects, s.Subject) || slices.Contains(f.Services, s.Subject)
}

// ApplyFilter keeps only the given services' endpoints and findings (none: all)
// and drops suppressed findings, recording what it hid. Findings that name no
// service (global ones) are hidden by a service filter, except skipped-check notes.
func (r *Report) ApplyFilter(services []string, suppress []Suppression) {
	if len(services) == 0 && len(suppress) == 0 {
		return
	}
	info := &FilterInfo{Services: services}
	for _, s := range suppress {
		info.Suppress = append(info.Suppress, s.raw)
	}
	if len(services) > 0 {
		kept := r.Endpoints[:0]
		for _, e := range r.Endpoints {
			if slices.Contains(services, e.Service) {
				kept = append(kept, e)
			} else {
				info.HiddenEndpoints++
			}
		}
		r.Endpoints = kept
	}
	kept := r.Findings[:0]
	for i := range r.Findings {
		f := r.Findings[i]
		if slices.ContainsFunc(suppress, func(s Suppression) bool { return s.matches(&f) }) {
			info.SuppressedFinding++
			continue
		}
		if len(services) > 0 && f.Code != CodeCheckSkipped && !slices.ContainsFunc(f.Services, func(s string) bool { return slices.Contains(services, s) }) {
			info.HiddenFindings++
			continue
		}
		kept = append(kept, f)
	}
	if removed := len(r.Findings) - len(kept); removed > 0 {
		// Rows point only at findings the report still holds.
		ids := make(map[string]bool, len(kept))
		for i := range kept {
			ids[kept[i].ID] = true
		}
		for i := range r.Endpoints {
			e := &r.Endpoints[i]
			if slices.ContainsFunc(e.FindingIDs, func(id string) bool { return !ids[id] }) {
				e.FindingIDs = slices.DeleteFunc(slices.Clone(e.FindingIDs), func(id string) bool { return !ids[id] })
			}
		}
	}
	r.Findings = kept
	r.Filter = info
	if r.Baseline != nil {
		if len(services) > 0 {
			r.Baseline.filter(services)
		}
		r.Baseline.recount(r.Findings)
	}
	r.finish()
}

// FailOn is the exit-code threshold: findings at or above it exit 1.
type FailOn struct {
	Never    bool
	Severity Severity
}

// ParseFailOn reads error, warning, info or never.
func ParseFailOn(s string) (FailOn, error) {
	if strings.EqualFold(strings.TrimSpace(s), "never") {
		return FailOn{Never: true}, nil
	}
	sev, err := ParseSeverity(s)
	if err != nil {
		return FailOn{}, fmt.Errorf("--fail-on %q: want error, warning, info or never", s)
	}
	return FailOn{Severity: sev}, nil
}

// ExitCode maps the report to DESIGN.md's exit codes: 1 when an endpoint is
// blocked — even when the finding naming it was suppressed: --suppress
// hides findings, not outages — or a finding other than verdict-unknown is
// at or above the threshold (with --fail-on info, a check-skipped note
// counts like any info); else 3 when any verdict is unknown or a check
// failed (inconclusive); else 0.
func (r *Report) ExitCode(t FailOn) int {
	if t.Never {
		return 0
	}
	// A blocked endpoint is an error whatever the checks concluded: a report
	// must never exit 0 while the gateway cannot reach a backend.
	if r.Summary.Blocked > 0 {
		return 1
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Counted() && f.Code != CodeVerdictUnknown && f.Level() >= t.Severity {
			return 1
		}
	}
	if r.Summary.Unknown > 0 || len(r.CheckErrors) > 0 {
		return 3
	}
	for i := range r.Findings {
		if r.Findings[i].Counted() && r.Findings[i].Code == CodeVerdictUnknown {
			return 3
		}
	}
	return 0
}
