package secgroup

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

type evalCase struct {
	name string
	s    *snapshot.Snapshot
	// q defaults to TCP 8080 to 172.16.0.10 on an ENI with sg-b.
	groups []string
	port   int
	proto  string
	dest   string

	verdict  Verdict
	reason   Reason
	deciding string // "group/ruleID", "" for none
	// uncertain lists "group/ruleID" of Decision.Uncertain, in order.
	uncertain []string
	// whys maps "group/ruleID" to a substring its Considered.Why must hold.
	whys map[string]string
	// notes are substrings that must each appear in some note.
	notes []string
	// pieces, when set, are Decision.Pieces written "where|prefixes|verdict|deciding"
	// (where: ZoneID, else the gateway address); decisive then lists every
	// rule marked Decisive in the trail, in trail order.
	pieces   []string
	decisive []string
}

func (c evalCase) query() Query {
	q := Query{GroupIDs: c.groups, Protocol: c.proto, Port: c.port}
	if q.GroupIDs == nil {
		q.GroupIDs = []string{"sg-b"}
	}
	if q.Port == 0 {
		q.Port = 8080
	}
	if q.Protocol == "" {
		q.Protocol = "TCP"
	}
	dest := c.dest
	if dest == "" {
		dest = "172.16.0.10"
	}
	q.Dest = netip.MustParseAddr(dest)
	return q
}

func refName(r *RuleRef) string {
	if r == nil {
		return ""
	}
	return r.GroupID + "/" + r.RuleID
}

func runCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := New(c.s)
			q := c.query()
			d := e.Evaluate(q)
			x := e.Explain(q)
			if d.Verdict != c.verdict || d.Reason != c.reason || refName(d.Deciding) != c.deciding {
				t.Errorf("Evaluate = %v reason %v deciding %q; want %v reason %v deciding %q\nnotes: %q",
					d.Verdict, d.Reason, refName(d.Deciding), c.verdict, c.reason, c.deciding, d.Notes)
			}
			if x.Verdict != d.Verdict || x.Reason != d.Reason || refName(x.Deciding) != refName(d.Deciding) {
				t.Errorf("Explain = %v/%v/%q, Evaluate = %v/%v/%q", x.Verdict, x.Reason, refName(x.Deciding), d.Verdict, d.Reason, refName(d.Deciding))
			}
			var unc []string
			for _, u := range d.Uncertain {
				unc = append(unc, refName(&u))
			}
			if strings.Join(unc, ",") != strings.Join(c.uncertain, ",") {
				t.Errorf("Uncertain = %v, want %v", unc, c.uncertain)
			}
			decisive := 0
			byName := map[string]Considered{}
			for _, k := range x.Considered {
				byName[refName(&k.Ref)] = k
				if k.Decisive {
					decisive++
					if refName(&k.Ref) != c.deciding && c.pieces == nil {
						t.Errorf("Decisive on %s, deciding is %q", refName(&k.Ref), c.deciding)
					}
				}
			}
			var gotPieces []string
			for _, p := range d.Pieces {
				where := p.ZoneID
				if where == "" {
					where = p.Address.String()
				}
				gotPieces = append(gotPieces, where+"|"+p.PrefixText()+"|"+p.Verdict.String()+"|"+refName(p.Deciding))
			}
			if strings.Join(gotPieces, "\n") != strings.Join(c.pieces, "\n") {
				t.Errorf("Pieces =\n%s\nwant\n%s", strings.Join(gotPieces, "\n"), strings.Join(c.pieces, "\n"))
			}
			if c.pieces != nil {
				var names []string
				for _, k := range x.Considered {
					if k.Decisive {
						names = append(names, refName(&k.Ref))
					}
				}
				if strings.Join(names, ",") != strings.Join(c.decisive, ",") {
					t.Errorf("Decisive %v, want %v", names, c.decisive)
				}
			} else if want := map[bool]int{true: 1, false: 0}[c.deciding != ""]; decisive != want {
				t.Errorf("%d Decisive entries, want %d; trail %+v", decisive, want, x.Considered)
			}
			for name, sub := range c.whys {
				k, ok := byName[name]
				if !ok {
					t.Errorf("rule %s not in the trail", name)
					continue
				}
				if !strings.Contains(k.Why, sub) {
					t.Errorf("Why of %s = %q, want it to contain %q", name, k.Why, sub)
				}
			}
			all := strings.Join(d.Notes, "\n")
			for _, n := range c.notes {
				if !strings.Contains(all, n) {
					t.Errorf("notes %q lack %q", d.Notes, n)
				}
			}
		})
	}
}

func TestPortsAndProtocols(t *testing.T) {
	runCases(t, []evalCase{
		{name: "single accept from the gateway group", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromGW()))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1",
			whys: map[string]string{"sg-b/r1": "source sg-gw is the gateway's group"}},
		{name: "wrong port", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromGW()))), port: 8081,
			verdict: Deny, reason: ReasonDefaultDeny,
			whys: map[string]string{"sg-b/r1": "port 8081 outside 8080/8080"}},
		{name: "range start", s: snap(normal("sg-b", accept("r1", 1, "8080/8090", fromGW()))), port: 8080,
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1", whys: map[string]string{"sg-b/r1": "port 8080 inside 8080/8090"}},
		{name: "range end", s: snap(normal("sg-b", accept("r1", 1, "8080/8090", fromGW()))), port: 8090,
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1"},
		{name: "below range", s: snap(normal("sg-b", accept("r1", 1, "8080/8090", fromGW()))), port: 8079,
			verdict: Deny, reason: ReasonDefaultDeny, whys: map[string]string{"sg-b/r1": "port 8079 outside 8080/8090"}},
		{name: "above range", s: snap(normal("sg-b", accept("r1", 1, "8080/8090", fromGW()))), port: 8091,
			verdict: Deny, reason: ReasonDefaultDeny},
		{name: "ALL with -1/-1", s: snap(normal("sg-b", accept("r1", 1, "-1/-1", fromGW(), proto("ALL")))), port: 31337,
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1", whys: map[string]string{"sg-b/r1": "all ports (-1/-1)"}},
		{name: "ALL -1/-1 matches an ICMP flow (port -1)", s: snap(normal("sg-b", accept("r1", 1, "-1/-1", fromGW(), proto("ALL")))), proto: "ICMP", port: -1,
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1"},
		{name: "ALL matches UDP flows", s: snap(normal("sg-b", accept("r1", 1, "-1/-1", fromGW(), proto("ALL")))), proto: "UDP",
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1"},
		{name: "ALL with 1/65535", s: snap(normal("sg-b", accept("r1", 1, "1/65535", fromGW(), proto("ALL")))), port: 65535,
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1"},
		{name: "UDP rule does not match TCP", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromGW(), proto("UDP")))),
			verdict: Deny, reason: ReasonDefaultDeny, whys: map[string]string{"sg-b/r1": "protocol UDP does not match TCP"}},
		{name: "protocol compared case-insensitively", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromGW(), proto("tcp")))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1"},
		{name: "empty query protocol is TCP", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromGW()))), proto: "",
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1"},
	})
}

func TestPriorityAndPolicy(t *testing.T) {
	runCases(t, []evalCase{
		{name: "drop at equal priority wins", s: snap(normal("sg-b",
			accept("a", 1, "8080/8080", fromGW()), drop("d", 1, "8080/8080", fromGW()))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d",
			whys: map[string]string{"sg-b/a": "at equal priority the deciding drop wins"}},
		{name: "drop at lower priority does not win", s: snap(normal("sg-b",
			drop("d", 50, "1/65535", fromCidr("0.0.0.0/0")), accept("a", 10, "8080/8080", fromGW()))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a",
			whys: map[string]string{"sg-b/d": "lower priority than the deciding rule"}},
		{name: "drop at higher priority wins", s: snap(normal("sg-b",
			accept("a", 10, "8080/8080", fromGW()), drop("d", 5, "8000/9000", fromCidr("0.0.0.0/0")))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d",
			whys: map[string]string{"sg-b/a": "lower priority than the deciding rule"}},
		{name: "accept in one group, drop in another on the same ENI", groups: []string{"sg-b", "sg-c"},
			s:       snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW())), normal("sg-c", drop("d", 1, "8080/8080", fromCidr("192.168.0.0/16")))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-c/d"},
		{name: "accept in one group beats a lower-priority drop in another", groups: []string{"sg-c", "sg-b"},
			s:       snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW())), normal("sg-c", drop("d", 2, "8080/8080", fromCidr("192.168.0.0/16")))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a"},
		{name: "legacy 110 accept loses to a priority-100 drop", s: snap(normal("sg-b",
			accept("legacy", 110, "-1/-1", fromCidr("0.0.0.0/0"), proto("ALL")), drop("d", 100, "8080/8080", fromCidr("0.0.0.0/0")))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d", whys: map[string]string{"sg-b/legacy": "lower priority"}},
		{name: "legacy 110 accept wins over nothing", s: snap(normal("sg-b",
			accept("legacy", 110, "-1/-1", fromCidr("0.0.0.0/0"), proto("ALL")))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/legacy"},
		{name: "priority 0 reads as 1 and ties with a priority-1 drop", s: snap(normal("sg-b",
			accept("a", 0, "8080/8080", fromGW()), drop("d", 1, "8080/8080", fromGW()))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d"},
		{name: "no rules: default deny", s: snap(normal("sg-b")), verdict: Deny, reason: ReasonDefaultDeny},
		{name: "enterprise backend with no rules: default deny", groups: []string{"sg-e"}, s: snap(enterprise("sg-e")),
			verdict: Deny, reason: ReasonDefaultDeny},
	})
}

func TestSources(t *testing.T) {
	// An enterprise gateway group denies outbound traffic no egress rule
	// allows: give it the console's allow-all egress rule so that these
	// cases test the ingress side.
	entGW := enterprise("sg-gw", accept("e-all", 1, "-1/-1", egress(), toCidr("0.0.0.0/0"), proto("ALL")))
	runCases(t, []evalCase{
		{name: "enterprise gateway group referenced by a normal group", s: snap(entGW, normal("sg-b", accept("r1", 1, "8080/8080", fromGW()))),
			verdict: Deny, reason: ReasonDefaultDeny,
			whys: map[string]string{"sg-b/r1": "enterprise group sg-gw cannot be referenced as a source"}},
		{name: "normal gateway referenced by an enterprise group's rule", groups: []string{"sg-e"},
			s:       snap(enterprise("sg-e", accept("r1", 1, "8080/8080", fromGW()))),
			verdict: Deny, reason: ReasonDefaultDeny,
			whys: map[string]string{"sg-e/r1": "enterprise group sg-e cannot reference other groups"}},
		{name: "enterprise backend authorises the gateway by CIDR", groups: []string{"sg-e"}, s: snap(entGW, enterprise("sg-e", accept("r1", 1, "8080/8080", fromCidr("192.168.0.0/16")))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-e/r1"},
		{name: "source group in another VPC", s: snap(group("sg-b", "normal", "vpc-b", "accept", accept("r1", 1, "8080/8080", fromGW()))),
			verdict: Deny, reason: ReasonDefaultDeny,
			whys: map[string]string{"sg-b/r1": "group sg-b is in vpc-b, the gateway's group sg-gw in vpc-a"}},
		{name: "empty VPC is not a different VPC", s: snap(group("sg-b", "normal", "", "accept", accept("r1", 1, "8080/8080", fromGW()))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1"},
		{name: "another group as source", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromGroup("sg-x")))),
			verdict: Deny, reason: ReasonDefaultDeny, whys: map[string]string{"sg-b/r1": "source group sg-x is not the gateway's group"}},
		{name: "CIDR covering every gateway address", s: withAddrs(snap(normal("sg-b", accept("r1", 1, "8080/8080", fromCidr("192.168.0.0/16")))), "192.168.0.0/24", "192.168.7.9"),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1", whys: map[string]string{"sg-b/r1": "192.168.0.0/16 contains every gateway address"}},
		{name: "CIDR covering part of the gateway's address is decided per piece", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromCidr("192.168.0.0/25")))),
			verdict: Partial, reason: ReasonDefaultDeny,
			whys:     map[string]string{"sg-b/r1": "partial: 192.168.0.0/25 holds part of 192.168.0.0/24"},
			notes:    []string{"from gateway address 192.168.0.0/24: 192.168.0.0/25 allowed by rule sg-b/r1", "192.168.0.128/25 denied: no rule matches (default deny)"},
			pieces:   []string{"192.168.0.0/24|192.168.0.0/25|allow|sg-b/r1", "192.168.0.0/24|192.168.0.128/25|deny|"},
			decisive: []string{"sg-b/r1"}},
		{name: "CIDR covering one of two addresses", s: withAddrs(snap(normal("sg-b", accept("r1", 1, "8080/8080", fromCidr("10.0.0.5")))), "10.0.0.5", "10.0.0.6"),
			verdict: Partial, reason: ReasonDefaultDeny,
			whys:     map[string]string{"sg-b/r1": "10.0.0.5/32 holds all of 10.0.0.5/32; none of 10.0.0.6/32"},
			pieces:   []string{"10.0.0.5/32|10.0.0.5/32|allow|sg-b/r1", "10.0.0.6/32|10.0.0.6/32|deny|"},
			decisive: []string{"sg-b/r1"}},
		{name: "CIDR covering no gateway address", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromCidr("10.0.0.0/8")))),
			verdict: Deny, reason: ReasonDefaultDeny, whys: map[string]string{"sg-b/r1": "10.0.0.0/8 contains no gateway address"}},
		{name: "unknown addresses with 0.0.0.0/0", s: withAddrs(snap(normal("sg-b", accept("r1", 1, "8080/8080", fromCidr("0.0.0.0/0"))))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1", whys: map[string]string{"sg-b/r1": "0.0.0.0/0 contains every gateway address"}},
		{name: "unknown addresses with 10.0.0.0/8", s: withAddrs(snap(normal("sg-b", accept("r1", 1, "8080/8080", fromCidr("10.0.0.0/8"))))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/r1"},
			whys: map[string]string{"sg-b/r1": "gateway addresses unknown"}, notes: []string{"gateway addresses unknown"}},
		{name: "group and CIDR: the CIDR wins (and misses)", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromGW(), fromCidr("10.0.0.0/8")))),
			verdict: Deny, reason: ReasonDefaultDeny, whys: map[string]string{"sg-b/r1": "source CIDR wins over source group sg-gw: 10.0.0.0/8 contains no gateway address"}},
		{name: "group and CIDR: the CIDR wins (and matches)", s: snap(normal("sg-b", accept("r1", 1, "8080/8080", fromGroup("sg-x"), fromCidr("0.0.0.0/0")))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/r1", whys: map[string]string{"sg-b/r1": "source CIDR wins over source group sg-x"}},
		{name: "gateway group absent from the snapshot", s: func() *snapshot.Snapshot {
			s := snap(normal("sg-b", accept("r1", 1, "8080/8080", fromGW())))
			s.SecurityGroups = s.SecurityGroups[1:]
			return s
		}(), verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/r1"},
			whys: map[string]string{"sg-b/r1": "group sg-gw is not in the snapshot"}},
	})
}

func TestIntraGroup(t *testing.T) {
	gwDrop := group("sg-gw", "normal", "vpc-a", "drop")
	runCases(t, []evalCase{
		{name: "intra-group accept overrides a drop", groups: []string{"sg-b", "sg-gw"},
			s:       snap(normal("sg-b", drop("d", 1, "-1/-1", fromCidr("0.0.0.0/0"), proto("ALL")))),
			verdict: Allow, reason: ReasonIntraGroup, notes: []string{"innerAccessPolicy accept"},
			whys: map[string]string{"sg-b/d": "0.0.0.0/0 contains every gateway address"}},
		{name: "empty innerAccessPolicy means accept", groups: []string{"sg-gw"}, s: snap(group("sg-gw", "", "vpc-a", "")),
			verdict: Allow, reason: ReasonIntraGroup},
		{name: "intra-group drop lets a drop decide", groups: []string{"sg-b", "sg-gw"},
			s:       snap(gwDrop, normal("sg-b", drop("d", 1, "-1/-1", fromCidr("0.0.0.0/0"), proto("ALL")))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d", notes: []string{"innerAccessPolicy drop: custom rules decide"}},
		{name: "intra-group drop lets an accept decide", groups: []string{"sg-b", "sg-gw"},
			s:       snap(gwDrop, normal("sg-b", accept("a", 1, "8080/8080", fromGW()))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a"},
		{name: "intra-group drop and no rule", groups: []string{"sg-gw"}, s: snap(gwDrop),
			verdict: Deny, reason: ReasonDefaultDeny},
		{name: "enterprise gateway group on the ENI: no intra-group allow", groups: []string{"sg-gw", "sg-e"},
			s: snap(enterprise("sg-gw", accept("e-all", 1, "-1/-1", egress(), toCidr("0.0.0.0/0"), proto("ALL"))), enterprise("sg-e")), verdict: Deny, reason: ReasonDefaultDeny},
		{name: "intra-group accept despite another group's missing rules", groups: []string{"sg-gw", "sg-gone"},
			s: snap(), verdict: Allow, reason: ReasonIntraGroup},
		{name: "gateway group on the ENI with unreadable rules", groups: []string{"sg-gw", "sg-b"},
			s:       withMissing(snap(normal("sg-b", drop("d", 1, "8080/8080", fromCidr("0.0.0.0/0")))), snapshot.MissingPart{Part: "rules", IDs: []string{"sg-gw"}, Error: "Forbidden.RAM"}),
			verdict: Unknown, reason: ReasonUndecidable, notes: []string{"intra-group access may allow", "Forbidden.RAM"}},
	})
}

func TestUndecidableLists(t *testing.T) {
	runCases(t, []evalCase{
		{name: "prefix-list accept alone is undecidable", s: snap(normal("sg-b", accept("pl", 1, "8080/8080", fromList("pl-1")))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/pl"},
			whys: map[string]string{"sg-b/pl": "prefix list pl-1 not expanded"}, notes: []string{"prefix list pl-1 not expanded", "if it does the flow is allowed"}},
		{name: "definite higher-priority drop still decides over a prefix list", s: snap(normal("sg-b",
			drop("d", 1, "8080/8080", fromCidr("0.0.0.0/0")), accept("pl", 5, "8080/8080", fromList("pl-1")))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d", whys: map[string]string{"sg-b/pl": "lower priority than the deciding rule"}},
		{name: "prefix-list accept after a definite accept", s: snap(normal("sg-b",
			accept("a", 1, "8080/8080", fromGW()), drop("pl", 5, "8080/8080", fromList("pl-1")))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a"},
		{name: "prefix-list drop before a definite accept", s: snap(normal("sg-b",
			accept("a", 5, "8080/8080", fromGW()), drop("pl", 1, "8080/8080", fromList("pl-1")))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/pl"},
			notes: []string{"if it does the flow is denied by it, otherwise rule sg-b/a (priority 5 accept TCP 8080/8080) decides"},
			whys:  map[string]string{"sg-b/a": "source sg-gw is the gateway's group"}},
		{name: "prefix-list drop before a definite drop does not matter", s: snap(normal("sg-b",
			drop("d", 5, "8080/8080", fromGW()), drop("pl", 1, "8080/8080", fromList("pl-1")))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d"},
		{name: "prefix-list drop with nothing else matching agrees with the default", s: snap(normal("sg-b", drop("pl", 1, "8080/8080", fromList("pl-1")))),
			verdict: Deny, reason: ReasonDefaultDeny},
		{name: "port-list accept is undecidable", s: snap(normal("sg-b", accept("pr", 1, "", fromGW(), portList("prl-1")))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/pr"},
			whys: map[string]string{"sg-b/pr": "port list prl-1 not expanded"}},
		{name: "port-list rule ruled out by protocol", s: snap(normal("sg-b", accept("pr", 1, "", fromGW(), portList("prl-1"), proto("UDP")))),
			verdict: Deny, reason: ReasonDefaultDeny, whys: map[string]string{"sg-b/pr": "protocol UDP does not match TCP"}},
		{name: "port-list rule ruled out by source", s: snap(normal("sg-b", accept("pr", 1, "", fromGroup("sg-x"), portList("prl-1")))),
			verdict: Deny, reason: ReasonDefaultDeny, whys: map[string]string{"sg-b/pr": "source group sg-x is not the gateway's group"}},
		{name: "partial CIDR accept loses to a definite drop at equal priority", s: snap(normal("sg-b",
			accept("p", 1, "8080/8080", fromCidr("192.168.0.0/25")), drop("d", 1, "8080/8080", fromGW()))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d"},
		{name: "partial CIDR drop before a definite accept", s: snap(normal("sg-b",
			drop("p", 1, "8080/8080", fromCidr("192.168.0.128/25")), accept("a", 2, "8080/8080", fromGW()), accept("z", 9, "8080/8080", fromGW()))),
			verdict: Partial, reason: ReasonRule, deciding: "sg-b/p",
			whys:     map[string]string{"sg-b/a": "source sg-gw is the gateway's group", "sg-b/p": "partial"},
			pieces:   []string{"192.168.0.0/24|192.168.0.0/25|allow|sg-b/a", "192.168.0.0/24|192.168.0.128/25|deny|sg-b/p"},
			decisive: []string{"sg-b/p", "sg-b/a"}},
		{name: "maybe accept then maybe drop then definite accept: exact, not two extremes", s: snap(normal("sg-b",
			accept("m1", 1, "8080/8080", fromList("pl-1")), drop("m2", 2, "8080/8080", fromList("pl-2")), accept("a", 3, "8080/8080", fromGW()))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/m2"}},
	})
}

func TestMissingData(t *testing.T) {
	runCases(t, []evalCase{
		{name: "group on the ENI absent from the snapshot", groups: []string{"sg-b", "sg-gone"},
			s:       snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW()))),
			verdict: Unknown, reason: ReasonUndecidable, notes: []string{"group sg-gone is on the ENI but not in the snapshot"}},
		{name: "group's rules listed missing", s: withMissing(snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW()))),
			snapshot.MissingPart{Part: "rules", IDs: []string{"sg-b"}, Error: "Throttling", Action: "ecs:DescribeSecurityGroupAttribute"}),
			verdict: Unknown, reason: ReasonUndecidable, notes: []string{"rules of group sg-b could not be read (ecs:DescribeSecurityGroupAttribute: Throttling)"}},
		{name: "all rules missing", s: withMissing(snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW()))), snapshot.MissingPart{Part: "rules", Error: "denied"}),
			verdict: Unknown, reason: ReasonUndecidable, notes: []string{"sg-b"}},
		{name: "group listed missing", s: withMissing(snap(normal("sg-b")), snapshot.MissingPart{Part: "securityGroups", IDs: []string{"sg-b"}, Error: "x"}),
			verdict: Unknown, reason: ReasonUndecidable, notes: []string{"group sg-b could not be read"}},
		{name: "missing part for another group does not matter", s: withMissing(snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW()))), snapshot.MissingPart{Part: "rules", IDs: []string{"sg-z"}, Error: "x"}),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a"},
		{name: "priority-1 drop decides despite an unreadable group", groups: []string{"sg-b", "sg-gone"},
			s:       snap(normal("sg-b", drop("d", 1, "8080/8080", fromGW()))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d", notes: []string{"sg-gone", "no rule in the unreadable groups can override it"}},
		{name: "priority-2 drop does not decide with an unreadable group", groups: []string{"sg-b", "sg-gone"},
			s:       snap(normal("sg-b", drop("d", 2, "8080/8080", fromGW()))),
			verdict: Unknown, reason: ReasonUndecidable},
		{name: "no groups on the ENI", groups: []string{}, s: snap(normal("sg-b")),
			verdict: Unknown, reason: ReasonUndecidable, notes: []string{"no security groups"}},
	})
}

func TestEgress(t *testing.T) {
	gwEgress := func(typ string, rules ...snapshot.Rule) snapshot.SecurityGroup {
		return group("sg-gw", typ, "vpc-a", "accept", rules...)
	}
	backend := normal("sg-b", accept("a", 1, "8080/8080", fromGW()))
	entBackend := enterprise("sg-e", accept("a", 1, "8080/8080", fromCidr("192.168.0.0/24")))
	runCases(t, []evalCase{
		{name: "egress drop denies", s: snap(gwEgress("normal", drop("e1", 1, "8080/8080", egress(), toCidr("172.16.0.0/16"))), backend),
			verdict: Deny, reason: ReasonEgress, deciding: "sg-gw/e1",
			whys: map[string]string{"sg-gw/e1": "destination 172.16.0.0/16 contains 172.16.0.10", "sg-b/a": "source sg-gw"}},
		{name: "egress drop for another destination: normal default allows", s: snap(gwEgress("normal", drop("e1", 1, "8080/8080", egress(), toCidr("10.0.0.0/8"))), backend),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a", whys: map[string]string{"sg-gw/e1": "does not contain 172.16.0.10"}},
		{name: "egress accept before a drop", s: snap(gwEgress("normal",
			accept("e1", 1, "8080/8080", egress(), toCidr("172.16.0.0/12")), drop("e2", 2, "-1/-1", egress(), toCidr("0.0.0.0/0"), proto("ALL"))), backend),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a"},
		{name: "enterprise gateway group, no egress match: deny", groups: []string{"sg-e"},
			s:       snap(gwEgress("enterprise", accept("e1", 1, "443/443", egress(), toCidr("0.0.0.0/0"))), entBackend),
			verdict: Deny, reason: ReasonEgress, notes: []string{"enterprise groups deny outbound traffic by default"}},
		{name: "enterprise gateway group, egress allows", groups: []string{"sg-e"},
			s:       snap(gwEgress("enterprise", accept("e1", 1, "1/65535", egress(), toCidr("0.0.0.0/0"))), entBackend),
			verdict: Allow, reason: ReasonRule, deciding: "sg-e/a"},
		{name: "egress and ingress both deny: egress named, ingress noted", s: snap(gwEgress("normal", drop("e1", 1, "8080/8080", egress(), toCidr("0.0.0.0/0"))), normal("sg-b")),
			verdict: Deny, reason: ReasonEgress, deciding: "sg-gw/e1", notes: []string{"ingress also denies: no rule matches"}},
		{name: "egress drop to the backend group", s: snap(gwEgress("normal", drop("e1", 1, "8080/8080", egress(), toGroup("sg-b"))), backend),
			verdict: Deny, reason: ReasonEgress, deciding: "sg-gw/e1", whys: map[string]string{"sg-gw/e1": "destination sg-b is on the endpoint's ENI"}},
		{name: "egress drop to a group not on the ENI", s: snap(gwEgress("normal", drop("e1", 1, "8080/8080", egress(), toGroup("sg-c"))), backend, normal("sg-c")),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a", whys: map[string]string{"sg-gw/e1": "destination group sg-c is not on the endpoint's ENI"}},
		{name: "egress prefix list drop is undecidable", s: snap(gwEgress("normal", drop("e1", 1, "8080/8080", egress(), fromList("pl-9"))), backend),
			verdict: Unknown, reason: ReasonEgress, uncertain: []string{"sg-gw/e1"}, notes: []string{"egress: rule sg-gw/e1", "prefix list pl-9 not expanded"}},
		{name: "egress unknown and ingress deny: deny", s: snap(gwEgress("normal", drop("e1", 1, "8080/8080", egress(), fromList("pl-9"))), normal("sg-b")),
			verdict: Deny, reason: ReasonDefaultDeny},
		{name: "egress unknown and ingress unknown", s: snap(gwEgress("normal", drop("e1", 1, "8080/8080", egress(), fromList("pl-9"))), normal("sg-b", accept("p", 1, "8080/8080", fromList("pl-1")))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/p", "sg-gw/e1"}},
		{name: "gateway rules unreadable: egress unknown", s: withMissing(snap(backend), snapshot.MissingPart{Part: "rules", IDs: []string{"sg-gw"}, Error: "x"}),
			verdict: Unknown, reason: ReasonEgress, notes: []string{"egress rules are unknown"}},
		{name: "no egress rules: egress not evaluated", s: snap(backend), verdict: Allow, reason: ReasonRule, deciding: "sg-b/a"},
		{name: "enterprise gateway group with no egress rule at all: its default denies", groups: []string{"sg-e"},
			s:       snap(gwEgress("enterprise"), entBackend),
			verdict: Deny, reason: ReasonEgress, notes: []string{"enterprise groups deny outbound traffic by default"}},
		{name: "enterprise gateway group unreadable: egress unknown", groups: []string{"sg-e"},
			s:       withMissing(snap(gwEgress("enterprise"), entBackend), snapshot.MissingPart{Part: "rules", IDs: []string{"sg-gw"}, Error: "x"}),
			verdict: Unknown, reason: ReasonEgress, notes: []string{"egress rules are unknown"}},
	})
	e := New(snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW()))))
	if e.EgressEvaluated() {
		t.Error("EgressEvaluated with no egress rules")
	}
	x := e.Explain(Query{GroupIDs: []string{"sg-b"}, Port: 8080})
	for _, c := range x.Considered {
		if c.Ref.Rule.Direction == snapshot.DirectionEgress {
			t.Errorf("egress rule %v in the trail though egress is not evaluated", c.Ref)
		}
	}
}

func TestExplainOrder(t *testing.T) {
	s := snap(
		normal("sg-b", accept("b1", 50, "8080/8080", fromGW()), drop("b2", 10, "9000/9000", fromGW()), accept("b3", 10, "8080/8080", fromCidr("192.168.0.0/24"))),
		normal("sg-c", drop("c1", 10, "8080/8080", fromCidr("10.0.0.0/8")), accept("c2", 110, "-1/-1", fromCidr("0.0.0.0/0"), proto("ALL")), accept("c3", 1, "22/22", fromCidr("0.0.0.0/0"))),
	)
	e := New(s)
	x := e.Explain(Query{GroupIDs: []string{"sg-c", "sg-b"}, Protocol: "TCP", Port: 8080})
	var got []string
	for _, c := range x.Considered {
		name := refName(&c.Ref)
		if c.Decisive {
			name += "*"
		}
		got = append(got, name)
	}
	want := "sg-c/c3 sg-b/b2 sg-c/c1 sg-b/b3* sg-b/b1 sg-c/c2"
	if strings.Join(got, " ") != want {
		t.Fatalf("trail order %v, want %s", got, want)
	}
	if x.Verdict != Allow || refName(x.Deciding) != "sg-b/b3" {
		t.Fatalf("decision %v %q", x.Verdict, refName(x.Deciding))
	}
	for _, c := range x.Considered {
		if c.Why == "" {
			t.Errorf("empty Why for %s", refName(&c.Ref))
		}
	}
}

func TestShadowed(t *testing.T) {
	e := New(snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW()), drop("d", 1, "8000/8080", fromCidr("0.0.0.0/0")), accept("x", 5, "9000/9000", fromGW()))))
	x := e.Explain(Query{GroupIDs: []string{"sg-b"}, Port: 8080})
	sh := x.Shadowed()
	if len(sh) != 1 || sh[0].Ref.RuleID != "a" {
		t.Fatalf("Shadowed = %+v, want rule a", sh)
	}
	if got := e.Explain(Query{GroupIDs: []string{"sg-b"}, Port: 9000}).Shadowed(); len(got) != 0 {
		t.Fatalf("Shadowed on port 9000 = %+v, want none (rule x decides)", got)
	}
}

func TestHelpers(t *testing.T) {
	s := snap(
		normal("sg-b",
			accept("a", 1, "8080/8080", fromGW()),
			drop("d", 1, "8080/8080", fromGW()),
			accept("c", 2, "80/80", fromCidr("192.168.0.0/25")),
			accept("x", 3, "80/80", fromGroup("sg-x")),
			rule("out", "accept", 1, "ALL", "-1/-1", egress(), toCidr("0.0.0.0/0")),
			accept("l", 4, "", fromGW(), portList("prl-1"))),
		enterprise("sg-e", accept("a", 1, "8080/8080", fromGW())),
	)
	e := New(s)
	refs := e.RulesFromGateway("sg-b")
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.RuleID)
	}
	if strings.Join(ids, ",") != "a,l" {
		t.Errorf("RulesFromGateway(sg-b) = %v, want a,l", ids)
	}
	if got := e.RulesFromGateway("sg-e"); len(got) != 0 {
		t.Errorf("RulesFromGateway(sg-e) = %v, want none (enterprise cannot reference)", got)
	}
	if m, why := e.GatewaySourceMatch("sg-b", 2); m != MaybeMatches || !strings.Contains(why, "partial") {
		t.Errorf("GatewaySourceMatch(sg-b, 2) = %v %q", m, why)
	}
	if m, why := e.GatewaySourceMatch("sg-b", 4); m != NoMatch || !strings.Contains(why, "not an ingress rule") {
		t.Errorf("GatewaySourceMatch(sg-b, 4) = %v %q", m, why)
	}
	if m, _ := e.GatewaySourceMatch("sg-b", 0); m != Matches {
		t.Errorf("GatewaySourceMatch(sg-b, 0) = %v", m)
	}
	views, ok := e.IngressRules("sg-b")
	if !ok || len(views) != 5 || views[0].Ref.RuleID != "d" || !views[0].Drop {
		t.Fatalf("IngressRules(sg-b) = %+v, %v", views, ok)
	}
	if m, why := views[1].Covers("TCP", 8081); m != NoMatch || why != "port 8081 outside 8080/8080" {
		t.Errorf("Covers(8081) = %v %q", m, why)
	}
	if m, _ := views[1].Covers("", 8080); m != Matches {
		t.Errorf("Covers(8080) = %v", m)
	}
	if m, _ := views[4].Covers("TCP", 1); m != MaybeMatches {
		t.Errorf("port-list Covers = %v", m)
	}
	if m, _ := views[1].Covers("UDP", 8080); m != NoMatch {
		t.Errorf("Covers(UDP) = %v", m)
	}
	if _, ok := e.IngressRules("sg-none"); ok {
		t.Error("IngressRules of an absent group reported readable")
	}
	if ok, why := e.GroupReadable("sg-none"); ok || !strings.Contains(why, "not in the snapshot") {
		t.Errorf("GroupReadable(sg-none) = %v %q", ok, why)
	}
	if !e.GatewayAddressesKnown() || New(withAddrs(snap())).GatewayAddressesKnown() {
		t.Error("GatewayAddressesKnown wrong")
	}
	if len(e.EgressRules()) != 0 {
		t.Error("egress rules of a backend group reported as the gateway's")
	}
}

func twoZones(s *snapshot.Snapshot) *snapshot.Snapshot {
	s.Gateway.Addresses = []string{"192.168.0.0/24", "192.168.1.0/24"}
	s.Gateway.VSwitches = []snapshot.VSwitch{{ID: "vsw-a", ZoneID: "zone-a", Cidr: "192.168.0.0/24"}, {ID: "vsw-b", ZoneID: "zone-b", Cidr: "192.168.1.0/24"}}
	return s
}

func fromCidr6(c string) ruleOpt     { return func(r *snapshot.Rule) { r.Ipv6SourceCidr = c } }
func sourcePorts(pr string) ruleOpt  { return func(r *snapshot.Rule) { r.SourcePortRange = pr } }
func toPrefixList(pl string) ruleOpt { return func(r *snapshot.Rule) { r.DestPrefixListID = pl } }

// TestPieces: rules whose CIDR holds some of the gateway's addresses are
// decided per piece of them, exactly (issue 11, part 1).
func TestPieces(t *testing.T) {
	runCases(t, []evalCase{
		{name: "two zones, each authorized by its own CIDR rule", s: twoZones(snap(normal("sg-b",
			accept("z1", 1, "8080/8080", fromCidr("192.168.0.0/24")), accept("z2", 1, "8080/8080", fromCidr("192.168.1.0/24"))))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/z1",
			pieces:   []string{"zone-a|192.168.0.0/24|allow|sg-b/z1", "zone-b|192.168.1.0/24|allow|sg-b/z2"},
			decisive: []string{"sg-b/z1", "sg-b/z2"}},
		{name: "two zones, one authorized", s: twoZones(snap(normal("sg-b", accept("z1", 1, "8080/8080", fromCidr("192.168.0.0/24"))))),
			verdict: Partial, reason: ReasonDefaultDeny,
			notes:    []string{"from zone zone-b (vsw-b, 192.168.1.0/24): 192.168.1.0/24 denied: no rule matches (default deny)"},
			pieces:   []string{"zone-a|192.168.0.0/24|allow|sg-b/z1", "zone-b|192.168.1.0/24|deny|"},
			decisive: []string{"sg-b/z1"}},
		{name: "two zones, the VPC CIDR covers both: no pieces", s: twoZones(snap(normal("sg-b", accept("v", 1, "8080/8080", fromCidr("192.168.0.0/16"))))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/v"},
		{name: "two zones denied by different drops", s: twoZones(snap(normal("sg-b",
			drop("d1", 1, "8080/8080", fromCidr("192.168.0.0/24")), drop("d2", 1, "8080/8080", fromCidr("192.168.1.0/24")), accept("a", 2, "8080/8080", fromGW())))),
			verdict: Deny, reason: ReasonRule, deciding: "sg-b/d1",
			pieces:   []string{"zone-a|192.168.0.0/24|deny|sg-b/d1", "zone-b|192.168.1.0/24|deny|sg-b/d2"},
			decisive: []string{"sg-b/d1", "sg-b/d2"}},
		{name: "interleaved partial drops and accepts across priorities and groups", groups: []string{"sg-b", "sg-c"}, s: twoZones(snap(
			normal("sg-b", drop("d", 1, "8080/8080", fromCidr("192.168.0.0/26")), accept("wide", 2, "8080/8080", fromCidr("192.168.0.0/23"))),
			normal("sg-c", accept("hole", 1, "8080/8080", fromCidr("192.168.0.64/26")), drop("z2", 2, "8080/8080", fromCidr("192.168.1.128/25"))))),
			verdict: Partial, reason: ReasonRule, deciding: "sg-b/d",
			pieces: []string{"zone-a|192.168.0.0/26|deny|sg-b/d", "zone-a|192.168.0.64/26|allow|sg-c/hole", "zone-a|192.168.0.128/25|allow|sg-b/wide",
				"zone-b|192.168.1.0/25|allow|sg-b/wide", "zone-b|192.168.1.128/25|deny|sg-c/z2"},
			decisive: []string{"sg-b/d", "sg-c/hole", "sg-c/z2", "sg-b/wide"}},
		{name: "partial accept and an undecidable piece", s: twoZones(snap(normal("sg-b",
			accept("z1", 1, "8080/8080", fromCidr("192.168.0.0/24")), accept("z2", 1, "8080/8080", fromCidr("192.168.1.0/24"), sourcePorts("1/1024"))))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/z2"},
			pieces:   []string{"zone-a|192.168.0.0/24|allow|sg-b/z1", "zone-b|192.168.1.0/24|unknown|"},
			decisive: []string{"sg-b/z1"}},
		{name: "intra-group access ignores the pieces", groups: []string{"sg-b", "sg-gw"}, s: twoZones(snap(normal("sg-b", accept("z1", 1, "8080/8080", fromCidr("192.168.0.0/24"))))),
			verdict: Allow, reason: ReasonIntraGroup},
	})
}

// TestFamilies: a CIDR of one family never decides traffic of the other
// (issue 11, part 2).
func TestFamilies(t *testing.T) {
	dual := func(s *snapshot.Snapshot) *snapshot.Snapshot {
		return withAddrs(s, "192.168.0.0/24", "2001:db8:1::/64")
	}
	runCases(t, []evalCase{
		{name: "dual-stack gateway, IPv4 0.0.0.0/0 accept: allow, not partial", s: dual(snap(normal("sg-b", accept("a", 1, "8080/8080", fromCidr("0.0.0.0/0"))))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a"},
		{name: "::/0 does not decide IPv4", s: snap(normal("sg-b", accept("a6", 1, "8080/8080", fromCidr6("::/0")))),
			verdict: Deny, reason: ReasonDefaultDeny, whys: map[string]string{"sg-b/a6": "is IPv6, the flow IPv4"}},
		{name: "0.0.0.0/0 does not decide IPv6", dest: "2001:db8:9::10", s: dual(snap(normal("sg-b", accept("a", 1, "8080/8080", fromCidr("0.0.0.0/0"))))),
			verdict: Deny, reason: ReasonDefaultDeny},
		{name: "IPv6 flow from a dual-stack gateway, IPv6 CIDR", dest: "2001:db8:9::10", s: dual(snap(normal("sg-b", accept("a6", 1, "8080/8080", fromCidr6("2001:db8:1::/64"))))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a6"},
		{name: "IPv6 flow, gateway lists only IPv4 addresses: a narrow IPv6 CIDR is undecidable", dest: "2001:db8:9::10", s: snap(normal("sg-b", accept("a6", 1, "8080/8080", fromCidr6("2001:db8:1::/64")))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/a6"}, notes: []string{"IPv6 addresses are unknown"}},
	})
}

// TestRuleFields: fields the model cannot decide make the verdict unknown;
// the ones it can are decided exactly (issue 11, part 4).
func TestRuleFields(t *testing.T) {
	runCases(t, []evalCase{
		{name: "destination CIDR holding the endpoint", s: snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW(), toCidr("172.16.0.10/32")))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a", whys: map[string]string{"sg-b/a": "destination 172.16.0.10/32 contains 172.16.0.10"}},
		{name: "destination CIDR missing the endpoint", dest: "172.16.0.11", s: snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW(), toCidr("172.16.0.10/32")))),
			verdict: Deny, reason: ReasonDefaultDeny, whys: map[string]string{"sg-b/a": "does not contain the endpoint 172.16.0.11"}},
		{name: "destination prefix list", s: snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW(), toPrefixList("pl-9")))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/a"}, notes: []string{"destination prefix list pl-9 not expanded"}},
		{name: "drop limited to source ports", s: snap(normal("sg-b", drop("d", 1, "8080/8080", fromGW(), sourcePorts("1/1024")), accept("a", 2, "8080/8080", fromGW()))),
			verdict: Unknown, reason: ReasonUndecidable, uncertain: []string{"sg-b/d"}, notes: []string{"ephemeral port"}},
		{name: "source port range covering every port is no limit", s: snap(normal("sg-b", accept("a", 1, "8080/8080", fromGW(), sourcePorts("-1/-1")))),
			verdict: Allow, reason: ReasonRule, deciding: "sg-b/a"},
	})
}
