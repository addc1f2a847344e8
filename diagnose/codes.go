package diagnose

import (
	"fmt"
	"strings"
)

// Severity is a finding's level. Severity belongs to the code (DESIGN.md).
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "info"
}

// MarshalText makes severities appear as words in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the words back.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info":
		return Info, nil
	case "warning", "warn":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return Info, fmt.Errorf("unknown severity %q (want info, warning or error)", s)
}

// Code is one entry of the check catalog. Codes are stable and never reused.
type Code struct {
	ID   string // "GWD102"
	Slug string // "wrong-node"; the JSON "check" field
	// Severities lists the severities the code may carry; the first is the
	// default. Two entries only where DESIGN.md's catalog gives two.
	Severities []Severity
	// Title is a one-line summary of when the code fires.
	Title string
}

// Default is the code's default severity.
func (c Code) Default() Severity { return c.Severities[0] }

// Allows reports whether sev is one of the code's severities.
func (c Code) Allows(sev Severity) bool {
	for _, s := range c.Severities {
		if s == sev {
			return true
		}
	}
	return false
}

// The catalog codes, as in DESIGN.md. Checks refer to them by these names.
const (
	CodeCheckSkipped         = "GWD001"
	CodeVerdictUnknown       = "GWD002"
	CodeMissingAuthorization = "GWD101"
	CodeWrongNode            = "GWD102"
	CodeMultipleGroups       = "GWD103"
	CodePortChanged          = "GWD104"
	CodeServiceDown          = "GWD105"
	CodeGroupTypeMismatch    = "GWD106"
	CodeDenyRuleShadows      = "GWD107"
	CodeVPCMismatch          = "GWD108"
	CodeAuthorizationSync    = "GWD109"
	CodeInvalidRule          = "GWD111"
	CodeGatewayEgress        = "GWD112"
	CodeZonePartial          = "GWD113"
	CodeTrafficFiltered      = "GWD201"
	CodeContradictory        = "GWD202"
	CodePartialReachability  = "GWD203"
	CodeNodePoolDrift        = "GWD301"
	CodeBroadAuthorization   = "GWD302"
	CodeStaleAuthorization   = "GWD303"
	CodeServerlessDrift      = "GWD304"
)

// Catalog is every code, in code order.
var Catalog = []Code{
	{CodeCheckSkipped, "check-skipped", []Severity{Info}, "a check's inputs are missing; says which"},
	{CodeVerdictUnknown, "verdict-unknown", []Severity{Warning}, "an endpoint's reachability cannot be decided from the data"},
	{CodeMissingAuthorization, "missing-authorization", []Severity{Error}, "no authorization and no gateway-sourced accept rule on any group of the endpoint's node"},
	{CodeWrongNode, "wrong-node", []Severity{Error}, "authorizations exist, but for groups the endpoint's node is not in"},
	{CodeMultipleGroups, "multiple-security-groups", []Severity{Error, Warning}, "the node's ENIs carry several groups and the authorization covers only some"},
	{CodePortChanged, "port-changed", []Severity{Error}, "the endpoint's groups are authorized, but not for the port it now listens on"},
	{CodeServiceDown, "service-down", []Severity{Error}, "no ready endpoints, a pod not ready, or a probe refused on an allowed port"},
	{CodeGroupTypeMismatch, "security-group-type-mismatch", []Severity{Error}, "gateway group type differs from the backend group type"},
	{CodeDenyRuleShadows, "deny-rule-shadows", []Severity{Error}, "an accept from the gateway is overridden by a drop of higher or equal priority"},
	{CodeVPCMismatch, "vpc-mismatch", []Severity{Error}, "the backend's group or node is in a different VPC from the gateway"},
	{CodeAuthorizationSync, "authorization-out-of-sync", []Severity{Error, Warning}, "an authorization without its inbound rule, or a gateway rule without its authorization"},
	{CodeInvalidRule, "invalid-rule", []Severity{Warning}, "a rule that cannot take effect as written"},
	{CodeGatewayEgress, "gateway-egress-blocks", []Severity{Error}, "the gateway's own security group denies the traffic on egress"},
	{CodeZonePartial, "zone-partial", []Severity{Error}, "the gateway is let in from some of its zones (vSwitch CIDRs) and not from others"},
	{CodeTrafficFiltered, "traffic-filtered", []Severity{Error, Warning}, "configuration allows, but a probe timed out: error from the gateway's path, warning from elsewhere"},
	{CodeContradictory, "contradictory-evidence", []Severity{Warning}, "configuration denies, but a probe connected"},
	{CodePartialReachability, "partial-reachability", []Severity{Error}, "some endpoints of a service are reachable and others not"},
	{CodeNodePoolDrift, "node-pool-drift", []Severity{Warning}, "a node pool's configured groups lack the authorization"},
	{CodeBroadAuthorization, "broad-authorization", []Severity{Info}, "an authorization spans 1/65535"},
	{CodeStaleAuthorization, "stale-authorization", []Severity{Warning}, "an authorization names a group that no longer exists or is on no node"},
	{CodeServerlessDrift, "serverless-default-drift", []Severity{Warning}, "the default group new ECI/ACS pods get is not authorized for the service's port"},
}

var codeIndex = func() map[string]Code {
	m := make(map[string]Code, 2*len(Catalog))
	for _, c := range Catalog {
		m[c.ID] = c
		m[c.Slug] = c
	}
	return m
}()

// LookupCode finds a code by ID ("GWD102", case-insensitive) or slug ("wrong-node").
func LookupCode(idOrSlug string) (Code, bool) {
	s := strings.TrimSpace(idOrSlug)
	if c, ok := codeIndex[strings.ToUpper(s)]; ok {
		return c, true
	}
	c, ok := codeIndex[strings.ToLower(s)]
	return c, ok
}
