package checks

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Evidence lists are capped so that a finding stays readable (and a report
// of 100,000 endpoints stays small): the cap is stated in the list.
const (
	maxConsidered = 8
	maxListed     = diagnose.MaxListed
)

// causeGroups returns, for code, the blocked endpoints' causes grouped by
// service and key, in snapshot order: one finding per group.
func (f *facts) causeGroups(code string) [][]*cause {
	index := map[string]int{}
	var out [][]*cause
	for _, c := range f.causes {
		if c == nil || c.code != code || c.ep.Verdict != diagnose.VerdictBlocked {
			continue
		}
		// Backends of different kinds, or serverless pods whose groups came
		// from different places, need different words and fixes.
		k := c.ep.ServiceKey + "\x00" + c.key + f.kindAttribute(c.ep)
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], c)
	}
	return out
}

// coveringGrants returns the grants of covering that cover (proto, port),
// memoised per flow: every wrong-node endpoint on the port shares one slice
// (an estate with 500 authorizations would otherwise copy 500 grants per
// endpoint). Called only while classifying, which runs on one goroutine.
func (f *facts) coveringGrants(proto string, port int, covering []string) []grant {
	key := proto + "/" + strconv.Itoa(port)
	if gs, ok := f.coveringGrantsMemo[key]; ok {
		return gs
	}
	var out []grant
	for _, g := range covering {
		for _, gr := range f.grantsByGroup[g] {
			if gr.covers(proto, port) {
				out = append(out, gr)
			}
		}
	}
	if f.coveringGrantsMemo == nil {
		f.coveringGrantsMemo = map[string][]grant{}
	}
	f.coveringGrantsMemo[key] = out
	return out
}

// ruleName is "sg-a/sgr-1", or "sg-a/#3" for a rule without an id.
func ruleName(r secgroup.RuleRef) string {
	if r.RuleID != "" {
		return r.GroupID + "/" + r.RuleID
	}
	return fmt.Sprintf("%s/#%d", r.GroupID, r.Index)
}

// ruleText describes a rule: "sg-a/sgr-1 (priority 1 drop TCP 9200/9200 from 0.0.0.0/0)".
// Rules recur in many findings: the text is built once per rule.
func (f *facts) ruleText(r secgroup.RuleRef) string {
	if r.Rule == nil {
		return ruleName(r)
	}
	if s, ok := f.texts.Load(r.Rule); ok {
		return s.(string)
	}
	s := ruleName(r) + " (" + ruleBody(r.Rule) + ")"
	f.texts.Store(r.Rule, s)
	return s
}

func ruleBody(r *snapshot.Rule) string {
	prio := r.Priority
	if prio <= 0 {
		prio = 1
	}
	ports := r.PortRange
	if r.PortRangeListID != "" {
		ports = "port list " + r.PortRangeListID
	}
	peer := ""
	switch {
	case r.SourceCidr != "":
		peer = " from " + r.SourceCidr
	case r.SourcePrefixListID != "" && strings.EqualFold(r.Direction, snapshot.DirectionIngress):
		peer = " from prefix list " + r.SourcePrefixListID
	case r.SourceGroupID != "":
		peer = " from " + r.SourceGroupID
	case r.DestCidr != "":
		peer = " to " + r.DestCidr
	case r.DestGroupID != "":
		peer = " to " + r.DestGroupID
	}
	dir := ""
	if strings.EqualFold(r.Direction, snapshot.DirectionEgress) {
		dir = "egress "
	}
	return fmt.Sprintf("%spriority %d %s %s %s%s", dir, prio, cmp.Or(r.Policy, snapshot.PolicyAccept), cmp.Or(r.Protocol, snapshot.ProtocolTCP), ports, peer)
}

func orNone(s string) string {
	if s == "" {
		return "(no id)"
	}
	return s
}

// groupDesc is "sg-a (normal, vpc-1)", or "sg-a (not in the snapshot)".
func (f *facts) groupDesc(id string) string {
	g := f.v.Groups[id]
	if g == nil {
		return id + " (not in the snapshot)"
	}
	parts := []string{groupType(g)}
	if g.VpcID != "" {
		parts = append(parts, g.VpcID)
	}
	if g.Name != "" {
		parts = append([]string{g.Name}, parts...)
	}
	return id + " (" + strings.Join(parts, ", ") + ")"
}

func (f *facts) groupsDesc(ids []string) string {
	if len(ids) == 0 {
		return "no groups"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = f.groupDesc(id)
	}
	return strings.Join(out, ", ")
}

// nodeDesc is "cn-hangzhou.192.168.1.10 (instance i-1, pool np-a, vpc-1)".
func nodeDesc(n *snapshot.Node) string {
	var parts []string
	if n.Name != "" && n.InstanceID != "" {
		parts = append(parts, "instance "+n.InstanceID)
	}
	if n.NodePool != "" {
		parts = append(parts, "pool "+n.NodePool)
	}
	if n.VpcID != "" {
		parts = append(parts, n.VpcID)
	}
	if len(parts) == 0 {
		return diagnose.NodeName(n)
	}
	return diagnose.NodeName(n) + " (" + strings.Join(parts, ", ") + ")"
}

// instanceDesc is "i-erp01 (erp-01, vpc-prod)": an ECS instance in ECS words.
func instanceDesc(n *snapshot.Node) string {
	var parts []string
	if n.Name != "" && n.InstanceID != "" {
		parts = append(parts, n.Name)
	}
	if n.VpcID != "" {
		parts = append(parts, n.VpcID)
	}
	id := cmp.Or(n.InstanceID, n.Name)
	if len(parts) == 0 {
		return id
	}
	return id + " (" + strings.Join(parts, ", ") + ")"
}

func resolutionText(ep *diagnose.Endpoint) string {
	switch ep.Resolution {
	case diagnose.ResolvedByIP:
		return "holds " + ep.Endpoint.IP
	case diagnose.ResolvedByPrefix:
		return "an ENI prefix contains " + ep.Endpoint.IP
	case diagnose.ResolvedByNodePrimary:
		return "the node's primary ENI: pod IPs are routed to the node"
	}
	return ep.Resolution
}

func eniKind(e *snapshot.ENI) string {
	if e.Primary {
		return "primary"
	}
	return "secondary"
}

// gatewayLine is the evidence line for the gateway's side.
func (f *facts) gatewayLine() string {
	s := "gateway " + f.gwID + " sends from its group " + f.groupDesc(f.gwGroup)
	if a := f.v.Snapshot.Gateway.Addresses; len(a) > 0 {
		s += ", addresses " + strings.Join(a, ", ")
	}
	return s
}

// endpointLines describe where the endpoint runs: pod, node, ENI, groups.
func (f *facts) endpointLines(ep *diagnose.Endpoint) []string {
	who := "endpoint " + ep.Label()
	if ep.Endpoint.Pod != "" && !isServerless(ep) {
		who += " (pod " + ep.Endpoint.Pod + ")"
	}
	if !ep.Endpoint.IsReady() {
		who += ", not ready"
	}
	var out []string
	switch {
	case isServerless(ep):
		out = append(out, who+" is "+backendNoun(ep))
	case ep.Kind == snapshot.BackendECS && ep.Node != nil:
		out = append(out, who+" is ECS instance "+instanceDesc(ep.Node))
	case ep.Node != nil:
		out = append(out, who+" runs on node "+nodeDesc(ep.Node))
	default:
		out = append(out, who)
	}
	if ep.ENI != nil {
		out = append(out, fmt.Sprintf("ENI %s (%s; %s) carries %s", ep.ENI.ID, eniKind(ep.ENI), resolutionText(ep), f.groupsDesc(ep.GroupIDs)))
	}
	if l := f.originLine(ep); l != "" {
		out = append(out, l)
	}
	return out
}

// decisionLines explain the configuration's decision: the deciding rule,
// the notes, and the rules that bear on the flow in evaluation order — those
// that match or may match it, and those whose source is the gateway (so a
// gateway rule on another port shows why it does not apply). It reads the
// evaluator's compiled rules (the same matching as Evaluate and Explain)
// rather than calling Explain, which builds a reason for every rule of every
// group: a group set holds up to 1,000 rules and a large report thousands of
// findings.
func (f *facts) decisionLines(ep *diagnose.Endpoint) []string {
	if ep.ENI == nil {
		return []string{"configuration: unknown (" + cmp.Or(ep.Unresolved, "no ENI") + ")"}
	}
	// The lines depend only on the group set and the flow: memoised, as
	// endpoints of many findings share them. Callers copy, never modify.
	key := strings.Join(ep.GroupIDs, ",") + "|" + protocol(ep) + "|" + strconv.Itoa(ep.Endpoint.Port)
	if lines, ok := f.decisions.Load(key); ok {
		return lines.([]string)
	}
	lines := f.buildDecisionLines(ep)
	f.decisions.Store(key, lines)
	return lines
}

func (f *facts) buildDecisionLines(ep *diagnose.Endpoint) []string {
	d := ep.Decision
	proto, port := protocol(ep), ep.Endpoint.Port
	head := fmt.Sprintf("configuration: %s for %s/%d (%s)", d.Verdict, proto, port, diagnose.ReasonName(d.Reason))
	switch {
	case d.Deciding != nil:
		head += ", deciding rule " + f.ruleText(*d.Deciding)
	case d.Reason == secgroup.ReasonDefaultDeny && d.Verdict == secgroup.Deny:
		head += ": no rule matches, and what nothing allows is denied"
	case d.Verdict == secgroup.Partial:
		head += ": allowed from some pieces of the gateway's addresses, denied from others (see the notes)"
	}
	out := []string{head}
	for _, n := range d.Notes {
		out = append(out, "note: "+n)
	}
	type row struct {
		r     *secgroup.RuleView
		match secgroup.Match
		why   string
	}
	rows := make([]row, 0, 2*maxConsidered)
	total, offPort := 0, 0
	var unreadable []string
	for _, g := range ep.GroupIDs {
		rules, ok := f.ingress[g]
		if !ok {
			unreadable = append(unreadable, g)
			continue
		}
		total += len(rules)
		for k := range rules {
			r := &rules[k]
			if r.Source == secgroup.NoMatch {
				continue
			}
			pm := secgroup.Matches
			if r.Protocol != snapshot.ProtocolAll && !strings.EqualFold(r.Protocol, proto) {
				pm = secgroup.NoMatch
			} else if !r.PortsOK {
				pm = secgroup.MaybeMatches
			} else if !r.Ports.Contains(port) {
				pm = secgroup.NoMatch
			}
			if pm == secgroup.NoMatch {
				if r.Source != secgroup.Matches {
					continue // neither on the flow nor from the gateway
				}
				if offPort++; offPort > maxConsidered {
					continue // counted, not listed
				}
			}
			rows = append(rows, row{r: r, match: pm})
		}
	}
	if len(unreadable) > 0 {
		out = append(out, "rules of "+strings.Join(unreadable, ", ")+" are not in the data")
	}
	if len(rows) == 0 {
		if total == 0 && len(unreadable) == len(ep.GroupIDs) {
			return out
		}
		if total == 0 {
			return append(out, "rules considered: none (the ENI's groups "+strings.Join(ep.GroupIDs, ", ")+" have no ingress rules)")
		}
		return append(out, fmt.Sprintf("rules considered: %d in %s; none matches the flow and none names the gateway as source", total, strings.Join(ep.GroupIDs, ", ")))
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if a.r.Priority != b.r.Priority {
			return a.r.Priority - b.r.Priority
		}
		if a.r.Drop != b.r.Drop {
			if a.r.Drop {
				return -1
			}
			return 1
		}
		return 0
	})
	bearing := len(rows) + max(0, offPort-maxConsidered)
	out = append(out, fmt.Sprintf("rules bearing on the flow (%d of the %d rules in the ENI's groups, in evaluation order):", bearing, total))
	for i, x := range rows {
		if i == maxConsidered {
			out = append(out, fmt.Sprintf("  … and %d more", bearing-maxConsidered))
			break
		}
		match := x.match
		portWhy := ""
		switch {
		case x.match == secgroup.NoMatch:
			portWhy = fmt.Sprintf("port %d outside %s", port, x.r.Ports)
			if x.r.Protocol != snapshot.ProtocolAll && !strings.EqualFold(x.r.Protocol, proto) {
				portWhy = "protocol " + x.r.Protocol + " does not match " + proto
			}
		case !x.r.PortsOK:
			portWhy = "port list " + x.r.PortListID + " not expanded"
		case x.r.Ports.All:
			portWhy = "all ports"
		default:
			portWhy = fmt.Sprintf("port %d inside %s", port, x.r.Ports)
		}
		if match == secgroup.Matches && x.r.Source == secgroup.MaybeMatches {
			match = secgroup.MaybeMatches
		}
		mark := ""
		if d.Deciding != nil && x.r.Ref.Rule == d.Deciding.Rule {
			mark = " [deciding]"
		} else if d.Deciding != nil && match == secgroup.Matches {
			mark = " (a higher-ranked rule decides first)"
		}
		out = append(out, fmt.Sprintf("  %s: %s — %s; %s%s", f.ruleText(x.r.Ref), match, portWhy, x.r.SourceWhy, mark))
	}
	return out
}

// probeLine says what the endpoint's probe shows and what its vantage
// point can prove; "" without a probe.
func probeLine(ep *diagnose.Endpoint) string {
	p := ep.Probe
	if p == nil {
		return ""
	}
	from := cmp.Or(p.From, "an unnamed vantage point")
	s := fmt.Sprintf("probe of %s from %s: %s", ep.Target(), from, p.State)
	if p.At != "" {
		s += " at " + p.At
	}
	s += " — " + probeMeaning(p)
	return s
}

// healthLine is the evidence line for the gateway's own health check of
// the endpoint: what it says, or why it is no evidence; "" when not read.
func healthLine(ep *diagnose.Endpoint) string {
	h := ep.Health
	switch h.State {
	case "":
		return ""
	case diagnose.HealthPassing:
		return "the gateway's own health check passes " + ep.Target() + " (" + healthAt(h) + "): the gateway reaches it and the app answers the check"
	case diagnose.HealthFailing:
		return "the gateway's own health check fails " + ep.Target() + " (" + healthAt(h) + "): the gateway gets no answer it accepts, so it sends the endpoint no traffic"
	}
	return "the gateway's own health check is no evidence here: " + h.Why
}

func healthAt(h diagnose.HealthEvidence) string {
	if h.At == "" {
		return "vantage " + diagnose.ProbeFromHealthCheck
	}
	return "vantage " + diagnose.ProbeFromHealthCheck + ", read at " + h.At
}

func probeMeaning(p *snapshot.Probe) string {
	gw := p.From == diagnose.ProbeFromGateway
	switch p.State {
	case snapshot.ProbeOpen:
		if gw {
			return "the gateway's path is open and something listens"
		}
		return "the host accepts connections from this vantage point; it does not prove the gateway's path"
	case snapshot.ProbeRefused:
		return "the host answered with a reset: nothing listens on the port (this holds from any vantage point)"
	case snapshot.ProbeFiltered:
		if gw {
			return "no answer from the gateway's network: something on the path drops the traffic silently"
		}
		return "no answer from this vantage point; it proves nothing about the gateway's path (probe from the gateway's vSwitch to confirm)"
	case snapshot.ProbeUnreachable:
		if gw {
			return "ICMP unreachable or no route from the gateway's network"
		}
		return "unreachable from this vantage point; it proves nothing about the gateway's path"
	}
	if p.Error != "" {
		return "the probe failed: " + p.Error
	}
	return "the probe failed"
}

// listEndpoints is the evidence line naming a group's endpoints (capped).
func listEndpoints(cs []*cause) string {
	labels := make([]string, 0, min(len(cs), maxListed))
	for i, c := range cs {
		if i == maxListed {
			break
		}
		l := c.ep.Target()
		if c.ep.Endpoint.Pod != "" {
			l += " (" + c.ep.Endpoint.Pod + ")"
		}
		labels = append(labels, l)
	}
	s := fmt.Sprintf("affected endpoints (%d): %s", len(cs), strings.Join(labels, ", "))
	if len(cs) > maxListed {
		s += fmt.Sprintf(", … and %d more", len(cs)-maxListed)
	}
	return s
}

// subjects lists the service, the first endpoints and their nodes, and the
// first extra subjects, once each (bounded: the affected endpoints are
// counted in Finding.Affected and linked from their rows).
func subjects(cs []*cause, extra ...string) []string {
	out := []string{cs[0].ep.ServiceKey}
	for _, c := range cs[:min(len(cs), diagnose.MaxListed)] {
		out = append(out, c.ep.Label())
	}
	nodes := []string{}
	for _, c := range cs {
		if len(nodes) == diagnose.MaxListed {
			break
		}
		if n := c.ep.NodeLabel(); n != "" && !slices.Contains(nodes, n) {
			nodes = append(nodes, n)
		}
	}
	out = append(out, nodes...)
	added := 0
	for _, e := range extra {
		if added == diagnose.MaxListed {
			break
		}
		if e != "" && !slices.Contains(out, e) {
			out = append(out, e)
			added++
		}
	}
	return out
}

// endpointFinding assembles the parts every per-endpoint finding shares:
// subjects, services, the endpoint/ENI/decision/probe evidence of the first
// endpoint, and the affected list when there are several.
func (f *facts) endpointFinding(cs []*cause, code string, sev *diagnose.Severity, message string, specific []string, extraSubjects ...string) diagnose.Finding {
	first := cs[0].ep
	ev := append([]string{}, specific...)
	ev = append(ev, f.endpointLines(first)...)
	ev = append(ev, f.gatewayLine())
	ev = append(ev, f.decisionLines(first)...)
	if l := probeLine(first); l != "" {
		ev = append(ev, l)
	}
	if len(cs) > 1 {
		ev = append(ev, listEndpoints(cs))
	}
	fd := diagnose.Finding{
		Code:      code,
		Severity:  sev,
		Subjects:  subjects(cs, extraSubjects...),
		Services:  []string{first.ServiceKey},
		Attribute: cs[0].key + f.kindAttribute(first),
		Message:   message,
		Evidence:  ev,
	}
	eps := make([]*diagnose.Endpoint, len(cs))
	for i, c := range cs {
		eps[i] = c.ep
	}
	fd.SetAffected(eps)
	return fd
}

// isAre is the verb for who(cs).
func isAre(cs []*cause) string { return verb(cs, "is", "are") }

func verb(cs []*cause, one, many string) string {
	if len(cs) == 1 {
		return one
	}
	return many
}

// who names the endpoint(s) of a group for messages.
func who(cs []*cause) string {
	ep := cs[0].ep
	if len(cs) == 1 {
		return ep.Label()
	}
	return fmt.Sprintf("%d endpoints of %s", len(cs), ep.ServiceKey) //words:never-one (one is named above)
}

// chain builds the standard path gateway-group → authorization → rule →
// backend-group → ENI → node → pod for an endpoint, marking broken the hop
// of kind brokenKind. auth and rule may be empty ("none").
func (f *facts) chain(ep *diagnose.Endpoint, auth, authDetail, rule, ruleDetail, brokenKind, brokenDetail string) []diagnose.Link {
	// Where the configuration allows, the path shows what lets it through.
	if auth == "" && rule == "" && ep.Decision.Verdict == secgroup.Allow {
		if d := ep.Decision.Deciding; d != nil {
			rule, ruleDetail = ruleName(*d), ruleBody(d.Rule)
			auth = f.authIDsFor(d.GroupID)
		} else {
			rule = diagnose.ReasonName(ep.Decision.Reason)
		}
	}
	links := []diagnose.Link{
		{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: "gateway " + f.gwID},
		{Kind: diagnose.LinkAuthorization, ID: cmp.Or(auth, "none"), Detail: authDetail},
		{Kind: diagnose.LinkRule, ID: cmp.Or(rule, "none"), Detail: ruleDetail},
		{Kind: diagnose.LinkBackendGroup, ID: cmp.Or(strings.Join(ep.GroupIDs, ","), "none")},
	}
	if ep.ENI != nil {
		links = append(links, diagnose.Link{Kind: diagnose.LinkENI, ID: ep.ENI.ID, Detail: eniKind(ep.ENI)})
	}
	if n := ep.NodeLabel(); n != "" {
		link := diagnose.Link{Kind: diagnose.LinkNode, ID: n}
		switch {
		case isServerless(ep):
			link.Detail = podKind(ep) + " instance"
			if v := virtualNode(ep); v != "" && v != n {
				link.Detail += " on virtual node " + v
			}
		case ep.Kind == snapshot.BackendECS:
			link.Detail = "ECS instance"
		}
		links = append(links, link)
	}
	if ep.Endpoint.Pod != "" {
		links = append(links, diagnose.Link{Kind: diagnose.LinkPod, ID: ep.Endpoint.Pod})
	}
	links = append(links, diagnose.Link{Kind: diagnose.LinkEndpoint, ID: ep.Target()})
	if ep.Probe != nil {
		links = append(links, diagnose.Link{Kind: diagnose.LinkProbe, ID: ep.Probe.State, Detail: "from " + cmp.Or(ep.Probe.From, "unnamed")})
	}
	if ep.Health.Proves() {
		links = append(links, diagnose.Link{Kind: diagnose.LinkHealthCheck, ID: ep.Health.State, Detail: healthAt(ep.Health)})
	}
	for i := range links {
		if links[i].Kind == brokenKind {
			links[i].Broken = true
			if brokenDetail != "" {
				links[i].Detail = brokenDetail
			}
			break
		}
	}
	return links
}

// firstGroup is the group to authorize for an ENI: its first group of the
// gateway's type, else its first group.
func (f *facts) firstGroup(ids []string) string {
	for _, id := range ids {
		if g := f.v.Groups[id]; g != nil && (f.gwType == "" || groupType(g) == f.gwType) {
			return id
		}
	}
	if len(ids) > 0 {
		return ids[0]
	}
	return "<security-group-id>"
}

func portRangeOf(port int) string { return fmt.Sprintf("%d/%d", port, port) }

// nodeList names nodes, capped.
func nodeList(nodes []*snapshot.Node) string {
	names := make([]string, 0, min(len(nodes), maxListed))
	for i, n := range nodes {
		if i == maxListed {
			names = append(names, fmt.Sprintf("… and %d more", len(nodes)-maxListed))
			break
		}
		names = append(names, diagnose.NodeName(n))
	}
	return strings.Join(names, ", ")
}

// capN keeps the first n items and says how many more.
func capN(xs []string, n int) []string {
	if len(xs) <= n {
		return xs
	}
	return append(append([]string{}, xs[:n]...), fmt.Sprintf("… %d more", len(xs)-n))
}
