package lab

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The lab's security groups are compiled straight from the snapshot into
// nftables, without the evaluator: the kernel is an independent second
// implementation of DESIGN.md's semantics, which the differential test
// compares with the evaluator.
//
// Node namespace ("ip" table, input hook, policy drop):
//
//	iif lo accept; ct state established,related accept   (stateful, like ECS)
//	ip daddr {addresses of ENI k} jump eni_k              (one chain per ENI)
//	eni_k: intra-group accepts of its normal groups with innerAccessPolicy
//	       accept, then every ingress rule of its groups in priority order,
//	       drop before accept at equal priority, then drop.
//
// Gateway egress is compiled into the bridge namespace on the gateway's
// switch port ("bridge" table, forward hook): a drop in the gateway's own
// output hook would fail connect() at once with EPERM, while a cloud
// security group drops silently (a probe times out).

const tableName = "gwdoctor_lab"

// groupIndex looks groups up by ID and numbers them for set names.
type groupIndex struct {
	byID  map[string]*snapshot.SecurityGroup
	order []string
	num   map[string]int
}

func newGroupIndex(s *snapshot.Snapshot) *groupIndex {
	gi := &groupIndex{byID: map[string]*snapshot.SecurityGroup{}, num: map[string]int{}}
	for i := range s.SecurityGroups {
		g := &s.SecurityGroups[i]
		if _, dup := gi.byID[g.ID]; !dup {
			gi.byID[g.ID] = g
		}
	}
	return gi
}

// setName returns the name of the member set of group id, numbering it.
func (gi *groupIndex) setName(id string) string {
	n, ok := gi.num[id]
	if !ok {
		n = len(gi.order)
		gi.num[id] = n
		gi.order = append(gi.order, id)
	}
	return fmt.Sprintf("members_%d", n)
}

func groupType(g *snapshot.SecurityGroup) string {
	if t := strings.ToLower(strings.TrimSpace(g.Type)); t != "" {
		return t
	}
	return snapshot.GroupTypeNormal
}

func innerAccepts(g *snapshot.SecurityGroup) bool {
	if groupType(g) != snapshot.GroupTypeNormal {
		return false
	}
	p := strings.ToLower(strings.TrimSpace(g.InnerAccessPolicy))
	return p == "" || p == snapshot.PolicyAccept
}

func rulePolicy(r *snapshot.Rule) string {
	if p := strings.ToLower(strings.TrimSpace(r.Policy)); p != "" {
		return p
	}
	return snapshot.PolicyAccept
}

func rulePriority(r *snapshot.Rule) int {
	if r.Priority <= 0 {
		return 1
	}
	return r.Priority
}

func ruleDirection(r *snapshot.Rule) string {
	return strings.ToLower(strings.TrimSpace(r.Direction))
}

func ruleProtocol(r *snapshot.Rule) string {
	p := strings.ToUpper(strings.TrimSpace(r.Protocol))
	if p == "" {
		return snapshot.ProtocolTCP
	}
	return p
}

// orderedRule is one rule of one group, with its place for sorting.
type orderedRule struct {
	group *snapshot.SecurityGroup
	index int
	rule  *snapshot.Rule
}

func (o orderedRule) label() string {
	id := o.rule.ID
	if id == "" {
		id = fmt.Sprintf("rules[%d]", o.index)
	}
	return fmt.Sprintf("%s %s prio %d %s", o.group.ID, id, rulePriority(o.rule), rulePolicy(o.rule))
}

// sortRules orders by priority, drop before accept at equal priority, then
// by group and position so the output is stable.
func sortRules(rules []orderedRule, groupPos map[string]int) {
	sort.SliceStable(rules, func(i, j int) bool {
		a, b := rules[i], rules[j]
		if pa, pb := rulePriority(a.rule), rulePriority(b.rule); pa != pb {
			return pa < pb
		}
		if da, db := rulePolicy(a.rule) == snapshot.PolicyDrop, rulePolicy(b.rule) == snapshot.PolicyDrop; da != db {
			return da
		}
		if ga, gb := groupPos[a.group.ID], groupPos[b.group.ID]; ga != gb {
			return ga < gb
		}
		return a.index < b.index
	})
}

// sameVPC: group references work only inside one VPC. The gateway's group
// is in the gateway's VPC when it names none; a group whose VPC is still
// unknown is taken to be in the other's VPC.
func (c *compiler) sameVPC(a, b *snapshot.SecurityGroup) bool {
	va, vb := c.vpcOf(a), c.vpcOf(b)
	return va == "" || vb == "" || va == vb
}

func (c *compiler) vpcOf(g *snapshot.SecurityGroup) string {
	if g.VpcID == "" && g.ID == c.plan.snap.Gateway.SecurityGroupID {
		return c.plan.snap.Gateway.VpcID
	}
	return g.VpcID
}

// unmodelable describes a rule the kernel cannot execute honestly, and which
// TCP flows it could decide (so only the endpoints it could affect become
// not comparable).
type unmodelable struct {
	label  string
	reason string
	ports  snapshot.PortRange // the rule's port range; All when unknown
	tcp    bool               // the rule could match TCP
}

func (u unmodelable) affects(port int) bool { return u.tcp && u.ports.Contains(port) }

// matchExpr compiles a rule's protocol and port into nft match expressions,
// or says why the kernel cannot model it. For the bridge family the
// transport is matched with "ip protocol" (no layer-4 metadata there).
func matchExpr(r *snapshot.Rule, bridge bool) (expr []string, ports snapshot.PortRange, tcp bool, problem string) {
	proto := ruleProtocol(r)
	ports = snapshot.AllPorts
	if r.PortRangeListID != "" {
		return nil, ports, proto == snapshot.ProtocolTCP || proto == snapshot.ProtocolAll,
			fmt.Sprintf("uses port list %s, which the snapshot does not expand", r.PortRangeListID)
	}
	var l4 string
	switch proto {
	case snapshot.ProtocolTCP:
		l4, tcp = "tcp", true
	case snapshot.ProtocolUDP:
		l4 = "udp"
	case snapshot.ProtocolICMP:
		l4 = "icmp"
	case snapshot.ProtocolGRE:
		l4 = "gre"
	case snapshot.ProtocolICMPv6:
		// Never IPv4: match nothing.
		l4 = "ipv6-icmp"
	case snapshot.ProtocolAll:
		tcp = true
	default:
		return nil, ports, true, fmt.Sprintf("has protocol %q, which the lab does not know", r.Protocol)
	}
	if strings.TrimSpace(r.PortRange) != "" {
		pr, err := snapshot.ParsePortRange(r.PortRange)
		if err != nil {
			return nil, ports, tcp, fmt.Sprintf("has portRange %v", err)
		}
		ports = pr
	} else if proto == snapshot.ProtocolTCP || proto == snapshot.ProtocolUDP {
		return nil, ports, tcp, "has no portRange"
	}
	if l4 != "" {
		if bridge {
			expr = append(expr, "ip protocol "+l4)
		} else {
			expr = append(expr, "meta l4proto "+l4)
		}
	}
	if !ports.All && (proto == snapshot.ProtocolTCP || proto == snapshot.ProtocolUDP) {
		portExpr := fmt.Sprint(ports.Start)
		if ports.End != ports.Start {
			portExpr = fmt.Sprintf("%d-%d", ports.Start, ports.End)
		}
		if bridge {
			expr = append(expr, l4+" dport "+portExpr)
		} else {
			expr = append(expr, "th dport "+portExpr)
		}
	} else if !ports.All && proto == snapshot.ProtocolAll {
		return nil, ports, tcp, fmt.Sprintf("has protocol ALL with portRange %s (ALL takes -1/-1)", ports)
	}
	// A source port range is matched as written: the kernel sees the
	// prober's ephemeral port, the evaluator calls such a rule undecidable.
	if sp := strings.TrimSpace(r.SourcePortRange); sp != "" {
		spr, err := snapshot.ParsePortRange(sp)
		switch {
		case err != nil:
			return nil, ports, tcp, fmt.Sprintf("has sourcePortRange %v", err)
		case spr.All || (spr.Start <= 1 && spr.End >= 65535):
		case proto != snapshot.ProtocolTCP && proto != snapshot.ProtocolUDP:
			return nil, ports, tcp, fmt.Sprintf("has sourcePortRange %s on protocol %s", spr, proto)
		default:
			sport := fmt.Sprintf("%d-%d", spr.Start, spr.End)
			if bridge {
				expr = append(expr, l4+" sport "+sport)
			} else {
				expr = append(expr, "th sport "+sport)
			}
		}
	}
	return expr, ports, tcp, ""
}

// localDestExpr compiles an ingress rule's local destination (destCidr,
// ipv6DestCidr, destPrefixListId: which of the ENI's addresses it covers).
func localDestExpr(r *snapshot.Rule) (expr, skip, problem string) {
	switch {
	case r.DestCidr != "" && r.Ipv6DestCidr != "":
		return "", "", "names both destCidr and ipv6DestCidr"
	case r.Ipv6DestCidr != "":
		return "", "IPv6 destination never matches IPv4", ""
	case r.DestCidr != "":
		pfx, err := parsePrefixOrAddr(r.DestCidr)
		if err != nil {
			return "", "", fmt.Sprintf("has destCidr %q, which is not a CIDR", r.DestCidr)
		}
		if !pfx.Addr().Is4() {
			return "", "IPv6 destination never matches IPv4", ""
		}
		if pfx.Bits() == 0 {
			return "", "", ""
		}
		return "ip daddr " + pfx.Masked().String(), "", ""
	case r.DestPrefixListID != "":
		return "", "", fmt.Sprintf("uses destination prefix list %s, which the snapshot does not expand", r.DestPrefixListID)
	}
	return "", "", ""
}

// peerExpr compiles a rule's source (ingress) or destination (egress): a
// CIDR (which wins over a group when both are set), a group's member set
// (normal groups in one VPC only), or it says why it cannot.
// skip reports a rule that can never match, such as a reference to or from
// an enterprise group: it is left out, with a comment.
func (c *compiler) peerExpr(owner *snapshot.SecurityGroup, r *snapshot.Rule, egress bool) (expr string, skip, problem string) {
	cidr, cidr6, groupID, prefixList, field := r.SourceCidr, r.Ipv6SourceCidr, r.SourceGroupID, r.SourcePrefixListID, "saddr"
	if egress {
		// The API names an egress rule's prefix list SourcePrefixListId too.
		cidr, cidr6, groupID, field = r.DestCidr, r.Ipv6DestCidr, r.DestGroupID, "daddr"
		if r.DestPrefixListID != "" {
			prefixList = r.DestPrefixListID
		}
	}
	cidr = strings.TrimSpace(cidr)
	switch {
	case cidr != "" && cidr6 != "":
		return "", "", "names an IPv4 and an IPv6 CIDR"
	case cidr6 != "":
		return "", "IPv6 CIDR never matches IPv4", ""
	case cidr != "":
		pfx, err := netip.ParsePrefix(cidr)
		if err != nil {
			a, aerr := netip.ParseAddr(cidr)
			if aerr != nil {
				return "", "", fmt.Sprintf("has CIDR %q, which is not a CIDR", cidr)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		if !pfx.Addr().Is4() {
			return "", "IPv6 CIDR never matches IPv4", ""
		}
		if pfx.Bits() == 0 {
			return "", "", ""
		}
		return fmt.Sprintf("ip %s %s", field, pfx.Masked()), "", ""
	case groupID != "":
		peer, ok := c.groups.byID[groupID]
		if !ok {
			if groupID == c.plan.snap.Gateway.SecurityGroupID {
				return "", "", fmt.Sprintf("names the gateway's group %s, which the snapshot does not describe", groupID)
			}
			return "", fmt.Sprintf("group %s is not in the snapshot: none of its members is the gateway", groupID), ""
		}
		if groupType(owner) != snapshot.GroupTypeNormal || groupType(peer) != snapshot.GroupTypeNormal {
			return "", "enterprise groups can neither reference nor be referenced", ""
		}
		if !c.sameVPC(owner, peer) {
			return "", fmt.Sprintf("group %s is in VPC %s, %s in VPC %s", peer.ID, c.vpcOf(peer), owner.ID, c.vpcOf(owner)), ""
		}
		return fmt.Sprintf("ip %s @%s", field, c.groups.setName(groupID)), "", ""
	case prefixList != "":
		return "", "", fmt.Sprintf("uses prefix list %s, which the snapshot does not expand", prefixList)
	}
	if egress {
		return "", "", "has neither destCidr nor destGroupId"
	}
	return "", "", "has neither sourceCidr nor sourceGroupId"
}

type compiler struct {
	plan   *plan
	groups *groupIndex
	// members is every group's member addresses as a traffic source: its
	// ENIs' addresses and prefixes, and the gateway's addresses for the
	// gateway's group.
	members map[string][]netip.Prefix
	// carried is every group's addresses as a destination: what its ENIs
	// carry, pod IPs routed to them (Flannel) included, as DESIGN.md's
	// endpoint → ENI rule says. Gateway egress rules naming a group use it.
	carried map[string][]netip.Prefix
	// unreadable names the groups whose rules the collection could not
	// read (snapshot "missing"), with why: the lab cannot know them.
	unreadable map[string]string
	// allUnreadable is set when no group's rules could be read.
	allUnreadable string
}

func newCompiler(p *plan) *compiler {
	c := &compiler{plan: p, groups: newGroupIndex(p.snap), members: map[string][]netip.Prefix{}, carried: map[string][]netip.Prefix{}}
	for _, n := range p.nodes {
		for _, e := range n.enis {
			for _, g := range e.groups {
				c.members[g] = append(c.members[g], e.members...)
				c.carried[g] = append(c.carried[g], e.dests...)
			}
		}
	}
	gw := p.snap.Gateway.SecurityGroupID
	for _, a := range p.gateway {
		c.members[gw] = append(c.members[gw], netip.PrefixFrom(a, 32))
	}
	for g, m := range c.members {
		c.members[g] = normalizePrefixes(m)
	}
	for g, m := range c.carried {
		c.carried[g] = normalizePrefixes(m)
	}
	c.unreadable = map[string]string{}
	for _, m := range p.snap.Missing {
		if m.Part != snapshot.PartSecurityGroups && m.Part != snapshot.PartRules {
			continue
		}
		why := fmt.Sprintf("could not be collected (%s: %s)", m.Part, m.Error)
		if len(m.IDs) == 0 {
			c.allUnreadable = why
		}
		for _, id := range m.IDs {
			c.unreadable[id] = why
		}
	}
	return c
}

// setDecls declares the address sets of the groups the rules referenced:
// sources (members) for ingress, destinations (carried) for egress.
func (c *compiler) setDecls(b *strings.Builder, egress bool) {
	sets, what := c.members, "members of "
	if egress {
		sets, what = c.carried, "addresses carried by "
	}
	for i, id := range c.groups.order {
		fmt.Fprintf(b, "\tset members_%d {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tcomment %s\n", i, nftString(what+id))
		if m := sets[id]; len(m) > 0 {
			fmt.Fprintf(b, "\t\telements = { %s }\n", joinPrefixes(m))
		}
		b.WriteString("\t}\n")
	}
}

// nodeRuleset compiles node ni's input filter. problems maps an ENI index
// to the rules it could not model.
func (c *compiler) nodeRuleset(ni int) (string, map[int][]unmodelable) {
	c.groups.order, c.groups.num = nil, map[string]int{}
	node := c.plan.nodes[ni]
	problems := map[int][]unmodelable{}
	var chains strings.Builder
	var dispatch []string
	for k, e := range node.enis {
		if len(e.dests) == 0 {
			continue
		}
		fmt.Fprintf(&chains, "\tchain eni_%d {\n\t\tcomment %s\n", k, nftString("ENI "+e.id+" groups "+strings.Join(e.groups, ",")))
		dispatch = append(dispatch, fmt.Sprintf("\t\tip daddr { %s } jump eni_%d comment %s\n", joinPrefixes(e.dests), k, nftString(e.id)))
		groupPos := map[string]int{}
		var rules []orderedRule
		for pos, id := range e.groups {
			groupPos[id] = pos
			g, ok := c.groups.byID[id]
			if !ok {
				problems[k] = append(problems[k], unmodelable{label: id, reason: "is on the ENI but not described in the snapshot (its rules are unknown)", ports: snapshot.AllPorts, tcp: true})
				continue
			}
			if why := c.unreadableWhy(id); why != "" {
				problems[k] = append(problems[k], unmodelable{label: id, reason: "has rules that " + why, ports: snapshot.AllPorts, tcp: true})
			}
			if innerAccepts(g) {
				fmt.Fprintf(&chains, "\t\tip saddr @%s accept comment %s\n", c.groups.setName(id), nftString(id+" intra-group accept"))
			}
			for ri := range g.Rules {
				if ruleDirection(&g.Rules[ri]) == snapshot.DirectionIngress {
					rules = append(rules, orderedRule{group: g, index: ri, rule: &g.Rules[ri]})
				}
			}
		}
		sortRules(rules, groupPos)
		for _, o := range rules {
			line, problem := c.ruleLine(o, false)
			if problem != nil {
				problems[k] = append(problems[k], *problem)
			}
			chains.WriteString(line)
		}
		chains.WriteString("\t\tdrop comment \"no rule matched\"\n\t}\n")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table ip %s\ndelete table ip %s\ntable ip %s {\n", tableName, tableName, tableName)
	c.setDecls(&b, false)
	b.WriteString("\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n")
	b.WriteString("\t\tiif \"lo\" accept\n\t\tct state established,related accept\n")
	for _, d := range dispatch {
		b.WriteString(d)
	}
	b.WriteString("\t}\n")
	b.WriteString(chains.String())
	b.WriteString("}\n")
	return b.String(), problems
}

func (c *compiler) unreadableWhy(id string) string {
	if why, ok := c.unreadable[id]; ok {
		return why
	}
	return c.allUnreadable
}

// ruleLine compiles one rule to a line of a chain: the rule, a comment for a
// rule that can never match, or a comment and a problem for one the kernel
// cannot model.
func (c *compiler) ruleLine(o orderedRule, egress bool) (string, *unmodelable) {
	match, ports, tcp, problem := matchExpr(o.rule, egress)
	var peer, skip string
	if problem == "" {
		peer, skip, problem = c.peerExpr(o.group, o.rule, egress)
	}
	if problem != "" {
		return fmt.Sprintf("\t\t# %s: not modelled: %s\n", sanitizeComment(o.label()), sanitizeComment(problem)),
			&unmodelable{label: o.label(), reason: problem, ports: ports, tcp: tcp}
	}
	if skip != "" {
		return fmt.Sprintf("\t\t# %s: never matches: %s\n", sanitizeComment(o.label()), sanitizeComment(skip)), nil
	}
	if peer != "" {
		match = append(match, peer)
	}
	if !egress {
		dest, dskip, dproblem := localDestExpr(o.rule)
		if dproblem != "" {
			return fmt.Sprintf("\t\t# %s: not modelled: %s\n", sanitizeComment(o.label()), sanitizeComment(dproblem)),
				&unmodelable{label: o.label(), reason: dproblem, ports: ports, tcp: tcp}
		}
		if dskip != "" {
			return fmt.Sprintf("\t\t# %s: never matches: %s\n", sanitizeComment(o.label()), sanitizeComment(dskip)), nil
		}
		if dest != "" {
			match = append(match, dest)
		}
	}
	verdict := "accept"
	if rulePolicy(o.rule) == snapshot.PolicyDrop {
		verdict = "drop"
	} else if rulePolicy(o.rule) != snapshot.PolicyAccept {
		return fmt.Sprintf("\t\t# %s: not modelled: unknown policy\n", sanitizeComment(o.label())),
			&unmodelable{label: o.label(), reason: fmt.Sprintf("has policy %q", o.rule.Policy), ports: ports, tcp: tcp}
	}
	return fmt.Sprintf("\t\t%s %s comment %s\n", strings.Join(match, " "), verdict, nftString(o.label())), nil
}

// bridgeRuleset compiles the gateway group's egress rules onto the
// gateway's switch port, ending in the group type's default (DESIGN.md §6):
// a basic group without egress rules leaves the port open; an enterprise
// group denies what no egress rule allows, even with no egress rule at all.
func (c *compiler) bridgeRuleset(gatewayPort string) (string, []unmodelable) {
	c.groups.order, c.groups.num = nil, map[string]int{}
	var b strings.Builder
	fmt.Fprintf(&b, "table bridge %s\ndelete table bridge %s\n", tableName, tableName)
	gw, ok := c.groups.byID[c.plan.snap.Gateway.SecurityGroupID]
	if !ok {
		return b.String(), nil
	}
	var problems []unmodelable
	if why := c.unreadableWhy(gw.ID); why != "" {
		problems = append(problems, unmodelable{label: gw.ID, reason: "(the gateway's group) has egress rules that " + why, ports: snapshot.AllPorts, tcp: true})
	}
	var rules []orderedRule
	for ri := range gw.Rules {
		if ruleDirection(&gw.Rules[ri]) == snapshot.DirectionEgress {
			rules = append(rules, orderedRule{group: gw, index: ri, rule: &gw.Rules[ri]})
		}
	}
	if len(rules) == 0 && (groupType(gw) != snapshot.GroupTypeEnterprise || len(problems) > 0) {
		return b.String(), problems
	}
	sortRules(rules, map[string]int{gw.ID: 0})
	var chain strings.Builder
	for _, o := range rules {
		line, problem := c.ruleLine(o, true)
		if problem != nil {
			problems = append(problems, *problem)
		}
		chain.WriteString(line)
	}
	fallback := "accept"
	if groupType(gw) == snapshot.GroupTypeEnterprise {
		fallback = "drop"
	}
	fmt.Fprintf(&b, "table bridge %s {\n", tableName)
	c.setDecls(&b, true)
	fmt.Fprintf(&b, "\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tiifname %s ether type ip jump gateway_egress\n\t}\n", nftString(gatewayPort))
	fmt.Fprintf(&b, "\tchain gateway_egress {\n\t\tcomment %s\n", nftString("egress of "+gw.ID))
	b.WriteString(chain.String())
	fmt.Fprintf(&b, "\t\t%s comment %s\n\t}\n}\n", fallback, nftString("no egress rule matched: "+groupType(gw)+" group default"))
	return b.String(), problems
}

func joinPrefixes(ps []netip.Prefix) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		if p.Bits() == 32 {
			parts[i] = p.Addr().String()
		} else {
			parts[i] = p.String()
		}
	}
	return strings.Join(parts, ", ")
}

// nftString quotes s as an nft string (comments are limited to 128 bytes).
func nftString(s string) string {
	s = sanitizeComment(s)
	if len(s) > 120 {
		s = s[:120]
	}
	return `"` + s + `"`
}

// sanitizeComment keeps what nft accepts inside a quoted string.
func sanitizeComment(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune(" .,:/_-()[]@=+", r):
			return r
		}
		return '_'
	}, s)
}
