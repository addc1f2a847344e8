package diff

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// epState is one endpoint across the two snapshots; base or cur is nil when
// it is absent on that side.
type epState struct {
	base, cur       *diagnose.Endpoint
	baseRes, curRes *diagnose.EndpointResult
}

func (e *epState) label() string {
	if e.cur != nil {
		return e.cur.Label()
	}
	return e.base.Label()
}

func (e *epState) service() string {
	if e.cur != nil {
		return e.cur.ServiceKey
	}
	return e.base.ServiceKey
}

func (e *epState) sides() []*diagnose.Endpoint {
	var out []*diagnose.Endpoint
	if e.base != nil {
		out = append(out, e.base)
	}
	if e.cur != nil {
		out = append(out, e.cur)
	}
	return out
}

// Ranks order a regression's causes: the change most specific to the
// endpoint first.
const (
	rankDecidingRule = 100 // changes the rule that decided, on either side
	rankEndpoint     = 90  // the endpoint itself moved, changed port or readiness
	rankENI          = 80  // its ENI's groups changed (a detach ranks one above an attach)
	rankRule         = 70  // a gateway-relevant rule covering its port
	rankAuth         = 65  // an authorization covering its port
	rankGroup        = 60  // its group's type, policy, VPC, existence
	rankGateway      = 50  // the gateway's group, addresses or VPC
	rankNode         = 40  // its node's pool or VPC
	rankPool         = 30  // node pool configuration (future nodes)
	rankData         = 20  // data that could not be collected
	rankService      = 10  // endpoints added/removed in its service
)

type comparer struct {
	bv, cv  *diagnose.View
	br, cr  *diagnose.Report
	eps     []*epState
	changes []*Change
	ignored map[string]int
	related map[string]bool           // groups that can affect reachability
	index   map[byte]map[string][]int // see indexOf
	// baseAuth and curAuth are each side's authorizations by group.
	baseAuth, curAuth map[string][]*snapshot.Authorization
	nodeKeys          map[*snapshot.Node]string
}

func newComparer(bv, cv *diagnose.View, br, cr *diagnose.Report) *comparer {
	c := &comparer{bv: bv, cv: cv, br: br, cr: cr, ignored: map[string]int{},
		nodeKeys: map[*snapshot.Node]string{}}
	ids := func(v *diagnose.View) []diagnose.EndpointID {
		out := make([]diagnose.EndpointID, len(v.Endpoints))
		for i, e := range v.Endpoints {
			out[i] = e.ID()
		}
		return out
	}
	// Report rows are in view order (diagnose.Run builds them so); filters
	// are never applied here.
	pairs, removed, added := diagnose.MatchEndpoints(ids(bv), ids(cv))
	for _, p := range pairs {
		c.eps = append(c.eps, &epState{base: bv.Endpoints[p.Base], cur: cv.Endpoints[p.Current], baseRes: &br.Endpoints[p.Base], curRes: &cr.Endpoints[p.Current]})
	}
	for _, j := range added {
		c.eps = append(c.eps, &epState{cur: cv.Endpoints[j], curRes: &cr.Endpoints[j]})
	}
	for _, i := range removed {
		c.eps = append(c.eps, &epState{base: bv.Endpoints[i], baseRes: &br.Endpoints[i]})
	}

	c.related = c.relatedGroups()
	c.index = map[byte]map[string][]int{}
	c.baseAuth, c.curAuth = authsByGroup(bv.Snapshot), authsByGroup(cv.Snapshot)
	return c
}

func (c *comparer) ignore(what string, n int) {
	if n > 0 {
		c.ignored[what] += n
	}
}

func (c *comparer) add(ch *Change) *Change {
	if ch.touches == nil {
		ch.touches = map[int]bool{}
	}
	if ch.tokens == nil {
		ch.tokens = map[string]bool{}
	}
	for _, s := range ch.Subjects {
		ch.tokens[s] = true
	}
	c.changes = append(c.changes, ch)
	return ch
}

// relatedGroups are the groups whose changes can matter: the gateway's, those
// on any node that hosts an endpoint, those authorized, and those node pools
// configure — on either side.
func (c *comparer) relatedGroups() map[string]bool {
	rel := map[string]bool{}
	nodesSeen := map[*snapshot.Node]bool{}
	for _, v := range []*diagnose.View{c.bv, c.cv} {
		s := v.Snapshot
		rel[s.Gateway.SecurityGroupID] = true
		for _, a := range s.Gateway.Authorizations {
			rel[a.SecurityGroupID] = true
		}
		for _, p := range s.NodePools {
			for _, g := range p.SecurityGroupIDs {
				rel[g] = true
			}
		}
		for _, ep := range v.Endpoints {
			for _, g := range ep.GroupIDs {
				rel[g] = true
			}
			if ep.Node != nil && !nodesSeen[ep.Node] {
				nodesSeen[ep.Node] = true
				for _, g := range diagnose.NodeGroupIDs(ep.Node) {
					rel[g] = true
				}
			}
		}
	}
	return rel
}

// detect finds every difference, listing those that matter and counting the rest.
func (c *comparer) detect() {
	b, s := c.bv.Snapshot, c.cv.Snapshot
	if b.CapturedAt != s.CapturedAt {
		c.ignore("capture time", 1)
	}
	if b.Region != s.Region {
		c.ignore("region label", 1)
	}
	c.gateway()
	c.authorizations()
	c.groups()
	c.nodes()
	c.pools()
	c.serverlessDefaults()
	c.services()
	c.endpoints()
	c.missing()
	c.probes()
}

// touch marks every endpoint (either side) for which pred holds.
func (c *comparer) touch(ch *Change, pred func(ep *diagnose.Endpoint) bool) {
	for i := range c.eps {
		c.touchOne(ch, i, pred)
	}
}

// touchIn is touch over the endpoints filed under key in the index (see
// indexOf): the same result, without scanning every endpoint.
func (c *comparer) touchIn(ch *Change, key indexKey, pred func(ep *diagnose.Endpoint) bool) {
	for _, i := range c.indexOf(key.kind)[key.id] {
		c.touchOne(ch, i, pred)
	}
}

func (c *comparer) touchOne(ch *Change, i int, pred func(ep *diagnose.Endpoint) bool) {
	e := c.eps[i]
	if (e.base != nil && pred(e.base)) || (e.cur != nil && pred(e.cur)) {
		ch.touches[i] = true
	}
}

// indexKey files endpoints by what can change under them.
type indexKey struct {
	kind byte // 'g' group, 'n' node, 'e' ENI, 's' service
	id   string
}

func byGroup(id string) indexKey  { return indexKey{'g', id} }
func byNode(key string) indexKey  { return indexKey{'n', key} }
func byENI(id string) indexKey    { return indexKey{'e', id} }
func byService(k string) indexKey { return indexKey{'s', k} }

// indexOf files every endpoint state under its groups, node, ENI or service
// (one kind), on either side, once per id. Built on first use: most diffs
// need only some kinds.
func (c *comparer) indexOf(kind byte) map[string][]int {
	if idx, ok := c.index[kind]; ok {
		return idx
	}
	idx := map[string][]int{}
	var ids []string
	for i, e := range c.eps {
		ids = ids[:0]
		for _, ep := range e.sides() {
			switch kind {
			case 'g':
				ids = append(ids, ep.GroupIDs...)
			case 'n':
				if ep.Node != nil {
					ids = append(ids, c.nodeKeyOf(ep.Node))
				}
			case 'e':
				if ep.ENI != nil {
					ids = append(ids, ep.ENI.ID)
				}
			case 's':
				ids = append(ids, ep.ServiceKey)
			}
		}
		for k, id := range ids {
			if !slices.Contains(ids[:k], id) {
				idx[id] = append(idx[id], i)
			}
		}
	}
	c.index[kind] = idx
	return idx
}

func protoOf(ep *diagnose.Endpoint) string {
	if ep.Service.Protocol == "" {
		return snapshot.ProtocolTCP
	}
	return strings.ToUpper(ep.Service.Protocol)
}

// coversPort reports whether a protocol and START/END range cover the
// endpoint's flow; an unreadable or listed range is taken to cover it.
func coversPort(proto, portRange string, portList bool, ep *diagnose.Endpoint) bool {
	p := strings.ToUpper(proto)
	if p == "" {
		p = snapshot.ProtocolTCP
	}
	if p != snapshot.ProtocolAll && p != protoOf(ep) {
		return false
	}
	if portList {
		return true
	}
	r, err := snapshot.ParsePortRange(portRange)
	if err != nil {
		return true
	}
	return r.Contains(ep.Endpoint.Port)
}

func (c *comparer) gateway() {
	b, s := c.bv.Snapshot.Gateway, c.cv.Snapshot.Gateway
	all := func(ep *diagnose.Endpoint) bool { return true }
	if b.SecurityGroupID != s.SecurityGroupID {
		ch := c.add(&Change{Kind: KindGatewayGroup, Subjects: []string{b.SecurityGroupID, s.SecurityGroupID},
			Message: fmt.Sprintf("the gateway's security group changed from %s to %s: rules and authorizations naming %s no longer admit it", b.SecurityGroupID, s.SecurityGroupID, b.SecurityGroupID),
			Before:  b.SecurityGroupID, After: s.SecurityGroupID, rank: rankGateway})
		c.touch(ch, all)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(setOf(b.Addresses))), slices.Sorted(maps.Keys(setOf(s.Addresses)))) {
		ch := c.add(&Change{Kind: KindGatewayAddresses, Subjects: []string{s.ID},
			Message: fmt.Sprintf("the gateway's source addresses changed from %s to %s: CIDR rules may no longer cover them", listOrNone(b.Addresses), listOrNone(s.Addresses)),
			Before:  strings.Join(b.Addresses, ","), After: strings.Join(s.Addresses, ","), rank: rankGateway})
		c.touch(ch, all)
	}
	if b.VpcID != s.VpcID {
		ch := c.add(&Change{Kind: KindGatewayVPC, Subjects: []string{s.ID},
			Message: fmt.Sprintf("the gateway's VPC changed from %s to %s", orNone(b.VpcID), orNone(s.VpcID)),
			Before:  b.VpcID, After: s.VpcID, rank: rankGateway})
		c.touch(ch, all)
	}
	if b.ID != s.ID {
		ch := c.add(&Change{Kind: KindGatewayReplaced, Subjects: []string{b.ID, s.ID},
			Message: fmt.Sprintf("the snapshots are of different gateways: %s, then %s (recreated, or the wrong file?)", b.ID, s.ID),
			Before:  b.ID, After: s.ID, rank: rankGateway})
		c.touch(ch, all)
	}
	if b.Name != s.Name {
		c.ignore("names", 1)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// authLabel is "authorization 1001 (sg-a 8080/8080)".
func authLabel(a *snapshot.Authorization) string {
	id := ""
	if a.ID != "" {
		id = " " + a.ID
	}
	return fmt.Sprintf("authorization%s (%s %s%s)", id, a.SecurityGroupID, a.PortRange, protoSuffix(a.Protocol))
}

func protoSuffix(p string) string {
	if p == "" || strings.EqualFold(p, snapshot.ProtocolTCP) {
		return ""
	}
	return " " + strings.ToUpper(p)
}

func authSubjects(a *snapshot.Authorization) []string {
	out := []string{a.SecurityGroupID}
	if a.ID != "" {
		out = append(out, a.ID, "authorization "+a.ID)
	}
	return out
}

func (c *comparer) authorizations() {
	base := c.bv.Snapshot.Gateway.Authorizations
	cur := c.cv.Snapshot.Gateway.Authorizations
	usedB, usedC := make([]bool, len(base)), make([]bool, len(cur))
	sig := func(a *snapshot.Authorization) string {
		return a.SecurityGroupID + "\x00" + a.PortRange + "\x00" + strings.ToUpper(a.Protocol)
	}
	// pairUp pairs each unused base authorization with the first unused
	// current one of the same key (maps, not nested loops: gateways carry
	// thousands of authorizations).
	pairUp := func(key func(*snapshot.Authorization) string, paired func(i, j int)) {
		free := map[string][]int{}
		for j := range cur {
			if k := key(&cur[j]); !usedC[j] && k != "" {
				free[k] = append(free[k], j)
			}
		}
		for i := range base {
			k := key(&base[i])
			if usedB[i] || k == "" || len(free[k]) == 0 {
				continue
			}
			j := free[k][0]
			free[k] = free[k][1:]
			usedB[i], usedC[j] = true, true
			paired(i, j)
		}
	}
	unchanged := func(i, j int) {
		if base[i].Description != cur[j].Description {
			c.ignore("descriptions", 1)
		}
	}
	// Same id: the same authorization, possibly edited.
	pairUp(func(a *snapshot.Authorization) string { return a.ID }, func(i, j int) {
		if sig(&base[i]) == sig(&cur[j]) {
			unchanged(i, j)
		} else {
			c.authEdited(&base[i], &cur[j])
		}
	})
	// Same content, ids re-issued: unchanged.
	pairUp(sig, unchanged)
	// Removed and added for the same group: one edit.
	pairUp(func(a *snapshot.Authorization) string { return a.SecurityGroupID }, func(i, j int) { c.authEdited(&base[i], &cur[j]) })
	for i := range base {
		if !usedB[i] {
			c.authRemoved(&base[i])
		}
	}
	for j := range cur {
		if !usedC[j] {
			a := &cur[j]
			ch := c.add(&Change{Kind: KindAuthAdded, Subjects: authSubjects(a),
				Message: fmt.Sprintf("%s added", authLabel(a)), After: a.PortRange, rank: rankAuth})
			c.touchAuth(ch, a)
		}
	}
}

func (c *comparer) touchAuth(ch *Change, as ...*snapshot.Authorization) {
	for _, a := range as {
		c.touchIn(ch, byGroup(a.SecurityGroupID), func(ep *diagnose.Endpoint) bool {
			return slices.Contains(ep.GroupIDs, a.SecurityGroupID) && coversPort(a.Protocol, a.PortRange, false, ep)
		})
	}
}

func (c *comparer) authEdited(b, a *snapshot.Authorization) {
	kind := KindAuthChanged
	br, err1 := snapshot.ParsePortRange(b.PortRange)
	ar, err2 := snapshot.ParsePortRange(a.PortRange)
	if err1 == nil && err2 == nil && strings.EqualFold(b.Protocol, a.Protocol) {
		lo := func(r snapshot.PortRange) int {
			if r.All {
				return 1
			}
			return r.Start
		}
		hi := func(r snapshot.PortRange) int {
			if r.All {
				return 65535
			}
			return r.End
		}
		switch {
		case lo(ar) >= lo(br) && hi(ar) <= hi(br):
			kind = KindAuthNarrowed
		case lo(ar) <= lo(br) && hi(ar) >= hi(br):
			kind = KindAuthWidened
		}
	}
	verb := map[string]string{KindAuthNarrowed: "narrowed", KindAuthWidened: "widened", KindAuthChanged: "changed"}[kind]
	subjects := authSubjects(a)
	if b.ID != "" && b.ID != a.ID {
		subjects = append(subjects, b.ID, "authorization "+b.ID)
	}
	ch := c.add(&Change{Kind: kind, Subjects: subjects,
		Message: fmt.Sprintf("authorization for %s %s from %s%s to %s%s", a.SecurityGroupID, verb, b.PortRange, protoSuffix(b.Protocol), a.PortRange, protoSuffix(a.Protocol)),
		Before:  b.PortRange + protoSuffix(b.Protocol), After: a.PortRange + protoSuffix(a.Protocol), rank: rankAuth})
	c.touchAuth(ch, b, a)
}

// authRemoved says whether the removal cascaded: whether the backend group
// still has the inbound rule from the gateway that the authorization created.
func (c *comparer) authRemoved(a *snapshot.Authorization) {
	msg := authLabel(a) + " removed"
	var left []string
	for _, ref := range c.cv.Eval.RulesFromGateway(a.SecurityGroupID) {
		if ref.Rule != nil && ref.Rule.PortRange == a.PortRange {
			left = append(left, ruleName(a.SecurityGroupID, ref.Index, ref.RuleID))
		}
	}
	switch {
	case len(left) > 0:
		msg += fmt.Sprintf(" without cascade: the inbound rule %s it created is still in %s, now without an authorization", strings.Join(left, ", "), a.SecurityGroupID)
	case c.cv.Groups[a.SecurityGroupID] != nil:
		msg += fmt.Sprintf("; %s has no inbound rule from the gateway for %s any more", a.SecurityGroupID, a.PortRange)
	}
	ch := c.add(&Change{Kind: KindAuthRemoved, Subjects: append(authSubjects(a), left...),
		Message: msg, Before: a.PortRange, rank: rankAuth})
	c.touchAuth(ch, a)
}

// ruleName is "sg-a/sgr-1", or "sg-a/#2" for a rule without an id.
func ruleName(group string, index int, id string) string {
	if id != "" {
		return group + "/" + id
	}
	return group + "/#" + strconv.Itoa(index)
}

// ruleText describes a rule's effect: "ingress drop TCP 8080/8080 from 0.0.0.0/0, priority 1".
func ruleText(r *snapshot.Rule) string {
	src := r.SourceGroupID
	if r.SourceCidr != "" {
		src = r.SourceCidr
	}
	if r.SourcePrefixListID != "" {
		src = "prefix list " + r.SourcePrefixListID
	}
	peer := " from " + orNone(src)
	if r.Direction == snapshot.DirectionEgress {
		dst := r.DestGroupID
		if r.DestCidr != "" {
			dst = r.DestCidr
		}
		if dst == "" {
			dst = "anywhere"
		}
		peer = " to " + dst
	}
	ports := r.PortRange
	if r.PortRangeListID != "" {
		ports = "port list " + r.PortRangeListID
	}
	pol := r.Policy
	if pol == "" {
		pol = snapshot.PolicyAccept
	}
	prio := r.Priority
	if prio == 0 {
		prio = 1
	}
	return fmt.Sprintf("%s %s %s %s%s, priority %d", r.Direction, pol, orAll(r.Protocol), ports, peer, prio)
}

func orAll(p string) string {
	if p == "" {
		return snapshot.ProtocolTCP
	}
	return strings.ToUpper(p)
}

// ruleSig is a rule's effective content: every field but id and description.
func ruleSig(r *snapshot.Rule) string {
	pol, prio := r.Policy, r.Priority
	if pol == "" {
		pol = snapshot.PolicyAccept
	}
	if prio == 0 {
		prio = 1
	}
	return strings.Join([]string{r.Direction, pol, strconv.Itoa(prio), orAll(r.Protocol), r.PortRange, r.SourceGroupID, r.SourceCidr,
		r.SourcePrefixListID, r.PortRangeListID, r.DestGroupID, r.DestCidr}, "\x00")
}

func groupIndex(gs []snapshot.SecurityGroup) map[string]*snapshot.SecurityGroup {
	m := make(map[string]*snapshot.SecurityGroup, len(gs))
	for i := range gs {
		m[gs[i].ID] = &gs[i]
	}
	return m
}

func groupType(g *snapshot.SecurityGroup) string {
	if g.Type == "" {
		return snapshot.GroupTypeNormal
	}
	return g.Type
}

// innerPolicy is the group's effective intra-group policy.
func innerPolicy(g *snapshot.SecurityGroup) string {
	if groupType(g) == snapshot.GroupTypeEnterprise {
		return snapshot.PolicyDrop
	}
	if g.InnerAccessPolicy == "" {
		return snapshot.PolicyAccept
	}
	return g.InnerAccessPolicy
}

func (c *comparer) touchGroup(ch *Change, g string) {
	if c.bv.Snapshot.Gateway.SecurityGroupID == g || c.cv.Snapshot.Gateway.SecurityGroupID == g {
		c.touch(ch, func(*diagnose.Endpoint) bool { return true }) // the gateway's group is on every path
		return
	}
	c.touchIn(ch, byGroup(g), func(ep *diagnose.Endpoint) bool { return slices.Contains(ep.GroupIDs, g) })
}

func (c *comparer) groups() {
	bg, cg := groupIndex(c.bv.Snapshot.SecurityGroups), groupIndex(c.cv.Snapshot.SecurityGroups)
	for _, g := range c.bv.Snapshot.SecurityGroups {
		if cg[g.ID] != nil || c.uncollected(g.ID, snapshot.PartSecurityGroups) {
			continue
		}
		if !c.related[g.ID] {
			c.ignore("unrelated security groups", 1)
			continue
		}
		ch := c.add(&Change{Kind: KindGroupRemoved, Subjects: []string{g.ID},
			Message: fmt.Sprintf("security group %s was deleted or is no longer in the data", g.ID), Before: g.ID, rank: rankGroup})
		c.touchGroup(ch, g.ID)
	}
	for _, g := range c.cv.Snapshot.SecurityGroups {
		if bg[g.ID] != nil || c.uncollected(g.ID, snapshot.PartSecurityGroups) {
			continue
		}
		if !c.related[g.ID] {
			c.ignore("unrelated security groups", 1)
			continue
		}
		ch := c.add(&Change{Kind: KindGroupAdded, Subjects: []string{g.ID},
			Message: fmt.Sprintf("security group %s (%s) appeared", g.ID, groupType(&g)), After: g.ID, rank: rankGroup})
		c.touchGroup(ch, g.ID)
	}
	for i := range c.cv.Snapshot.SecurityGroups {
		a := &c.cv.Snapshot.SecurityGroups[i]
		b := bg[a.ID]
		if b == nil {
			continue
		}
		if !c.related[a.ID] {
			if !groupsEqual(b, a) {
				c.ignore("unrelated security groups", 1)
			}
			continue
		}
		if b.Name != a.Name {
			c.ignore("names", 1)
		}
		if groupType(b) != groupType(a) {
			ch := c.add(&Change{Kind: KindGroupType, Subjects: []string{a.ID},
				Message: fmt.Sprintf("security group %s changed type from %s to %s%s", a.ID, groupType(b), groupType(a), typeNote(a, c.cv.Snapshot)),
				Before:  groupType(b), After: groupType(a), rank: rankGroup})
			c.touchGroup(ch, a.ID)
		}
		if innerPolicy(b) != innerPolicy(a) && groupType(b) == groupType(a) {
			ch := c.add(&Change{Kind: KindInnerAccessPolicy, Subjects: []string{a.ID},
				Message: fmt.Sprintf("security group %s innerAccessPolicy changed from %s to %s%s", a.ID, innerPolicy(b), innerPolicy(a), innerNote(a, c.cv.Snapshot)),
				Before:  innerPolicy(b), After: innerPolicy(a), rank: rankGroup})
			c.touchGroup(ch, a.ID)
		}
		if b.VpcID != a.VpcID {
			ch := c.add(&Change{Kind: KindGroupVPC, Subjects: []string{a.ID},
				Message: fmt.Sprintf("security group %s VPC changed from %s to %s", a.ID, orNone(b.VpcID), orNone(a.VpcID)),
				Before:  b.VpcID, After: a.VpcID, rank: rankGroup})
			c.touchGroup(ch, a.ID)
		}
		if !c.uncollected(a.ID, snapshot.PartSecurityGroups, snapshot.PartRules) {
			c.rules(b, a)
		}
	}
}

func typeNote(g *snapshot.SecurityGroup, s *snapshot.Snapshot) string {
	if groupType(g) == snapshot.GroupTypeEnterprise && g.ID != s.Gateway.SecurityGroupID {
		return " (enterprise groups cannot be referenced by source group: the gateway's authorization rule no longer takes effect)"
	}
	return ""
}

func innerNote(g *snapshot.SecurityGroup, s *snapshot.Snapshot) string {
	if g.ID == s.Gateway.SecurityGroupID {
		if innerPolicy(g) == snapshot.PolicyDrop {
			return " (backends that shared the gateway's group now need rules of their own)"
		}
		return " (backends in the gateway's group are now admitted whatever their rules say)"
	}
	return ""
}

func groupsEqual(a, b *snapshot.SecurityGroup) bool {
	if groupType(a) != groupType(b) || innerPolicy(a) != innerPolicy(b) || a.VpcID != b.VpcID || len(a.Rules) != len(b.Rules) {
		return false
	}
	for i := range a.Rules {
		if ruleSig(&a.Rules[i]) != ruleSig(&b.Rules[i]) {
			return false
		}
	}
	return true
}

// rules compares the rules of one related group.
func (c *comparer) rules(b, a *snapshot.SecurityGroup) {
	if slices.Equal(b.Rules, a.Rules) {
		return // the common case: untouched
	}
	usedB, usedA := make([]bool, len(b.Rules)), make([]bool, len(a.Rules))
	sigB, sigA := make([]string, len(b.Rules)), make([]string, len(a.Rules))
	for i := range b.Rules {
		sigB[i] = ruleSig(&b.Rules[i])
	}
	for j := range a.Rules {
		sigA[j] = ruleSig(&a.Rules[j])
	}
	type pair struct{ i, j int }
	var edited []pair
	pairUp := func(keyB, keyA func(int) string, paired func(i, j int)) {
		free := map[string][]int{}
		for j := range a.Rules {
			if k := keyA(j); !usedA[j] && k != "" {
				free[k] = append(free[k], j)
			}
		}
		for i := range b.Rules {
			k := keyB(i)
			if usedB[i] || k == "" || len(free[k]) == 0 {
				continue
			}
			j := free[k][0]
			free[k] = free[k][1:]
			usedB[i], usedA[j] = true, true
			paired(i, j)
		}
	}
	unchanged := func(i, j int) {
		if b.Rules[i].Description != a.Rules[j].Description {
			c.ignore("descriptions", 1)
		}
	}
	// Same id: the same rule, possibly edited; then same content under a new id.
	pairUp(func(i int) string { return b.Rules[i].ID }, func(j int) string { return a.Rules[j].ID }, func(i, j int) {
		if sigB[i] != sigA[j] {
			edited = append(edited, pair{i, j})
		} else {
			unchanged(i, j)
		}
	})
	pairUp(func(i int) string { return sigB[i] }, func(j int) string { return sigA[j] }, unchanged)
	for _, p := range edited {
		br, ar := &b.Rules[p.i], &a.Rules[p.j]
		if !c.ruleMatters(c.bv, b.ID, p.i) && !c.ruleMatters(c.cv, a.ID, p.j) {
			c.ignore("rules that do not admit or drop the gateway", 1)
			continue
		}
		name := ruleName(a.ID, p.j, ar.ID)
		msg := fmt.Sprintf("rule %s changed from %s to %s", name, ruleText(br), ruleText(ar))
		if br.Policy != ar.Policy && ar.Policy == snapshot.PolicyDrop {
			msg = fmt.Sprintf("rule %s now drops: %s (was %s)", name, ruleText(ar), ruleText(br))
		}
		ch := c.add(&Change{Kind: KindRuleChanged, Subjects: []string{a.ID, name, ar.ID}, Message: msg,
			Before: ruleText(br), After: ruleText(ar), rank: rankRule,
			rules: []string{ruleKey(b.ID, p.i, br.ID), ruleKey(a.ID, p.j, ar.ID)}})
		c.touchRule(ch, b.ID, br, ar)
	}
	for i := range b.Rules {
		if usedB[i] {
			continue
		}
		r := &b.Rules[i]
		if !c.ruleMatters(c.bv, b.ID, i) {
			c.ignore("rules that do not admit or drop the gateway", 1)
			continue
		}
		name := ruleName(b.ID, i, r.ID)
		ch := c.add(&Change{Kind: KindRuleRemoved, Subjects: []string{b.ID, name, r.ID},
			Message: fmt.Sprintf("rule %s removed: %s", name, ruleText(r)), Before: ruleText(r), rank: rankRule,
			rules: []string{ruleKey(b.ID, i, r.ID)}})
		c.touchRule(ch, b.ID, r)
	}
	for j := range a.Rules {
		if usedA[j] {
			continue
		}
		r := &a.Rules[j]
		if !c.ruleMatters(c.cv, a.ID, j) {
			c.ignore("rules that do not admit or drop the gateway", 1)
			continue
		}
		name := ruleName(a.ID, j, r.ID)
		msg := fmt.Sprintf("rule %s added: %s", name, ruleText(r))
		if r.Policy == snapshot.PolicyDrop {
			msg = fmt.Sprintf("drop rule %s added: %s", name, ruleText(r))
		}
		ch := c.add(&Change{Kind: KindRuleAdded, Subjects: []string{a.ID, name, r.ID},
			Message: msg, After: ruleText(r), rank: rankRule, rules: []string{ruleKey(a.ID, j, r.ID)}})
		c.touchRule(ch, a.ID, r)
	}
}

func ruleKey(group string, index int, id string) string {
	if id != "" {
		return group + "\x00" + id
	}
	return group + "\x00#" + strconv.Itoa(index)
}

// ruleMatters: an ingress rule whose source may be the gateway, or an egress
// rule of the gateway's own group. Backend egress rules do not matter (the
// reply is stateful), nor do rules from other sources.
func (c *comparer) ruleMatters(v *diagnose.View, group string, index int) bool {
	g := v.Groups[group]
	if g == nil || index >= len(g.Rules) {
		return false
	}
	r := &g.Rules[index]
	if r.Direction == snapshot.DirectionEgress {
		return group == v.Snapshot.Gateway.SecurityGroupID
	}
	m, _ := v.Eval.GatewaySourceMatch(group, index)
	return m != secgroup.NoMatch
}

func (c *comparer) touchRule(ch *Change, group string, rs ...*snapshot.Rule) {
	gw := c.cv.Snapshot.Gateway.SecurityGroupID == group || c.bv.Snapshot.Gateway.SecurityGroupID == group
	touch := func(pred func(*diagnose.Endpoint) bool) { c.touchIn(ch, byGroup(group), pred) }
	if gw && slices.ContainsFunc(rs, func(r *snapshot.Rule) bool { return r.Direction == snapshot.DirectionEgress }) {
		touch = func(pred func(*diagnose.Endpoint) bool) { c.touch(ch, pred) } // gateway egress: every path
	}
	touch(func(ep *diagnose.Endpoint) bool {
		for _, r := range rs {
			onPath := slices.Contains(ep.GroupIDs, group) || (gw && r.Direction == snapshot.DirectionEgress)
			if onPath && coversPort(r.Protocol, r.PortRange, r.PortRangeListID != "", ep) {
				return true
			}
		}
		return false
	})
}

// nodeKeyOf is nodeKey, computed once per node.
func (c *comparer) nodeKeyOf(n *snapshot.Node) string {
	k, ok := c.nodeKeys[n]
	if !ok {
		k = nodeKey(n)
		c.nodeKeys[n] = k
	}
	return k
}

// nodeKey matches nodes across snapshots: instance id, else name.
func nodeKey(n *snapshot.Node) string {
	if n.InstanceID != "" {
		return "i:" + n.InstanceID
	}
	return "n:" + n.Name
}

func nodeSubjects(n *snapshot.Node) []string {
	var out []string
	if n.Name != "" {
		out = append(out, n.Name)
	}
	if n.InstanceID != "" {
		out = append(out, n.InstanceID)
	}
	return out
}

// hostsEndpoints reports whether any endpoint, on either side, resolved to
// the node with this key.
func (c *comparer) hostsEndpoints(key string) bool { return len(c.indexOf('n')[key]) > 0 }

func (c *comparer) touchNode(ch *Change, key string) {
	c.touchIn(ch, byNode(key), func(ep *diagnose.Endpoint) bool { return ep.Node != nil && c.nodeKeyOf(ep.Node) == key })
}

func (c *comparer) nodes() {
	bn := map[string]*snapshot.Node{}
	for i := range c.bv.Snapshot.Nodes {
		n := &c.bv.Snapshot.Nodes[i]
		bn[nodeKey(n)] = n
	}
	cn := map[string]bool{}
	for i := range c.cv.Snapshot.Nodes {
		a := &c.cv.Snapshot.Nodes[i]
		k := nodeKey(a)
		cn[k] = true
		b := bn[k]
		if b == nil {
			if !c.hostsEndpoints(k) {
				c.ignore("nodes added or removed that host no endpoint", 1)
				continue
			}
			ch := c.add(&Change{Kind: KindNodeAdded, Subjects: nodeSubjects(a),
				Message: fmt.Sprintf("node %s added (pool %s, groups %s)", diagnose.NodeName(a), orNone(a.NodePool), listOrNone(diagnose.NodeGroupIDs(a))),
				After:   diagnose.NodeName(a), rank: rankNode})
			c.touchNode(ch, k)
			continue
		}
		c.nodeChanged(b, a)
	}
	for i := range c.bv.Snapshot.Nodes {
		b := &c.bv.Snapshot.Nodes[i]
		k := nodeKey(b)
		if cn[k] || c.uncollected(b.InstanceID, snapshot.PartNodes, snapshot.PartENIs) {
			continue // present, or not collected now (a data-missing change says so)
		}
		if !c.hostsEndpoints(k) {
			c.ignore("nodes added or removed that host no endpoint", 1)
			continue
		}
		ch := c.add(&Change{Kind: KindNodeRemoved, Subjects: nodeSubjects(b),
			Message: fmt.Sprintf("node %s is gone", diagnose.NodeName(b)), Before: diagnose.NodeName(b), rank: rankNode})
		c.touchNode(ch, k)
	}
}

func (c *comparer) nodeChanged(b, a *snapshot.Node) {
	k := nodeKey(a)
	if b.Name != a.Name {
		c.ignore("names", 1)
	}
	if b.NodePool != a.NodePool {
		ch := c.add(&Change{Kind: KindNodePool, Subjects: append(nodeSubjects(a), b.NodePool, a.NodePool),
			Message: fmt.Sprintf("node %s moved from pool %s to pool %s", diagnose.NodeName(a), orNone(b.NodePool), orNone(a.NodePool)),
			Before:  b.NodePool, After: a.NodePool, rank: rankNode})
		c.touchNode(ch, k)
	}
	if b.VpcID != a.VpcID {
		ch := c.add(&Change{Kind: KindNodeVPC, Subjects: nodeSubjects(a),
			Message: fmt.Sprintf("node %s VPC changed from %s to %s", diagnose.NodeName(a), orNone(b.VpcID), orNone(a.VpcID)),
			Before:  b.VpcID, After: a.VpcID, rank: rankNode})
		c.touchNode(ch, k)
	}
	benis := map[string]*snapshot.ENI{}
	for i := range b.ENIs {
		benis[b.ENIs[i].ID] = &b.ENIs[i]
	}
	seen := map[string]bool{}
	onENI := func(id string) func(*diagnose.Endpoint) bool {
		return func(ep *diagnose.Endpoint) bool { return ep.ENI != nil && ep.ENI.ID == id }
	}
	for i := range a.ENIs {
		ae := &a.ENIs[i]
		seen[ae.ID] = true
		be := benis[ae.ID]
		if be == nil {
			ch := &Change{Kind: KindENIAdded, Subjects: append([]string{ae.ID}, nodeSubjects(a)...),
				Message: fmt.Sprintf("ENI %s added to node %s with groups %s", ae.ID, diagnose.NodeName(a), listOrNone(ae.SecurityGroupIDs)),
				After:   strings.Join(ae.SecurityGroupIDs, ","), rank: rankENI, touches: map[int]bool{}}
			c.touchIn(ch, byENI(ae.ID), onENI(ae.ID))
			if len(ch.touches) > 0 || c.anyRelated(ae.SecurityGroupIDs) {
				c.add(ch)
			} else {
				c.ignore("ENIs added or removed that carry no endpoint", 1)
			}
			continue
		}
		if !slices.Equal(be.IPs, ae.IPs) || !slices.Equal(be.Prefixes, ae.Prefixes) {
			c.ignore("ENI address lists", 1)
		}
		for _, g := range setDiff(ae.SecurityGroupIDs, be.SecurityGroupIDs) {
			ch := c.addIfRelevant(g, byENI(ae.ID), &Change{Kind: KindGroupAttached, Subjects: append([]string{g, ae.ID}, nodeSubjects(a)...),
				Message: fmt.Sprintf("group %s attached to ENI %s on node %s (groups now %s)", g, ae.ID, diagnose.NodeName(a), listOrNone(ae.SecurityGroupIDs)),
				Before:  strings.Join(be.SecurityGroupIDs, ","), After: strings.Join(ae.SecurityGroupIDs, ","), rank: rankENI})
			if ch != nil {
				c.touchIn(ch, byENI(ae.ID), onENI(ae.ID))
			}
		}
		for _, g := range setDiff(be.SecurityGroupIDs, ae.SecurityGroupIDs) {
			ch := c.addIfRelevant(g, byENI(ae.ID), &Change{Kind: KindGroupDetached, Subjects: append([]string{g, ae.ID}, nodeSubjects(a)...),
				Message: fmt.Sprintf("group %s detached from ENI %s on node %s (groups now %s)", g, ae.ID, diagnose.NodeName(a), listOrNone(ae.SecurityGroupIDs)),
				Before:  strings.Join(be.SecurityGroupIDs, ","), After: strings.Join(ae.SecurityGroupIDs, ","), rank: rankENI + 1})
			if ch != nil {
				c.touchIn(ch, byENI(ae.ID), onENI(ae.ID))
			}
		}
	}
	for i := range b.ENIs {
		be := &b.ENIs[i]
		if seen[be.ID] {
			continue
		}
		ch := &Change{Kind: KindENIRemoved, Subjects: append([]string{be.ID}, nodeSubjects(a)...),
			Message: fmt.Sprintf("ENI %s (groups %s) removed from node %s", be.ID, listOrNone(be.SecurityGroupIDs), diagnose.NodeName(a)),
			Before:  strings.Join(be.SecurityGroupIDs, ","), rank: rankENI, touches: map[int]bool{}}
		c.touchIn(ch, byENI(be.ID), onENI(be.ID))
		if len(ch.touches) > 0 || c.anyRelated(be.SecurityGroupIDs) {
			c.add(ch)
		} else {
			c.ignore("ENIs added or removed that carry no endpoint", 1)
		}
	}
}

// addIfRelevant adds a group attach/detach when the ENI carries an endpoint
// or the group is related; otherwise it only counts it (nil).
func (c *comparer) addIfRelevant(group string, eni indexKey, ch *Change) *Change {
	if len(c.indexOf(eni.kind)[eni.id]) == 0 && !c.related[group] {
		c.ignore("groups attached to or detached from ENIs that carry no endpoint", 1)
		return nil
	}
	return c.add(ch)
}

func (c *comparer) anyRelated(gs []string) bool {
	return slices.ContainsFunc(gs, func(g string) bool { return c.related[g] })
}

func (c *comparer) pools() {
	bp := map[string]*snapshot.NodePool{}
	for i := range c.bv.Snapshot.NodePools {
		bp[c.bv.Snapshot.NodePools[i].ID] = &c.bv.Snapshot.NodePools[i]
	}
	seen := map[string]bool{}
	for i := range c.cv.Snapshot.NodePools {
		a := &c.cv.Snapshot.NodePools[i]
		seen[a.ID] = true
		b := bp[a.ID]
		if b == nil {
			c.ignore("node pools added or removed", 1)
			continue
		}
		if b.Name != a.Name {
			c.ignore("names", 1)
		}
		added := setDiff(a.SecurityGroupIDs, b.SecurityGroupIDs)
		removed := setDiff(b.SecurityGroupIDs, a.SecurityGroupIDs)
		if len(added) == 0 && len(removed) == 0 {
			continue
		}
		var parts []string
		if len(added) > 0 {
			parts = append(parts, "added "+strings.Join(added, ", "))
		}
		if len(removed) > 0 {
			parts = append(parts, "removed "+strings.Join(removed, ", "))
		}
		c.add(&Change{Kind: KindNodePoolGroups, Subjects: append(append([]string{a.ID}, added...), removed...),
			Message: fmt.Sprintf("node pool %s security groups changed (%s): nodes it adds from now on get %s", poolName(a), strings.Join(parts, "; "), listOrNone(a.SecurityGroupIDs)),
			Before:  strings.Join(b.SecurityGroupIDs, ","), After: strings.Join(a.SecurityGroupIDs, ","), rank: rankPool})
	}
	for id := range bp {
		if !seen[id] {
			c.ignore("node pools added or removed", 1)
		}
	}
}

// serverlessDefaults reports changes of the groups new serverless pods get
// when their annotation names none: running pods keep theirs (like a node
// pool's configuration, it matters for the pods created from now on).
func (c *comparer) serverlessDefaults() {
	b, a := c.bv.Snapshot.Cluster, c.cv.Snapshot.Cluster
	if b == nil || a == nil {
		return // not collected on one side: nothing to compare
	}
	for _, d := range []struct{ before, after, what string }{
		{b.ECIProfileSecurityGroupID, a.ECIProfileSecurityGroupID, "the eci-profile default (securityGroupId of kube-system/eci-profile), the group of new ECI pods that name none"},
		{b.ACSProfileSecurityGroupID, a.ACSProfileSecurityGroupID, "the acs-profile default (securityGroupId of kube-system/acs-profile), the group of new ACS pods that name none"},
		{b.SecurityGroupID, a.SecurityGroupID, "the cluster's security group, the default of new serverless pods that name none"},
	} {
		if d.before == d.after || d.before == "" || d.after == "" {
			continue
		}
		c.add(&Change{Kind: KindServerlessDefault, Subjects: []string{d.after, d.before},
			Message: fmt.Sprintf("%s changed from %s to %s: pods created from now on get %s; running pods keep their group", d.what, d.before, d.after, d.after),
			Before:  d.before, After: d.after, rank: rankPool})
	}
}

func poolName(p *snapshot.NodePool) string {
	if p.Name != "" && p.Name != p.ID {
		return p.ID + " (" + p.Name + ")"
	}
	return p.ID
}

func (c *comparer) services() {
	bs := map[string]*snapshot.Service{}
	for _, s := range c.bv.Services {
		bs[s.Key()] = s
	}
	seen := map[string]bool{}
	onService := func(key string) func(*diagnose.Endpoint) bool {
		return func(ep *diagnose.Endpoint) bool { return ep.ServiceKey == key }
	}
	for _, a := range c.cv.Services {
		k := a.Key()
		seen[k] = true
		b := bs[k]
		if b == nil {
			ch := c.add(&Change{Kind: KindServiceAdded, Subjects: []string{k}, Message: fmt.Sprintf("service %s added to the gateway", k), rank: rankService})
			c.touchIn(ch, byService(k), onService(k))
			continue
		}
		if orAll(b.Protocol) != orAll(a.Protocol) {
			ch := c.add(&Change{Kind: KindServiceProtocol, Subjects: []string{k},
				Message: fmt.Sprintf("service %s protocol changed from %s to %s", k, orAll(b.Protocol), orAll(a.Protocol)),
				Before:  orAll(b.Protocol), After: orAll(a.Protocol), rank: rankEndpoint})
			c.touchIn(ch, byService(k), onService(k))
		}
		if b.Source != a.Source {
			c.ignore("service source types", 1)
		}
	}
	for _, b := range c.bv.Services {
		if !seen[b.Key()] {
			ch := c.add(&Change{Kind: KindServiceRemoved, Subjects: []string{b.Key()}, Message: fmt.Sprintf("service %s is no longer on the gateway", b.Key()), rank: rankService})
			c.touchIn(ch, byService(b.Key()), onService(b.Key()))
		}
	}
}

// where describes an endpoint's place: node (pool) and its groups with their
// authorization for the endpoint's port: "node B in pool np-b (sg-b, not authorized)".
func where(auths map[string][]*snapshot.Authorization, ep *diagnose.Endpoint) string {
	node := ep.NodeLabel()
	if node == "" {
		node = "an unknown node"
	} else {
		node = "node " + node
	}
	if ep.Node != nil && ep.Node.NodePool != "" {
		node += " in pool " + ep.Node.NodePool
	}
	if ep.ENI == nil {
		return node + " (ENI unknown)"
	}
	var gs []string
	for _, g := range ep.GroupIDs {
		gs = append(gs, g+", "+authStatus(auths, g, ep))
	}
	if len(gs) == 0 {
		gs = []string{"no security groups"}
	}
	eni := ""
	if ep.Node != nil && diagnose.PrimaryENI(ep.Node) != ep.ENI {
		eni = " ENI " + ep.ENI.ID
	}
	return node + eni + " (" + strings.Join(gs, "; ") + ")"
}

// authStatus says whether the gateway's authorizations (auths, by group)
// cover group g for the endpoint's port: authorized, authorized for other
// ports, or not authorized.
func authStatus(auths map[string][]*snapshot.Authorization, g string, ep *diagnose.Endpoint) string {
	var other []string
	for _, a := range auths[g] {
		if coversPort(a.Protocol, a.PortRange, false, ep) {
			return "authorized"
		}
		other = append(other, a.PortRange)
	}
	if len(other) > 0 {
		return "authorized for " + strings.Join(other, ", ") + " only"
	}
	return "not authorized"
}

// authsByGroup indexes a snapshot's authorizations by group.
func authsByGroup(s *snapshot.Snapshot) map[string][]*snapshot.Authorization {
	m := map[string][]*snapshot.Authorization{}
	for i := range s.Gateway.Authorizations {
		a := &s.Gateway.Authorizations[i]
		m[a.SecurityGroupID] = append(m[a.SecurityGroupID], a)
	}
	return m
}

func (c *comparer) endpoints() {
	for i, e := range c.eps {
		switch {
		case e.base == nil:
			ch := c.add(&Change{Kind: KindEndpointAdded, Subjects: epSubjects(e.cur),
				Message: fmt.Sprintf("%s appeared on %s", epName(e.cur), where(c.curAuth, e.cur)), After: e.cur.Target(), rank: rankService})
			ch.touches[i] = true
			ch.Services = append(ch.Services, e.cur.ServiceKey) // a service that gains or loses endpoints changes as a whole
			continue
		case e.cur == nil:
			ch := c.add(&Change{Kind: KindEndpointRemoved, Subjects: epSubjects(e.base),
				Message: fmt.Sprintf("%s is gone (it ran on %s)", epName(e.base), where(c.baseAuth, e.base)), Before: e.base.Target(), rank: rankService})
			ch.touches[i] = true
			ch.Services = append(ch.Services, e.base.ServiceKey)
			continue
		}
		b, a := e.base, e.cur
		subjects := func() []string { return dedupe(append(epSubjects(a), epSubjects(b)...)) }
		if b.NodeLabel() != a.NodeLabel() || eniID(b) != eniID(a) {
			subj := append(subjects(), nodeNames(b, a)...)
			subj = append(subj, b.GroupIDs...)
			subj = append(subj, a.GroupIDs...)
			verb := "moved"
			if b.NodeLabel() == a.NodeLabel() {
				verb = "moved to another ENI"
			}
			ch := c.add(&Change{Kind: KindEndpointMoved, Subjects: dedupe(subj),
				Message: fmt.Sprintf("%s %s from %s to %s", epName(a), verb, where(c.baseAuth, b), where(c.curAuth, a)),
				Before:  placeShort(b), After: placeShort(a), rank: rankEndpoint})
			ch.touches[i] = true
		} else if b.Endpoint.IP != a.Endpoint.IP {
			c.ignore("endpoint addresses changed on the same ENI", 1)
		}
		if b.Endpoint.Port != a.Endpoint.Port {
			ch := c.add(&Change{Kind: KindEndpointPort, Subjects: dedupe(append(subjects(), a.GroupIDs...)),
				Message: fmt.Sprintf("%s now listens on port %d instead of %d; its groups: %s", epName(a), a.Endpoint.Port, b.Endpoint.Port, groupsWithAuth(c.curAuth, a)),
				Before:  strconv.Itoa(b.Endpoint.Port), After: strconv.Itoa(a.Endpoint.Port), rank: rankEndpoint})
			ch.touches[i] = true
		}
		if b.Endpoint.IsReady() != a.Endpoint.IsReady() {
			kind, msg := KindEndpointReady, fmt.Sprintf("%s became ready", epName(a))
			if !a.Endpoint.IsReady() {
				kind, msg = KindEndpointNotReady, fmt.Sprintf("%s is no longer ready: the gateway does not send it traffic", epName(a))
			}
			ch := c.add(&Change{Kind: kind, Subjects: subjects(), Message: msg,
				Before: readyWord(b), After: readyWord(a), rank: rankEndpoint})
			ch.touches[i] = true
		}
	}
}

func readyWord(ep *diagnose.Endpoint) string {
	if ep.Endpoint.IsReady() {
		return "ready"
	}
	return "not ready"
}

func groupsWithAuth(auths map[string][]*snapshot.Authorization, ep *diagnose.Endpoint) string {
	if len(ep.GroupIDs) == 0 {
		return "unknown"
	}
	var gs []string
	for _, g := range ep.GroupIDs {
		gs = append(gs, g+" "+authStatus(auths, g, ep))
	}
	return strings.Join(gs, "; ")
}

func eniID(ep *diagnose.Endpoint) string {
	if ep.ENI == nil {
		return ""
	}
	return ep.ENI.ID
}

func placeShort(ep *diagnose.Endpoint) string {
	s := orNone(ep.NodeLabel())
	if ep.ENI != nil {
		s += " " + ep.ENI.ID
	}
	if len(ep.GroupIDs) > 0 {
		s += " [" + strings.Join(ep.GroupIDs, ",") + "]"
	}
	return s
}

func nodeNames(eps ...*diagnose.Endpoint) []string {
	var out []string
	for _, ep := range eps {
		if ep.Node != nil {
			out = append(out, nodeSubjects(ep.Node)...)
		} else if ep.Endpoint.Node != "" {
			out = append(out, ep.Endpoint.Node)
		}
		if ep.ENI != nil {
			out = append(out, ep.ENI.ID)
		}
	}
	return out
}

// epName is "pod orders-7d9f-abc", or "endpoint shop/orders 10.0.0.1:8080"
// without a pod name. (Changes list the endpoints they affect beside.)
func epName(ep *diagnose.Endpoint) string {
	if ep.Endpoint.Pod != "" {
		return "pod " + ep.Endpoint.Pod
	}
	return "endpoint " + ep.Label()
}

func epSubjects(ep *diagnose.Endpoint) []string {
	out := []string{ep.Label(), ep.ServiceKey}
	if ep.Endpoint.Pod != "" {
		out = append(out, ep.Endpoint.Pod)
	}
	return out
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0:0]
	for _, x := range xs {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func missingKey(m snapshot.MissingPart) string {
	return m.Part + "\x00" + strings.Join(m.IDs, ",")
}

func missingText(m snapshot.MissingPart) string {
	s := m.Part
	if len(m.IDs) > 0 {
		s += " (" + strings.Join(m.IDs, ", ") + ")"
	}
	return s
}

func (c *comparer) missing() {
	bm := map[string]bool{}
	for _, m := range c.bv.Snapshot.Missing {
		bm[missingKey(m)] = true
	}
	cm := map[string]bool{}
	for _, m := range c.cv.Snapshot.Missing {
		cm[missingKey(m)] = true
		if bm[missingKey(m)] {
			continue
		}
		msg := fmt.Sprintf("%s could not be collected now: %s", missingText(m), m.Error)
		if m.Action != "" {
			msg += " (" + m.Action + ")"
		}
		ch := c.add(&Change{Kind: KindDataMissing, Subjects: append([]string{m.Part}, m.IDs...), Message: msg, After: "missing", rank: rankData})
		c.touchMissing(ch, m)
	}
	for _, m := range c.bv.Snapshot.Missing {
		if !cm[missingKey(m)] {
			ch := c.add(&Change{Kind: KindDataRecovered, Subjects: append([]string{m.Part}, m.IDs...),
				Message: fmt.Sprintf("%s, missing in the baseline, is in the data now", missingText(m)), Before: "missing", rank: rankData})
			c.touchMissing(ch, m)
		}
	}
}

// touchMissing marks the endpoints a missing part can make undecidable: those
// behind the named groups, on the named nodes or ENIs, of the named services;
// every endpoint when the part is missing whole.
func (c *comparer) touchMissing(ch *Change, m snapshot.MissingPart) {
	all := func(*diagnose.Endpoint) bool { return true }
	if len(m.IDs) == 0 {
		c.touch(ch, all)
		return
	}
	for _, id := range m.IDs {
		switch m.Part {
		case snapshot.PartSecurityGroups, snapshot.PartRules:
			c.touchIn(ch, byGroup(id), all)
		case snapshot.PartNodes, snapshot.PartENIs:
			c.touchIn(ch, byENI(id), all)
			for _, key := range []string{"i:" + id, "n:" + id} {
				c.touchIn(ch, byNode(key), all)
			}
		case snapshot.PartServices, snapshot.PartEndpoints:
			c.touchIn(ch, byService(id), all)
		default:
			c.touch(ch, all)
			return
		}
	}
}

// uncollected reports whether either side could not collect part for id: a
// difference there is missing data (a data-missing change), not an edit.
func (c *comparer) uncollected(id string, parts ...string) bool {
	for _, v := range []*diagnose.View{c.bv, c.cv} {
		for _, p := range parts {
			if missing, _ := v.Missing(p, id); missing {
				return true
			}
		}
	}
	return false
}

// probes counts recorded probe observations that differ; the verdicts they
// change are reported per endpoint instead.
func (c *comparer) probes() {
	key := func(p *snapshot.Probe) string { return p.Target + "\x00" + p.State + "\x00" + p.From + "\x00" + p.At }
	bset := map[string]int{}
	for i := range c.bv.Snapshot.Probes {
		bset[key(&c.bv.Snapshot.Probes[i])]++
	}
	n := 0
	for i := range c.cv.Snapshot.Probes {
		k := key(&c.cv.Snapshot.Probes[i])
		if bset[k] > 0 {
			bset[k]--
		} else {
			n++
		}
	}
	for _, left := range bset {
		n += left
	}
	c.ignore("probe observations (their effect is in the endpoint verdicts)", n)
}
