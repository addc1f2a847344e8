package diagnose

import (
	"fmt"
	"strings"
)

// Input is a kind of data a check needs. A check whose inputs are missing is
// skipped and reported (GWD001), never silently passed.
type Input string

const (
	InputAuthorizations   Input = "authorizations"
	InputSecurityGroups   Input = "securityGroups"
	InputNodes            Input = "nodes"
	InputNodePools        Input = "nodePools"
	InputEndpoints        Input = "endpoints"
	InputProbes           Input = "probes"
	InputBaseline         Input = "baseline"
	InputGatewayAddresses Input = "gatewayAddresses"
)

// Check is one diagnosis in the catalog, in the manner of go/analysis's
// Analyzer: a value with a name, documentation, the codes it may emit, the
// inputs it needs and a Run function over the shared view.
type Check struct {
	// Name is the check's slug, unique; by convention the slug of its main code.
	Name string
	// Doc is the first line a summary, then how the check decides.
	Doc string
	// Codes are the catalog codes it may emit.
	Codes []string
	// Requires lists the inputs without which it cannot run.
	Requires []Input
	// Run reports findings through the pass. An error (or a panic) becomes a
	// reported check failure; the other checks still run.
	Run func(*Pass) error
}

// Pass is one check's run over a view.
type Pass struct {
	View  *View
	Check *Check
	emit  func(Finding)
	err   []error
}

// Report records a finding. Code must be one of the check's codes; Check and
// a missing Severity are filled in from the catalog; a severity the code does
// not allow is a check bug and is reported as the check's error.
func (p *Pass) Report(f Finding) {
	code, ok := LookupCode(f.Code)
	if !ok || !p.emits(code.ID) {
		p.err = append(p.err, fmt.Errorf("check %s reported code %q it does not declare", p.Check.Name, f.Code))
		return
	}
	f.Code = code.ID
	f.Check = code.Slug
	f.bound()
	if f.Severity == nil {
		sev := code.Default()
		f.Severity = &sev
	} else if !code.Allows(*f.Severity) {
		p.err = append(p.err, fmt.Errorf("check %s reported %s with severity %s; the code allows %v", p.Check.Name, code.ID, f.Severity, code.Severities))
		return
	}
	p.emit(f)
}

func (p *Pass) emits(id string) bool {
	for _, c := range p.Check.Codes {
		if c == id {
			return true
		}
	}
	return false
}

// Sev returns a pointer to s, for Finding.Severity.
func Sev(s Severity) *Severity { return &s }

// Link is one hop of a finding's evidence chain: gateway group → rule →
// backend group → ENI → node → pod. Broken marks the hop where it fails.
type Link struct {
	Kind   string `json:"kind"` // gateway-group, authorization, rule, backend-group, eni, node, pod, endpoint, probe
	ID     string `json:"id"`
	Detail string `json:"detail,omitempty"`
	Broken bool   `json:"broken,omitempty"`
}

// Link kinds.
const (
	LinkGatewayGroup  = "gateway-group"
	LinkAuthorization = "authorization"
	LinkRule          = "rule"
	LinkBackendGroup  = "backend-group"
	LinkENI           = "eni"
	LinkNode          = "node"
	LinkPod           = "pod"
	LinkEndpoint      = "endpoint"
	LinkProbe         = "probe"
	// LinkHealthCheck is the gateway's own health check of the endpoint.
	LinkHealthCheck = "health-check"
)

// Remediation is how to fix a finding: console steps in the FAQ's words and
// the exact API calls.
type Remediation struct {
	Steps    []string `json:"steps,omitempty"`
	Commands []string `json:"commands,omitempty"`
}

// Finding is one diagnosed problem (or note), as in the report JSON.
type Finding struct {
	// ID is stable across runs (code + hash of services and attribute);
	// endpoint rows point at it (EndpointResult.FindingIDs).
	ID       string    `json:"id"`
	Code     string    `json:"code"`
	Check    string    `json:"check"`
	Severity *Severity `json:"severity"`
	// Subjects name what the finding is about: service keys ("shop/orders"),
	// endpoints ("shop/orders 172.20.1.10:8080"), nodes, groups, rules.
	Subjects []string `json:"subjects"`
	// Services are the service keys affected (for grouping and --service).
	Services []string `json:"services,omitempty"`
	// Attribute is what groups the finding's endpoints (the ENI's group
	// set, the deciding rule, the port, …); empty for findings about no
	// endpoint in particular.
	Attribute string `json:"attribute,omitempty"`
	// Affected counts the endpoints the finding explains and names the first few.
	Affected    *Affected   `json:"affected,omitempty"`
	Message     string      `json:"message"`
	Evidence    []string    `json:"evidence"`
	Chain       []Link      `json:"chain,omitempty"`
	Remediation Remediation `json:"remediation"`
	// Status is new, present or fixed against a baseline report; empty without one.
	Status string `json:"status,omitempty"`

	// affected are the endpoints behind Affected, linked to their rows by Run.
	affected []*Endpoint
}

// Level is the finding's severity (Info when unset).
func (f *Finding) Level() Severity {
	if f.Severity == nil {
		return Info
	}
	return *f.Severity
}

// Key identifies a finding across runs: code and subjects.
func (f *Finding) Key() string { return f.Code + "|" + strings.Join(f.Subjects, ",") }
