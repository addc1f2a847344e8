// Package fix turns a diagnosis into a fix plan — the ordered API calls
// that make the blocked endpoints reachable, least privilege first — proves
// the plan on a copy of the snapshot before offering it, and applies it
// through a Cloud (the SDK, or the fake cloud in tests) one call at a time,
// with an undo file written before the first write.
//
// The plan only ever adds: an MSE authorization (MSE then writes the
// inbound rule into the backend group, source = the gateway's group), or,
// where a group cannot reference the gateway's group, an inbound rule
// allowing the gateway's addresses. It never deletes or widens anything, and
// it changes only the groups the blocked endpoints sit in. Causes an
// addition cannot fix (a drop rule that wins, another VPC, the gateway's own
// egress) are listed as not planned, with the finding that explains them.
package fix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// SchemaVersion is the version of the plan JSON.
const SchemaVersion = 1

// Kinds of action.
const (
	// KindAuthorize is MSE AddSecurityGroupRule: an authorization, and the
	// inbound rule MSE writes with it.
	KindAuthorize = "mse-authorization"
	// KindGroupRule is ECS AuthorizeSecurityGroup from the gateway's group:
	// for a group whose authorization exists but whose rule is gone (MSE
	// would refuse a second authorization for the same range).
	KindGroupRule = "ecs-group-rule"
	// KindCIDRRule is ECS AuthorizeSecurityGroup from the gateway's
	// addresses: for groups that cannot reference the gateway's group
	// (enterprise groups on either side).
	KindCIDRRule = "ecs-cidr-rule"
)

// Param is one API parameter, in the order the command prints it.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Action is one API call of a plan.
type Action struct {
	Step    int     `json:"step"`
	Kind    string  `json:"kind"`
	Product string  `json:"product"` // mse | ecs
	API     string  `json:"api"`
	Params  []Param `json:"params"`
	// Region is where the call goes (the CLI's --region for MSE).
	Region          string `json:"region"`
	SecurityGroupID string `json:"securityGroupId"`
	Protocol        string `json:"protocol"`
	PortRange       string `json:"portRange"`
	// SourceGroupID or SourceCIDRs is what the new rule lets in.
	SourceGroupID string   `json:"sourceGroupId,omitempty"`
	SourceCIDRs   []string `json:"sourceCidrs,omitempty"`
	Description   string   `json:"description"`
	// Changes says what the call changes, in words.
	Changes string `json:"changes"`
	// Unblocks are the endpoints ("ns/name ip:port") it makes reachable.
	Unblocks []string `json:"unblocks"`
	// Command is the aliyun CLI line that makes the same call.
	Command string `json:"command"`
}

// Param returns the value of a parameter, "" when absent.
func (a *Action) Param(name string) string {
	for _, p := range a.Params {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Unplanned is a blocked endpoint the plan does not fix, and why.
type Unplanned struct {
	Endpoint string   `json:"endpoint"`
	Reason   string   `json:"reason"`
	Findings []string `json:"findings,omitempty"` // codes of the findings that explain it
}

// Simulation is the plan applied to a copy of the snapshot and diagnosed
// again (configuration only: probes of the old state prove nothing about
// the new one).
type Simulation struct {
	Before diagnose.Summary `json:"before"`
	After  diagnose.Summary `json:"after"`
	// Changes are the endpoints whose configured verdict changes.
	Changes []string `json:"changes"`
}

// Plan is what `gwdoctor fix` offers.
type Plan struct {
	SchemaVersion int    `json:"schemaVersion"`
	Gateway       string `json:"gateway"`
	Region        string `json:"region"`
	// Finding is the --finding selection, "" for every blocked endpoint.
	Finding    string      `json:"finding,omitempty"`
	Targets    []string    `json:"targets"`
	Actions    []*Action   `json:"actions"`
	Unplanned  []Unplanned `json:"unplanned"`
	Simulation *Simulation `json:"simulation,omitempty"`
}

// Complete reports whether the plan fixes every blocked endpoint it was
// asked about.
func (p *Plan) Complete() bool { return len(p.Unplanned) == 0 }

// Options select what to fix.
type Options struct {
	// Finding limits the plan to the endpoints of findings with this code,
	// slug or finding key ("" for every blocked endpoint).
	Finding string
	// Rehearsal plans for the lab, where nothing is sent to a region: a
	// snapshot without one still gets a plan (its commands are left out).
	Rehearsal bool
}

// Diagnose runs the whole catalog over s.
func Diagnose(ctx context.Context, s *snapshot.Snapshot) *diagnose.Report {
	return diagnose.Run(ctx, diagnose.NewView(s), checks.All())
}

// Build makes the plan for s, whose diagnosis is r, and proves it by
// simulation: actions that would not make their endpoints reachable are
// dropped (those endpoints are reported as not planned), and a plan that
// would make any other endpoint worse is refused with an error.
func Build(ctx context.Context, s *snapshot.Snapshot, r *diagnose.Report, opts Options) (*Plan, error) {
	p := &Plan{SchemaVersion: SchemaVersion, Gateway: s.Gateway.ID, Region: s.Region, Finding: opts.Finding,
		Targets: []string{}, Actions: []*Action{}, Unplanned: []Unplanned{}}
	selected, err := selectEndpoints(r, opts.Finding)
	if err != nil {
		return nil, err
	}
	explained := findingCodes(r)
	pl := newPlanner(s)
	for i := range r.Endpoints {
		e := &r.Endpoints[i]
		label := e.ID().Label()
		if e.Config != "deny" || (selected != nil && !selected[label]) {
			continue
		}
		p.Targets = append(p.Targets, label)
		if why := pl.add(e, label); why != "" {
			p.Unplanned = append(p.Unplanned, Unplanned{Endpoint: label, Reason: why, Findings: explained[label]})
		}
	}
	if s.Region == "" && !opts.Rehearsal && len(pl.actions) > 0 {
		for _, a := range pl.actions {
			for _, ep := range a.Unblocks {
				p.Unplanned = append(p.Unplanned, Unplanned{Endpoint: ep, Findings: explained[ep],
					Reason: "the snapshot names no region: write the gateway's region as region: in the snapshot (or collect with --live)"})
			}
		}
		pl.actions = nil
	}
	// Simulate; drop what does not work; simulate again (each round drops
	// at least one action, so this ends).
	before := r
	if len(s.Probes) > 0 || hasHealthChecks(s) {
		before = Diagnose(ctx, withoutProbes(s))
	}
	for {
		after, err := Simulate(ctx, s, pl.actions)
		if err != nil {
			return nil, err
		}
		cfg := configByLabel(after)
		var kept []*Action
		for _, a := range pl.actions {
			var ok []string
			for _, ep := range a.Unblocks {
				if cfg[ep] == "allow" {
					ok = append(ok, ep)
					continue
				}
				p.Unplanned = append(p.Unplanned, Unplanned{Endpoint: ep, Findings: explained[ep],
					Reason: fmt.Sprintf("no addition unblocks it: with the planned change (%s) the configuration still says %s; see the findings", a.Changes, orUnknown(cfg[ep]))})
			}
			if len(ok) > 0 {
				a.Unblocks = ok
				kept = append(kept, a)
			}
		}
		done := len(kept) == len(pl.actions)
		pl.actions = kept
		if done {
			p.Simulation = compare(before, after)
			if worse := worsened(before, after); len(worse) > 0 {
				return nil, fmt.Errorf("fix: the plan would make other endpoints worse (%s); it is not offered", strings.Join(worse, "; "))
			}
			break
		}
	}
	for i, a := range pl.actions {
		a.Step = i + 1
		if s.Region != "" {
			a.Command = a.cli()
		}
	}
	p.Actions = pl.actions
	slices.SortFunc(p.Unplanned, func(a, b Unplanned) int { return strings.Compare(a.Endpoint, b.Endpoint) })
	return p, nil
}

// selectEndpoints returns the labels of the endpoints of the findings sel
// selects (by id, code, slug or key), nil for every endpoint. A finding's
// endpoints are the rows pointing at it (findingIds): its subjects name
// only the first few.
func selectEndpoints(r *diagnose.Report, sel string) (map[string]bool, error) {
	if sel == "" {
		return nil, nil
	}
	ids := map[string]bool{}
	out := map[string]bool{}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.ID != sel && !strings.EqualFold(f.Code, sel) && f.Check != sel && f.Key() != sel {
			continue
		}
		ids[f.ID] = true
		for _, s := range f.Subjects {
			out[s] = true // findings without rows (hygiene) name endpoints here
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("--finding %s: no finding of the diagnosis has that id, code, slug or key", sel)
	}
	for i := range r.Endpoints {
		for _, id := range r.Endpoints[i].FindingIDs {
			if ids[id] {
				out[r.Endpoints[i].ID().Label()] = true
			}
		}
	}
	return out, nil
}

// findingCodes indexes the codes of the findings explaining each endpoint.
func findingCodes(r *diagnose.Report) map[string][]string {
	codeOf := map[string]string{}
	for i := range r.Findings {
		codeOf[r.Findings[i].ID] = r.Findings[i].Code
	}
	out := map[string][]string{}
	add := func(label, code string) {
		if code != "" && !slices.Contains(out[label], code) {
			out[label] = append(out[label], code)
		}
	}
	for i := range r.Endpoints {
		label := r.Endpoints[i].ID().Label()
		for _, id := range r.Endpoints[i].FindingIDs {
			add(label, codeOf[id])
		}
	}
	for i := range r.Findings {
		for _, s := range r.Findings[i].Subjects {
			add(s, r.Findings[i].Code)
		}
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// planner collects actions, one per (kind, group, port).
type planner struct {
	s       *snapshot.Snapshot
	groups  map[string]*snapshot.SecurityGroup
	actions []*Action
	byKey   map[string]*Action
}

func newPlanner(s *snapshot.Snapshot) *planner {
	pl := &planner{s: s, groups: map[string]*snapshot.SecurityGroup{}, byKey: map[string]*Action{}}
	for i := range s.SecurityGroups {
		pl.groups[s.SecurityGroups[i].ID] = &s.SecurityGroups[i]
	}
	return pl
}

func groupType(g *snapshot.SecurityGroup) string {
	if g == nil || g.Type == "" {
		return snapshot.GroupTypeNormal
	}
	return g.Type
}

// add plans the least change that lets the gateway reach e, or says why
// there is none it may make.
func (pl *planner) add(e *diagnose.EndpointResult, label string) string {
	s := pl.s
	switch {
	case e.Reason == "egress":
		return "the gateway's own security group blocks the traffic outbound; it is managed by MSE and gwdoctor does not change it"
	case len(e.Groups) == 0:
		return "the endpoint's network interface has no security group in the data"
	case e.Port < 1 || e.Port > 65535:
		return "the endpoint has no TCP port"
	}
	gw := pl.groups[s.Gateway.SecurityGroupID]
	// The group to change: the ENI's first group of the gateway's type.
	group := e.Groups[0]
	for _, id := range e.Groups {
		if groupType(pl.groups[id]) == groupType(gw) {
			group = id
			break
		}
	}
	g := pl.groups[group]
	if g == nil {
		return "the endpoint's security group " + group + " is not in the data"
	}
	if g.VpcID != "" && s.Gateway.VpcID != "" && g.VpcID != s.Gateway.VpcID {
		return fmt.Sprintf("%s is in %s, the gateway in %s: no security-group rule connects VPCs", group, g.VpcID, s.Gateway.VpcID)
	}
	ports := fmt.Sprintf("%d/%d", e.Port, e.Port)
	kind := KindAuthorize
	switch {
	case groupType(g) == snapshot.GroupTypeEnterprise || groupType(gw) == snapshot.GroupTypeEnterprise:
		if len(s.Gateway.Addresses) == 0 {
			return "an enterprise group cannot reference the gateway's group, and the data holds no gateway addresses to allow instead"
		}
		kind = KindCIDRRule
	case pl.authorized(group, e.Port):
		kind = KindGroupRule
	}
	key := kind + "|" + group + "|" + ports
	a := pl.byKey[key]
	if a == nil {
		a = pl.newAction(kind, group, ports)
		pl.byKey[key] = a
		pl.actions = append(pl.actions, a)
	}
	a.Unblocks = append(a.Unblocks, label)
	return ""
}

// authorized reports whether an MSE authorization of group covers port.
func (pl *planner) authorized(group string, port int) bool {
	for _, a := range pl.s.Gateway.Authorizations {
		if a.SecurityGroupID != group || (a.Protocol != "" && !strings.EqualFold(a.Protocol, snapshot.ProtocolTCP) && !strings.EqualFold(a.Protocol, snapshot.ProtocolAll)) {
			continue
		}
		if pr, err := snapshot.ParsePortRange(a.PortRange); err == nil && pr.Contains(port) {
			return true
		}
	}
	return false
}

func (pl *planner) newAction(kind, group, ports string) *Action {
	s := pl.s
	a := &Action{Kind: kind, Region: s.Region, SecurityGroupID: group, Protocol: snapshot.ProtocolTCP, PortRange: ports,
		Description: "gwdoctor fix: MSE gateway " + s.Gateway.ID}
	switch kind {
	case KindAuthorize:
		a.Product, a.API, a.SourceGroupID = "mse", "AddSecurityGroupRule", s.Gateway.SecurityGroupID
		a.Params = []Param{{"GatewayUniqueId", s.Gateway.ID}, {"SecurityGroupId", group}, {"PortRange", ports}, {"Description", a.Description}}
		a.Changes = fmt.Sprintf("authorizes %s for TCP %s on gateway %s; MSE adds the inbound rule (accept TCP %s from %s) to %s", group, ports, s.Gateway.ID, ports, s.Gateway.SecurityGroupID, group)
	case KindGroupRule:
		a.Product, a.API, a.SourceGroupID = "ecs", "AuthorizeSecurityGroup", s.Gateway.SecurityGroupID
		a.Changes = fmt.Sprintf("adds to %s the inbound rule its authorization should have written: accept TCP %s from %s, priority 1", group, ports, s.Gateway.SecurityGroupID)
	case KindCIDRRule:
		a.Product, a.API, a.SourceCIDRs = "ecs", "AuthorizeSecurityGroup", append([]string(nil), s.Gateway.Addresses...)
		a.Changes = fmt.Sprintf("adds to %s an inbound rule: accept TCP %s from the gateway's addresses %s, priority 1 (an enterprise group cannot reference the gateway's group)", group, ports, strings.Join(a.SourceCIDRs, ", "))
	}
	if a.Product == "ecs" {
		a.Params = []Param{{"RegionId", s.Region}, {"SecurityGroupId", group}}
		for i, src := range a.sources() {
			n := fmt.Sprintf("Permissions.%d.", i+1)
			srcKey := "SourceGroupId"
			if a.Kind == KindCIDRRule {
				srcKey = "SourceCidrIp"
			}
			a.Params = append(a.Params, Param{n + "IpProtocol", "TCP"}, Param{n + "PortRange", ports}, Param{n + srcKey, src},
				Param{n + "Policy", "accept"}, Param{n + "Priority", "1"}, Param{n + "Description", a.Description})
		}
		// The same call gets the same token: a retry after an unknown
		// outcome cannot add the rule twice.
		a.Params = append(a.Params, Param{"ClientToken", a.token()})
	}
	return a
}

// sources are what the rules let in: the gateway's group, or its addresses.
func (a *Action) sources() []string {
	if a.Kind == KindCIDRRule {
		return a.SourceCIDRs
	}
	return []string{a.SourceGroupID}
}

func (a *Action) token() string {
	h := sha256.Sum256([]byte(strings.Join(append([]string{a.Kind, a.Region, a.SecurityGroupID, a.PortRange}, a.sources()...), "\x00")))
	return "gwdoctor-" + hex.EncodeToString(h[:12])
}

// cli is the aliyun CLI line of the call.
func (a *Action) cli() string {
	var b strings.Builder
	fmt.Fprintf(&b, "aliyun %s %s", a.Product, a.API)
	if a.Product == "mse" {
		fmt.Fprintf(&b, " --region %s", quote(a.Region))
	}
	for _, p := range a.Params {
		fmt.Fprintf(&b, " --%s %s", p.Name, quote(p.Value))
	}
	return b.String()
}

// quote makes a CLI argument safe to paste into a POSIX shell.
func quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Effect applies the action's change to s, as the cloud would: MSE's
// authorization comes with its inbound rule (source = the gateway's group,
// accept, priority 1 — the console shows no priority; 1 is what MSE writes
// as far as gwdoctor knows). authID is the authorization's id when known.
func (a *Action) Effect(s *snapshot.Snapshot, authID string) {
	if a.Kind == KindAuthorize {
		s.Gateway.Authorizations = append(s.Gateway.Authorizations, snapshot.Authorization{ID: authID,
			SecurityGroupID: a.SecurityGroupID, PortRange: a.PortRange, Protocol: snapshot.ProtocolTCP, Description: a.Description})
	}
	for i := range s.SecurityGroups {
		g := &s.SecurityGroups[i]
		if g.ID != a.SecurityGroupID {
			continue
		}
		for _, src := range a.sources() {
			r := snapshot.Rule{Direction: snapshot.DirectionIngress, Policy: snapshot.PolicyAccept, Priority: 1,
				Protocol: snapshot.ProtocolTCP, PortRange: a.PortRange, Description: a.Description}
			if a.Kind == KindCIDRRule {
				r.SourceCidr = src
			} else {
				r.SourceGroupID = src
			}
			g.Rules = append(g.Rules, r)
		}
	}
}

// Apply returns a copy of s with every action's effect.
func Apply(s *snapshot.Snapshot, actions []*Action) (*snapshot.Snapshot, error) {
	c, err := clone(s)
	if err != nil {
		return nil, err
	}
	for _, a := range actions {
		a.Effect(c, "")
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("fix: the planned state does not validate: %w", err)
	}
	return c, nil
}

// Simulate diagnoses s with the actions applied, without probes.
func Simulate(ctx context.Context, s *snapshot.Snapshot, actions []*Action) (*diagnose.Report, error) {
	c, err := Apply(withoutProbes(s), actions)
	if err != nil {
		return nil, err
	}
	return Diagnose(ctx, c), nil
}

func clone(s *snapshot.Snapshot) (*snapshot.Snapshot, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var c snapshot.Snapshot
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// withoutProbes drops the observations of the old state (probes, the
// gateway's health-check view): they prove nothing about the planned one.
func withoutProbes(s *snapshot.Snapshot) *snapshot.Snapshot {
	c := *s
	c.Probes = nil
	if hasHealthChecks(s) {
		c.Services = slices.Clone(s.Services)
		for i := range c.Services {
			c.Services[i].HealthCheck = nil
		}
	}
	return &c
}

func hasHealthChecks(s *snapshot.Snapshot) bool {
	return slices.ContainsFunc(s.Services, func(sv snapshot.Service) bool { return sv.HealthCheck != nil })
}

func configByLabel(r *diagnose.Report) map[string]string {
	out := make(map[string]string, len(r.Endpoints))
	for i := range r.Endpoints {
		out[r.Endpoints[i].ID().Label()] = r.Endpoints[i].Config
	}
	return out
}

// rank orders configured verdicts: a lower rank after than before is worse.
func rank(config string) int {
	switch config {
	case "allow":
		return 2
	case "unknown":
		return 1
	}
	return 0
}

func worsened(before, after *diagnose.Report) []string {
	now := configByLabel(after)
	var out []string
	for i := range before.Endpoints {
		e := &before.Endpoints[i]
		label := e.ID().Label()
		if c, ok := now[label]; !ok || rank(c) < rank(e.Config) {
			out = append(out, fmt.Sprintf("%s: %s → %s", label, e.Config, orUnknown(c)))
		}
	}
	return out
}

func compare(before, after *diagnose.Report) *Simulation {
	sim := &Simulation{Before: before.Summary, After: after.Summary, Changes: []string{}}
	now := configByLabel(after)
	for i := range before.Endpoints {
		e := &before.Endpoints[i]
		label := e.ID().Label()
		if c := now[label]; c != e.Config {
			sim.Changes = append(sim.Changes, fmt.Sprintf("%s: %s → %s", label, e.Config, orUnknown(c)))
		}
	}
	return sim
}
