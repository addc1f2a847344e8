package secgroup

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The reference below is written straight from DESIGN.md's semantics, with
// none of the evaluator's machinery: every "may match" rule is enumerated as
// matching and not matching, and a group whose rules are unknown is modelled
// as two phantom rules that may match — an accept and a drop at priority 1 —
// since it could hold any rule.

type tri int

const (
	no tri = iota
	yes
	maybe
)

func and(a, b tri) tri {
	if a == no || b == no {
		return no
	}
	if a == maybe || b == maybe {
		return maybe
	}
	return yes
}

type refRule struct {
	prio int
	drop bool
	m    tri
}

type refWorld struct {
	s        *snapshot.Snapshot
	groups   map[string]*snapshot.SecurityGroup
	badGroup map[string]bool // type/VPC unknown
	badRules map[string]bool // rules unknown
	gw       *snapshot.SecurityGroup
	gwKnown  bool
	gwVPC    string
	addrs    []netip.Prefix // nil when unknown or unreadable
}

func newRefWorld(s *snapshot.Snapshot) *refWorld {
	w := &refWorld{s: s, groups: map[string]*snapshot.SecurityGroup{}, badGroup: map[string]bool{}, badRules: map[string]bool{}}
	for i := range s.SecurityGroups {
		w.groups[s.SecurityGroups[i].ID] = &s.SecurityGroups[i]
	}
	for _, m := range s.Missing {
		ids := m.IDs
		if len(ids) == 0 {
			ids = slices.Collect(func(yield func(string) bool) {
				for id := range w.groups {
					if !yield(id) {
						return
					}
				}
			})
		}
		for _, id := range ids {
			w.badRules[id] = true
			if m.Part == "securityGroups" {
				w.badGroup[id] = true
			}
		}
	}
	w.gw = w.groups[s.Gateway.SecurityGroupID]
	w.gwKnown = w.gw != nil && !w.badGroup[w.gw.ID]
	w.gwVPC = s.Gateway.VpcID
	if w.gw != nil && w.gw.VpcID != "" {
		w.gwVPC = w.gw.VpcID
	}
	for _, a := range s.Gateway.Addresses {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			ip := netip.MustParseAddr(a)
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		w.addrs = append(w.addrs, p.Masked())
	}
	return w
}

func typeOf(g *snapshot.SecurityGroup) string {
	if g.Type == "" {
		return "normal"
	}
	return g.Type
}

func refProto(r *snapshot.Rule, p string) tri {
	rp := strings.ToUpper(r.Protocol)
	if rp == "" {
		rp = "TCP"
	}
	if rp == "ALL" || rp == strings.ToUpper(p) {
		return yes
	}
	return no
}

func refPort(r *snapshot.Rule, port int) tri {
	if r.PortRangeListID != "" {
		return maybe
	}
	if r.PortRange == "-1/-1" || r.PortRange == "" {
		return yes
	}
	a, b, _ := strings.Cut(r.PortRange, "/")
	lo, _ := strconv.Atoi(a)
	hi, _ := strconv.Atoi(b)
	if port >= lo && port <= hi {
		return yes
	}
	return no
}

// refGroupRef: may a rule of g reference peer (both normal, same VPC)?
func (w *refWorld) refGroupRef(g *snapshot.SecurityGroup, peer string) tri {
	if typeOf(g) == "enterprise" {
		return no
	}
	p := w.groups[peer]
	if p == nil || w.badGroup[peer] {
		return maybe
	}
	if typeOf(p) == "enterprise" {
		return no
	}
	gv, pv := g.VpcID, p.VpcID
	if g.ID == w.s.Gateway.SecurityGroupID {
		gv = w.gwVPC
	}
	if peer == w.s.Gateway.SecurityGroupID {
		pv = w.gwVPC
	}
	if gv != "" && pv != "" && gv != pv {
		return no
	}
	return yes
}

// refSource: does the rule's source match traffic from the gateway address
// src? src invalid means the gateway's addresses of the flow's family are
// unknown: only a /0 of that family surely holds them.
func (w *refWorld) refSource(g *snapshot.SecurityGroup, r *snapshot.Rule, fam int, src netip.Addr) tri {
	cidr := r.SourceCidr
	if cidr == "" {
		cidr = r.Ipv6SourceCidr
	}
	switch {
	case r.SourceCidr != "" && r.Ipv6SourceCidr != "":
		return maybe
	case cidr != "":
		c := netip.MustParsePrefix(cidr)
		if c.Addr().Is4() != (fam == 4) {
			return no
		}
		if !src.IsValid() {
			if c.Bits() == 0 {
				return yes
			}
			return maybe
		}
		if c.Contains(src) {
			return yes
		}
		return no
	case r.SourcePrefixListID != "":
		return maybe
	case r.SourceGroupID != "":
		if r.SourceGroupID != w.s.Gateway.SecurityGroupID {
			return no
		}
		return w.refGroupRef(g, r.SourceGroupID)
	}
	return no
}

// refExtra: the rule fields besides protocol, port and source — the local
// destination against the endpoint, and a source port range, which the
// gateway's ephemeral port may or may not fall in.
func refExtra(r *snapshot.Rule, dest netip.Addr) tri {
	t := yes
	switch d := r.DestCidr + r.Ipv6DestCidr; {
	case r.DestCidr != "" && r.Ipv6DestCidr != "":
		t = maybe
	case d != "":
		if !netip.MustParsePrefix(d).Contains(dest) {
			return no
		}
	case r.DestPrefixListID != "":
		t = maybe
	}
	if sp := r.SourcePortRange; sp != "" && sp != "-1/-1" && sp != "1/65535" {
		t = maybe
	}
	return t
}

// samples returns gateway addresses standing for every part of the
// gateway's addresses of family fam that the rules can tell apart: the
// first address of each gateway address, and the first address of, and the
// address just past, every rule CIDR inside it (any region the CIDRs carve
// out starts at one of those). Nil when that family's addresses are unknown.
func (w *refWorld) samples(fam int, groups []string) []netip.Addr {
	var out []netip.Addr
	add := func(a netip.Addr) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range w.addrs {
		if a.Addr().Is4() != (fam == 4) {
			continue
		}
		add(a.Addr())
		for _, id := range groups {
			g := w.groups[id]
			if g == nil {
				continue
			}
			for _, r := range g.Rules {
				cidr := r.SourceCidr + r.Ipv6SourceCidr
				if r.Direction != "ingress" || cidr == "" || r.SourceCidr != "" && r.Ipv6SourceCidr != "" {
					continue
				}
				c := netip.MustParsePrefix(cidr)
				if !a.Overlaps(c) || c.Bits() <= a.Bits() {
					continue
				}
				add(c.Addr())
				if past := lastAddr(c).Next(); past.IsValid() && a.Contains(past) {
					add(past)
				}
			}
		}
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func prioOf(r *snapshot.Rule) int {
	if r.Priority == 0 {
		return 1
	}
	return r.Priority
}

// outcomes enumerates every assignment of the maybe rules and returns which
// verdicts (deny, allow) occur. intra may be no, yes or maybe.
func outcomes(rules []refRule, intra tri, defaultDeny bool) (deny, allow bool) {
	var maybes []int
	for i, r := range rules {
		if r.m == maybe {
			maybes = append(maybes, i)
		}
	}
	intraOpts := []bool{intra == yes}
	if intra == maybe {
		intraOpts = []bool{false, true}
	}
	for _, in := range intraOpts {
		for mask := 0; mask < 1<<len(maybes); mask++ {
			on := func(i int) bool {
				if rules[i].m == yes {
					return true
				}
				if rules[i].m == no {
					return false
				}
				k := slices.Index(maybes, i)
				return mask&(1<<k) != 0
			}
			if in {
				allow = true
				continue
			}
			best, bestDrop, any := 0, false, false
			for i, r := range rules {
				if !on(i) {
					continue
				}
				if !any || r.prio < best {
					best, bestDrop, any = r.prio, r.drop, true
				} else if r.prio == best && r.drop {
					bestDrop = true
				}
			}
			if (!any && defaultDeny) || (any && bestDrop) {
				deny = true
			} else {
				allow = true
			}
		}
	}
	return deny, allow
}

func (w *refWorld) verdict(q Query) Verdict {
	var ids []string
	for _, id := range q.GroupIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return Unknown
	}
	fam := 4
	if q.Dest.IsValid() && !q.Dest.Unmap().Is4() {
		fam = 6
	}
	srcs := w.samples(fam, ids)
	if len(srcs) == 0 {
		srcs = []netip.Addr{{}} // the family's addresses are unknown
	}
	// Ingress, decided for each sample address of the gateway.
	var allowN, denyN, unknownN int
	for _, src := range srcs {
		var rules []refRule
		intra := no
		for _, id := range ids {
			g := w.groups[id]
			if g == nil || w.badRules[id] {
				rules = append(rules, refRule{prio: 1, drop: true, m: maybe}, refRule{prio: 1, drop: false, m: maybe})
			}
			if id == w.s.Gateway.SecurityGroupID {
				switch {
				case g != nil && !w.badGroup[id] && typeOf(g) == "enterprise":
				case g == nil || w.badRules[id]:
					intra = maybe
				case g.InnerAccessPolicy != "drop":
					intra = yes
				}
			}
			if g == nil || w.badRules[id] {
				continue
			}
			for i := range g.Rules {
				r := &g.Rules[i]
				if r.Direction != "ingress" {
					continue
				}
				m := and(and(refProto(r, q.Protocol), refPort(r, q.Port)), and(w.refSource(g, r, fam, src), refExtra(r, q.Dest)))
				rules = append(rules, refRule{prio: prioOf(r), drop: r.Policy == "drop", m: m})
			}
		}
		switch inDeny, inAllow := outcomes(rules, intra, true); {
		case inDeny && !inAllow:
			denyN++
		case inAllow && !inDeny:
			allowN++
		default:
			unknownN++
		}
	}
	in := Unknown
	switch {
	case denyN == 0 && unknownN == 0:
		in = Allow
	case allowN == 0 && unknownN == 0:
		in = Deny
	case denyN > 0:
		in = Partial
	}

	// Egress of the gateway group.
	egDeny, egAllow := false, true
	if w.gw != nil {
		if w.badRules[w.gw.ID] {
			egDeny, egAllow = true, true
		} else {
			var eg []refRule
			for i := range w.gw.Rules {
				r := &w.gw.Rules[i]
				if r.Direction != "egress" {
					continue
				}
				var dest tri
				switch d := r.DestCidr + r.Ipv6DestCidr; {
				case r.DestCidr != "" && r.Ipv6DestCidr != "":
					dest = maybe
				case d != "":
					if netip.MustParsePrefix(d).Contains(q.Dest) {
						dest = yes
					}
				case r.DestPrefixListID != "" || r.SourcePrefixListID != "":
					dest = maybe
				case r.DestGroupID != "":
					if slices.Contains(ids, r.DestGroupID) {
						dest = w.refGroupRef(w.gw, r.DestGroupID)
					}
				}
				m := and(and(refProto(r, q.Protocol), refPort(r, q.Port)), dest)
				if sp := r.SourcePortRange; m != no && sp != "" && sp != "-1/-1" && sp != "1/65535" {
					m = maybe
				}
				eg = append(eg, refRule{prio: prioOf(r), drop: r.Policy == "drop", m: m})
			}
			// An enterprise group denies what no egress rule allows, even
			// with no egress rule; a basic one without rules allows all.
			if len(eg) > 0 || typeOf(w.gw) == "enterprise" {
				egDeny, egAllow = outcomes(eg, no, typeOf(w.gw) == "enterprise")
			}
		}
	}
	switch {
	case egDeny && !egAllow:
		return Deny
	case egAllow && !egDeny:
		return in
	case in == Deny || in == Partial:
		return in // the denied pieces stay denied whatever egress does
	}
	return Unknown
}

// randomSnapshot builds a small random world: the gateway group and three
// backend groups with a handful of rules each, over a few VPCs, types,
// sources, ports and priorities chosen to collide often.
func randomSnapshot(rng *rand.Rand) *snapshot.Snapshot {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	s := &snapshot.Snapshot{Version: 1, Gateway: snapshot.Gateway{ID: "gw", VpcID: "vpc-a", SecurityGroupID: "sg-gw"}}
	switch rng.IntN(7) {
	case 0: // unknown addresses
	case 1:
		s.Gateway.Addresses = []string{"192.168.0.0/24"}
	case 2:
		s.Gateway.Addresses = []string{"192.168.0.5", "10.1.0.0/16"}
	case 3: // dual-stack
		s.Gateway.Addresses = []string{"192.168.0.0/24", "2001:db8:1::/64"}
	case 4: // IPv6 only
		s.Gateway.Addresses = []string{"2001:db8:1::/64", "2001:db8:2::/64"}
	default: // two zones
		s.Gateway.Addresses = []string{"192.168.0.0/24", "192.168.1.0/24"}
		s.Gateway.VSwitches = []snapshot.VSwitch{{ID: "vsw-a", ZoneID: "zone-a", Cidr: "192.168.0.0/24"}, {ID: "vsw-b", ZoneID: "zone-b", Cidr: "192.168.1.0/24"}}
	}
	for _, id := range []string{"sg-gw", "sg-b", "sg-c", "sg-d"} {
		if id != "sg-gw" && rng.IntN(8) == 0 {
			continue // absent from the snapshot
		}
		g := snapshot.SecurityGroup{ID: id, Type: pick("normal", "normal", "normal", "enterprise", ""), VpcID: pick("vpc-a", "vpc-a", "vpc-b", ""),
			InnerAccessPolicy: pick("accept", "drop", "")}
		n := rng.IntN(5)
		for i := 0; i < n; i++ {
			r := snapshot.Rule{ID: fmt.Sprintf("r%d", i), Direction: "ingress", Policy: pick("accept", "drop"),
				Priority: []int{0, 1, 1, 2, 50, 100, 110}[rng.IntN(7)], Protocol: pick("TCP", "TCP", "UDP", "ALL", "tcp")}
			r.PortRange = pick("8080/8080", "8000/8090", "1/65535", "9000/9000", "8081/8081")
			if r.Protocol == "ALL" && rng.IntN(2) == 0 {
				r.PortRange = "-1/-1"
			}
			if rng.IntN(10) == 0 {
				r.PortRange, r.PortRangeListID = "", "prl-1"
			}
			switch rng.IntN(9) {
			case 0, 1, 2:
				r.SourceGroupID = "sg-gw"
			case 3:
				r.SourceGroupID = pick("sg-b", "sg-x")
			case 4:
				r.SourceCidr = pick("0.0.0.0/0", "192.168.0.0/16", "192.168.0.0/25", "10.0.0.0/8", "192.168.0.5/32",
					"192.168.1.0/24", "192.168.0.0/26", "192.168.0.64/26", "192.168.0.128/25", "192.168.1.128/25")
				if rng.IntN(4) == 0 {
					r.SourceCidr, r.Ipv6SourceCidr = "", pick("::/0", "2001:db8:1::/64", "2001:db8:1::/80", "2001:db8::/32")
				}
			case 5:
				r.SourcePrefixListID = "pl-1"
			case 6:
				r.SourceGroupID, r.SourceCidr = "sg-gw", pick("0.0.0.0/0", "10.0.0.0/8")
			case 7:
				r.SourceCidr = "192.168.0.0/24"
			default:
				r.SourceGroupID = "sg-gw"
				r.Direction = "egress"
				switch rng.IntN(3) {
				case 0:
					r.SourceGroupID, r.DestCidr = "", pick("172.16.0.0/16", "0.0.0.0/0", "10.0.0.0/8")
				case 1:
					r.SourceGroupID, r.DestGroupID = "", pick("sg-b", "sg-c")
				default:
					r.SourceGroupID, r.SourcePrefixListID = "", "pl-2"
				}
			}
			if r.Direction == "ingress" && rng.IntN(12) == 0 {
				r.DestCidr = pick("172.16.0.10/32", "172.16.0.0/16", "10.0.0.0/8")
			}
			if r.Direction == "egress" && r.DestCidr != "" && rng.IntN(4) == 0 {
				r.DestCidr, r.Ipv6DestCidr = "", pick("::/0", "2001:db8:9::/64")
			}
			if r.Direction == "egress" && r.DestCidr == "" && r.Ipv6DestCidr == "" && r.DestGroupID == "" && rng.IntN(2) == 0 {
				r.SourcePrefixListID, r.DestPrefixListID = "", "pl-3"
			}
			if rng.IntN(15) == 0 {
				r.SourcePortRange = pick("1/1024", "-1/-1", "1/65535")
			}
			g.Rules = append(g.Rules, r)
		}
		s.SecurityGroups = append(s.SecurityGroups, g)
	}
	if rng.IntN(2) == 0 { // freeze some sets in New
		s.Nodes = []snapshot.Node{{Name: "n1", ENIs: []snapshot.ENI{
			{ID: "eni-1", Primary: true, SecurityGroupIDs: []string{pick("sg-b", "sg-gw")}},
			{ID: "eni-2", SecurityGroupIDs: []string{"sg-c", "sg-b", "sg-gone"}},
		}}}
	}
	if rng.IntN(6) == 0 {
		s.Missing = append(s.Missing, snapshot.MissingPart{Part: pick("rules", "securityGroups"), IDs: []string{pick("sg-b", "sg-c", "sg-gw")}, Error: "x"})
	}
	return s
}

func randomQuery(rng *rand.Rand) Query {
	var ids []string
	for _, id := range []string{"sg-gw", "sg-b", "sg-c", "sg-d", "sg-gone"} {
		if rng.IntN(3) == 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 && rng.IntN(5) != 0 {
		ids = []string{"sg-b"}
	}
	return Query{GroupIDs: ids, Protocol: []string{"TCP", "TCP", "UDP", "tcp"}[rng.IntN(4)],
		Port: []int{8080, 8081, 8085, 9000, 22}[rng.IntN(5)], Dest: netip.MustParseAddr([]string{"172.16.0.10", "10.9.9.9", "172.16.0.10", "2001:db8:9::10"}[rng.IntN(4)])}
}

// comparable strips pointers so decisions from two evaluators compare.
func comparable(d Decision) string {
	var unc []string
	for _, u := range d.Uncertain {
		unc = append(unc, refName(&u))
	}
	return fmt.Sprintf("%v|%d|%s|%v|%q", d.Verdict, d.Reason, refName(d.Deciding), unc, d.Notes)
}

func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[Verdict]int{}
	iterations := 3000
	if raceEnabled {
		iterations = 600
	}
	for iter := 0; iter < iterations; iter++ {
		s := randomSnapshot(rng)
		e := New(s)
		w := newRefWorld(s)
		for k := 0; k < 10; k++ {
			q := randomQuery(rng)
			want := w.verdict(q)
			got := e.Evaluate(q)
			seen[got.Verdict]++
			if got.Verdict != want {
				x := e.Explain(q)
				t.Fatalf("iteration %d: Evaluate(%+v) = %v (reason %d, notes %q), reference %v\nsnapshot %+v\ntrail %+v",
					iter, q, got.Verdict, got.Reason, got.Notes, want, s, x.Considered)
			}
			x := e.Explain(q)
			if comparable(x.Decision) != comparable(got) {
				t.Fatalf("iteration %d: Explain %s != Evaluate %s", iter, comparable(x.Decision), comparable(got))
			}
			if again := e.Evaluate(q); !reflect.DeepEqual(again, got) {
				t.Fatalf("iteration %d: memoised %+v != first %+v", iter, again, got)
			}
			if fresh := New(s).Evaluate(q); comparable(fresh) != comparable(got) {
				t.Fatalf("iteration %d: fresh evaluator %s != memoised %s", iter, comparable(fresh), comparable(got))
			}
			decisive := 0
			for _, c := range x.Considered {
				if c.Decisive {
					decisive++
				}
			}
			if len(got.Pieces) == 0 && ((got.Deciding != nil) != (decisive == 1) || decisive > 1) {
				t.Fatalf("iteration %d: %d decisive entries, deciding %v", iter, decisive, got.Deciding)
			}
			if len(got.Pieces) > 0 {
				decidingPieces := map[*snapshot.Rule]bool{}
				for _, p := range got.Pieces {
					if p.Verdict == Partial || len(p.Prefixes) == 0 {
						t.Fatalf("iteration %d: bad piece %+v", iter, p)
					}
					if p.Deciding != nil {
						decidingPieces[p.Deciding.Rule] = true
					}
				}
				if decisive != len(decidingPieces) {
					t.Fatalf("iteration %d: %d decisive entries, %d deciding rules among the pieces", iter, decisive, len(decidingPieces))
				}
			}
			denied := got.Verdict == Deny || got.Verdict == Partial
			if got.Reason == ReasonRule && (got.Deciding == nil || (got.Deciding.Rule.Policy == "drop") != denied) {
				t.Fatalf("iteration %d: ReasonRule with deciding %+v and verdict %v", iter, got.Deciding, got.Verdict)
			}
		}
	}
	for _, v := range []Verdict{Allow, Deny, Unknown, Partial} {
		if seen[v] < iterations/30 {
			t.Errorf("the generator produced only %d %v verdicts: it does not exercise the evaluator", seen[v], v)
		}
	}
}

// TestConcurrentEvaluate runs Evaluate from many goroutines on one evaluator
// (run with -race) and checks every answer against a sequential evaluator.
func TestConcurrentEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	s := randomSnapshot(rng)
	for len(s.SecurityGroups) < 4 {
		s = randomSnapshot(rng)
	}
	// Some sets are frozen by New (they sit on an ENI), the rest are built
	// concurrently on first use.
	s.Nodes = []snapshot.Node{{Name: "n1", ENIs: []snapshot.ENI{
		{ID: "eni-1", Primary: true, SecurityGroupIDs: []string{"sg-b"}},
		{ID: "eni-2", SecurityGroupIDs: []string{"sg-c", "sg-b"}},
	}}}
	queries := make([]Query, 400)
	want := make([]string, len(queries))
	seq := New(s)
	for i := range queries {
		queries[i] = randomQuery(rng)
		want[i] = comparable(seq.Evaluate(queries[i]))
	}
	e := New(s)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for round := 0; round < 5; round++ {
				for k := range queries {
					i := (k*7 + g*31 + round) % len(queries)
					if got := comparable(e.Evaluate(queries[i])); got != want[i] {
						errs <- fmt.Sprintf("goroutine %d query %d: %s, want %s", g, i, got, want[i])
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
