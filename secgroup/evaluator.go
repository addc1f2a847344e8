package secgroup

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Evaluator answers "does the gateway reach this endpoint?" for one snapshot.
// New compiles every group's rules against the gateway once; Evaluate then
// memoises each (group set, protocol, port) answer, so endpoints that share a
// group set and a port cost one map lookup.
//
// An Evaluator is safe for concurrent use. It never modifies the snapshot, and
// the snapshot must not be modified while the Evaluator is in use.
type Evaluator struct {
	snap *snapshot.Snapshot

	groups map[string]*compiledGroup

	// The gateway: its group (nil when absent from the snapshot), the VPC
	// its group is in, and its source addresses.
	gwID  string
	gw    *compiledGroup
	gwVPC string
	// gwAddrs are the gateway's addresses by family (index 4 or 6), with
	// any address held by another left out; addrsNote[fam] says why a
	// family's addresses are unknown ("" when known); addrsListed is
	// false when the snapshot lists no readable addresses at all.
	gwAddrs     [7][]netip.Prefix
	addrsNote   [7]string
	addrsListed bool
	vswitches   []vswitch
	// anyPartial[fam]: some rule's CIDR holds only some of the gateway's
	// addresses of that family; without one no group set is split.
	anyPartial [7]bool

	// egress holds the gateway group's egress rules in evaluation order;
	// egressOn is true when they are evaluated (the group lists some, is
	// enterprise — whose default denies — or its rules are unreadable).
	egress   []*compiledRule
	egressOn bool

	// frozen holds the group sets of every ENI and node pool in the
	// snapshot, built by New and read without locking; sets holds any other
	// set a query names, built on first use.
	frozen map[string]*groupSet
	setsMu sync.RWMutex
	sets   map[string]*groupSet

	// cidrs memoises source-CIDR verdicts during New: accounts reuse a few
	// CIDRs across thousands of rules.
	cidrs    map[string]cidrResult
	refs     map[refKey]refResult
	portStrs map[snapshot.PortRange]string
}

type refKey struct {
	group *compiledGroup
	peer  string
}

type refResult struct {
	m   Match
	why string
}

type cidrResult struct {
	m   Match
	why string
	// The CIDR's family (0 when unreadable), and whether it holds some
	// gateway addresses of that family and not others (the few such rules
	// parse it again; the memo stays small).
	fam     uint8
	partial bool
}

// compiledGroup is one security group as the evaluator needs it.
type compiledGroup struct {
	id         string
	group      *snapshot.SecurityGroup // nil when the snapshot lacks the group
	typ        string                  // normal | enterprise; "" when unknown
	vpc        string
	innerDrop  bool
	known      bool   // the group itself (type, VPC) is in the data
	rulesKnown bool   // its rules and innerAccessPolicy are in the data
	missing    string // why it is not readable, for notes
	ingress    []*compiledRule

	viewsOnce sync.Once
	views     []RuleView // IngressRules' answer, built on first use
}

// groupSet is the merged view of the groups on one ENI, with its memoised
// ingress decisions.
type groupSet struct {
	ids []string // sorted, unique
	// rules are the ingress rules of all readable groups in evaluation
	// order (Explain walks them all); relevant keeps only those whose source
	// can be the gateway — the others never match, so Evaluate skips them.
	rules    []*compiledRule
	relevant []*compiledRule
	// unreadable lists notes for groups whose rules are not in the data.
	unreadable []string
	// gwState says whether the gateway's own group is on the ENI and what
	// intra-group access does.
	gwState intraState
	// pieces[famIndex(fam)] splits the gateway's addresses of a family into the
	// prefixes no partial source CIDR of the set cuts; nil when no rule of
	// the set holds only some of them (the usual case: one decision).
	pieces [2]*pieceSet // by famIndex
	// destDependent: some relevant rule names a local destination, so
	// decisions depend on the endpoint address and are not memoised.
	destDependent bool

	mu      sync.RWMutex
	results map[uint32]Decision
}

type intraState int

const (
	intraAbsent  intraState = iota // gateway group not on the ENI, or enterprise
	intraAllow                     // normal, innerAccessPolicy accept: allowed
	intraDrop                      // normal, innerAccessPolicy drop: rules decide
	intraUnknown                   // on the ENI, but its policy is not in the data
)

// New compiles the snapshot for evaluation. The snapshot is assumed loaded
// and normalised (lower-case type/policy/direction, upper-case protocol);
// values the evaluator cannot read (an unparseable port range or CIDR) make
// the rule "may match" rather than being trusted.
func New(s *snapshot.Snapshot) *Evaluator {
	e := &Evaluator{
		snap:   s,
		groups: make(map[string]*compiledGroup, len(s.SecurityGroups)),
		gwID:   s.Gateway.SecurityGroupID,
		sets:   make(map[string]*groupSet),
		cidrs:  make(map[string]cidrResult),
		refs:   make(map[refKey]refResult),
		// Reasons quote port ranges; a few dozen distinct ones serve
		// thousands of rules.
		portStrs: make(map[snapshot.PortRange]string),
	}
	missingGroups, missingRules, allGroups, allRules := missingParts(s.Missing)

	for i := range s.SecurityGroups {
		g := &s.SecurityGroups[i]
		if _, dup := e.groups[g.ID]; dup {
			continue // the loader rejects duplicates; keep the first
		}
		cg := &compiledGroup{
			id:    g.ID,
			group: g,
			typ:   cmp.Or(strings.ToLower(g.Type), snapshot.GroupTypeNormal),
			vpc:   g.VpcID,
			known: true,
		}
		cg.innerDrop = strings.EqualFold(g.InnerAccessPolicy, snapshot.PolicyDrop)
		cg.rulesKnown = true
		if why, ok := missingGroups[g.ID]; ok || allGroups != "" {
			cg.known, cg.rulesKnown, cg.typ = false, false, ""
			cg.missing = fmt.Sprintf("group %s could not be read (%s)", g.ID, cmp.Or(why, allGroups))
		} else if why, ok := missingRules[g.ID]; ok || allRules != "" {
			cg.rulesKnown = false
			cg.missing = fmt.Sprintf("rules of group %s could not be read (%s)", g.ID, cmp.Or(why, allRules))
		}
		e.groups[g.ID] = cg
	}

	e.gw = e.groups[e.gwID]
	e.gwVPC = s.Gateway.VpcID
	if e.gw != nil && e.gw.vpc != "" {
		e.gwVPC = e.gw.vpc
	}
	e.parseGatewayAddresses(s.Gateway.Addresses)
	e.vswitches = parseVSwitches(s.Gateway.VSwitches)

	for _, cg := range e.groups {
		if !cg.rulesKnown {
			continue
		}
		n := 0
		for i := range cg.group.Rules {
			if strings.EqualFold(cg.group.Rules[i].Direction, snapshot.DirectionIngress) {
				n++
			}
		}
		// One allocation for the group's compiled rules.
		store := make([]compiledRule, 0, n)
		cg.ingress = make([]*compiledRule, 0, n)
		for i := range cg.group.Rules {
			r := &cg.group.Rules[i]
			if !strings.EqualFold(r.Direction, snapshot.DirectionIngress) {
				continue
			}
			store = append(store, e.compileRule(cg, i))
			cr := &store[len(store)-1]
			e.compileIngressPeers(cg, cr, r)
			cg.ingress = append(cg.ingress, cr)
		}
		slices.SortFunc(cg.ingress, func(a, b *compiledRule) int { return cmp.Compare(a.order, b.order) })
	}
	e.cidrs, e.refs = nil, nil // only needed while compiling

	e.freezeSets()

	if gw := e.gw; gw != nil {
		if !gw.rulesKnown {
			e.egressOn = true
		} else {
			for i := range gw.group.Rules {
				if strings.EqualFold(gw.group.Rules[i].Direction, snapshot.DirectionEgress) {
					e.egress = append(e.egress, e.compileEgress(gw, i))
				}
			}
			slices.SortFunc(e.egress, compareRules)
			// An enterprise group denies outbound traffic no egress rule
			// allows, so with its rules known its egress always decides; a
			// basic group without egress rules allows everything out.
			e.egressOn = len(e.egress) > 0 || gw.typ == snapshot.GroupTypeEnterprise
		}
	}
	return e
}

// missingParts reads s.Missing: which groups are unreadable entirely
// (securityGroups) or only their rules (rules), each with the recorded error;
// a whole-part entry returns its error as all*.
func missingParts(parts []snapshot.MissingPart) (groups, rules map[string]string, allGroups, allRules string) {
	groups, rules = map[string]string{}, map[string]string{}
	for _, p := range parts {
		why := cmp.Or(p.Error, "no error recorded")
		if p.Action != "" {
			why = p.Action + ": " + why
		}
		var m map[string]string
		switch p.Part {
		case snapshot.PartSecurityGroups:
			m = groups
			if len(p.IDs) == 0 {
				allGroups = why
			}
		case snapshot.PartRules:
			m = rules
			if len(p.IDs) == 0 {
				allRules = why
			}
		default:
			continue
		}
		for _, id := range p.IDs {
			m[id] = why
		}
	}
	return groups, rules, allGroups, allRules
}

// parseGatewayAddresses reads the gateway's addresses as prefixes (a plain
// IP is a /32 or /128), by family. A family with no address is unknown for
// flows of that family; an unreadable entry makes both unknown.
func (e *Evaluator) parseGatewayAddresses(addrs []string) {
	if len(addrs) == 0 {
		e.addrsNote[4], e.addrsNote[6] = "gateway addresses unknown", "gateway addresses unknown"
		return
	}
	var all []netip.Prefix
	for _, a := range addrs {
		p, err := parsePrefix(a)
		if err != nil {
			note := fmt.Sprintf("gateway addresses unknown: %q is not an IP or CIDR", a)
			e.addrsNote[4], e.addrsNote[6] = note, note
			return
		}
		all = append(all, p)
	}
	e.addrsListed = true
	for _, p := range all {
		held := false
		for _, q := range all {
			if q != p && q.Bits() < p.Bits() && q.Contains(p.Addr()) {
				held = true
			}
		}
		f := famOf(p.Addr())
		if !held && !slices.Contains(e.gwAddrs[f], p) {
			e.gwAddrs[f] = append(e.gwAddrs[f], p)
		}
	}
	for _, f := range []uint8{4, 6} {
		if len(e.gwAddrs[f]) == 0 {
			e.addrsNote[f] = fmt.Sprintf("the gateway's IPv%d addresses are unknown (gateway.addresses lists none)", f)
		}
	}
}

// vswitch is a gateway vSwitch with its CIDR parsed.
type vswitch struct {
	id, zone string
	cidr     netip.Prefix
}

func parseVSwitches(vs []snapshot.VSwitch) []vswitch {
	var out []vswitch
	for _, v := range vs {
		p, err := parsePrefix(v.Cidr)
		if err != nil {
			continue // no CIDR: it cannot name any address
		}
		out = append(out, vswitch{id: v.ID, zone: v.ZoneID, cidr: p})
	}
	return out
}

// vswitchOf returns the gateway vSwitch whose CIDR holds p, nil when none.
func (e *Evaluator) vswitchOf(p netip.Prefix) *vswitch {
	for i := range e.vswitches {
		v := &e.vswitches[i]
		if v.cidr.Bits() <= p.Bits() && v.cidr.Contains(p.Addr()) {
			return v
		}
	}
	return nil
}

// parsePrefix parses a CIDR or a plain IP (as a host prefix), masked.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// compareRules orders rules for evaluation: smaller priority number first,
// drop before accept at equal priority, then group order and rule position
// (which only make the order deterministic).
func compareRules(a, b *compiledRule) int {
	// order packs priority, drop-first and position; only the group order
	// has to be compared apart, between the position and the rest.
	if c := cmp.Compare(a.order>>32, b.order>>32); c != 0 {
		return c
	}
	if c := strings.Compare(a.view.Ref.GroupID, b.view.Ref.GroupID); c != 0 {
		return c
	}
	return cmp.Compare(a.order, b.order)
}

// freezeSets builds the merged view of every ENI's and node pool's groups,
// so that Evaluate finds them without taking a lock.
func (e *Evaluator) freezeSets() {
	e.frozen = make(map[string]*groupSet)
	add := func(ids []string) {
		var arr [8]string
		var buf [256]byte
		sorted, key := setKey(ids, arr[:0], buf[:0])
		if e.frozen[string(key)] == nil {
			e.frozen[string(key)] = e.buildSet(slices.Clone(sorted))
		}
	}
	for i := range e.snap.Nodes {
		for j := range e.snap.Nodes[i].ENIs {
			add(e.snap.Nodes[i].ENIs[j].SecurityGroupIDs)
		}
	}
	for i := range e.snap.NodePools {
		add(e.snap.NodePools[i].SecurityGroupIDs)
	}
}

// setKey sorts and de-duplicates ids into scratch and appends the set's map
// key to buf. Callers pass stack arrays so that a lookup does not allocate.
func setKey(ids, scratch []string, buf []byte) (sorted []string, key []byte) {
	sorted = append(scratch, ids...)
	// Insertion sort: ENIs carry a handful of groups.
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	n := 0
	for i, id := range sorted {
		if i == 0 || id != sorted[n-1] {
			sorted[n] = id
			n++
		}
	}
	sorted = sorted[:n]
	key = buf
	for i, id := range sorted {
		if i > 0 {
			key = append(key, 0)
		}
		key = append(key, id...)
	}
	return sorted, key
}

// lookupSet returns the compiled, merged view of a set of groups: a frozen
// one, or one built on first use. The key is built on the stack so a hit
// does not allocate.
func (e *Evaluator) lookupSet(ids []string) *groupSet {
	var arr [8]string
	var buf [256]byte
	sorted, key := setKey(ids, arr[:0], buf[:0])
	if gs := e.frozen[string(key)]; gs != nil {
		return gs
	}
	e.setsMu.RLock()
	gs := e.sets[string(key)]
	e.setsMu.RUnlock()
	if gs != nil {
		return gs
	}
	gs = e.buildSet(slices.Clone(sorted))
	e.setsMu.Lock()
	if prev := e.sets[string(key)]; prev != nil {
		gs = prev
	} else {
		e.sets[string(key)] = gs
	}
	e.setsMu.Unlock()
	return gs
}

func (e *Evaluator) buildSet(ids []string) *groupSet {
	gs := &groupSet{ids: ids, results: make(map[uint32]Decision)}
	n := 0
	for _, id := range ids {
		cg := e.groups[id]
		switch {
		case cg == nil:
			gs.unreadable = append(gs.unreadable, fmt.Sprintf("group %s is on the ENI but not in the snapshot: its rules are unknown", id))
		case !cg.rulesKnown:
			gs.unreadable = append(gs.unreadable, cg.missing)
		default:
			n += len(cg.ingress)
		}
		if id == e.gwID {
			switch {
			case cg == nil || !cg.known:
				gs.gwState = intraUnknown
			case cg.typ != snapshot.GroupTypeNormal:
				gs.gwState = intraAbsent
			case !cg.rulesKnown:
				gs.gwState = intraUnknown
			case cg.innerDrop:
				gs.gwState = intraDrop
			default:
				gs.gwState = intraAllow
			}
		}
	}
	// Merge the groups' already sorted lists (a handful of them).
	lists := make([][]*compiledRule, 0, len(ids))
	for _, id := range ids {
		if cg := e.groups[id]; cg != nil && cg.rulesKnown && len(cg.ingress) > 0 {
			lists = append(lists, cg.ingress)
		}
	}
	gs.rules = make([]*compiledRule, 0, n)
	for {
		best := -1
		for i, l := range lists {
			if len(l) > 0 && (best < 0 || compareRules(l[0], lists[best][0]) < 0) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		gs.rules = append(gs.rules, lists[best][0])
		lists[best] = lists[best][1:]
	}
	for _, r := range gs.rules {
		if r.view.Source != NoMatch {
			gs.relevant = append(gs.relevant, r)
			if r.x != nil && r.x.inDest.IsValid() {
				gs.destDependent = true
			}
		}
	}
	for _, f := range []uint8{4, 6} {
		if e.anyPartial[f] {
			gs.pieces[famIndex(f)] = e.splitAddresses(gs.relevant, f)
		}
	}
	return gs
}

// famIndex maps family 4 or 6 to 0 or 1.
func famIndex(fam uint8) int { return int(fam / 6) }

// uncut is a prefix of one gateway address (addr indexes gwAddrs[fam]) that
// no partial source CIDR cuts: each such CIDR holds all of it or none.
type uncut struct {
	prefix netip.Prefix
	addr   int
	// sig indexes pieceSet.reps: pieces inside the same partial CIDRs get
	// the same decision, so it is made once per signature.
	sig int
}

// pieceSet is a group set's split of the gateway's addresses of one family.
type pieceSet struct {
	pieces []uncut
	// reps holds one piece prefix per distinct set of partial CIDRs
	// holding it: deciding a representative decides all its pieces.
	reps []netip.Prefix
}

// splitAddresses splits the gateway's addresses of family fam into the
// prefixes no partial source CIDR among rules cuts. Nil when no rule is
// partial for that family: every rule then treats all addresses alike.
func (e *Evaluator) splitAddresses(rules []*compiledRule, fam uint8) *pieceSet {
	var cuts []netip.Prefix
	anyPartial := false
	for _, r := range rules {
		if r.srcPartial && r.srcFam == fam {
			anyPartial = true
			if !slices.Contains(cuts, r.x.srcPrefix) {
				cuts = append(cuts, r.x.srcPrefix)
			}
		}
	}
	if !anyPartial {
		return nil
	}
	var out []uncut
	for i, a := range e.gwAddrs[fam] {
		var inside []netip.Prefix
		for _, c := range cuts {
			if c.Bits() > a.Bits() && a.Contains(c.Addr()) {
				inside = append(inside, c)
			}
		}
		out = splitPrefix(a, i, inside, out)
	}
	ps := &pieceSet{pieces: out}
	sigs := map[string]int{}
	var key []byte
	for i := range ps.pieces {
		u := &ps.pieces[i]
		key = key[:0]
		for ci, c := range cuts {
			if c.Bits() <= u.prefix.Bits() && c.Contains(u.prefix.Addr()) {
				key = append(key, byte(ci), byte(ci>>8))
			}
		}
		sig, ok := sigs[string(key)]
		if !ok {
			sig = len(ps.reps)
			sigs[string(key)] = sig
			ps.reps = append(ps.reps, u.prefix)
		}
		u.sig = sig
	}
	return ps
}

// splitPrefix halves p until no prefix of cuts lies strictly inside a half.
// Cuts are CIDRs, so each is then either all of a half or outside it.
func splitPrefix(p netip.Prefix, addr int, cuts []netip.Prefix, out []uncut) []uncut {
	var inside []netip.Prefix
	for _, c := range cuts {
		if c.Bits() > p.Bits() && p.Contains(c.Addr()) {
			inside = append(inside, c)
		}
	}
	if len(inside) == 0 {
		return append(out, uncut{prefix: p, addr: addr})
	}
	lo, hi := halves(p)
	out = splitPrefix(lo, addr, inside, out)
	return splitPrefix(hi, addr, inside, out)
}

// halves returns the two prefixes one bit longer than p.
func halves(p netip.Prefix) (lo, hi netip.Prefix) {
	bits := p.Bits()
	a := p.Addr()
	lo = netip.PrefixFrom(a, bits+1)
	b := a.AsSlice()
	b[bits/8] |= 0x80 >> (bits % 8)
	h, _ := netip.AddrFromSlice(b)
	return lo, netip.PrefixFrom(h, bits+1)
}
