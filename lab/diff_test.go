package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/testenv"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The differential test: for random scenarios, the evaluator's verdict for
// every endpoint must equal what a real TCP handshake from the gateway
// namespace finds through the nftables rules the lab compiled on its own.
//
//	allow ↔ open (refused when the endpoint is not ready: nothing listens)
//	deny  ↔ filtered
//	unknown verdicts are excluded and counted.
//
// Knobs: GWDOCTOR_LAB_SEED (base seed, default 1), GWDOCTOR_LAB_SCENARIOS
// (how many, default 300), GWDOCTOR_LAB_FAILURES (where failing scenarios
// are written; default a new temporary directory, printed).

const (
	probeTimeout   = 250 * time.Millisecond
	recheckTimeout = 3 * time.Second
	topologies     = 6
)

func TestDifferential(t *testing.T) {
	testenv.NeedNetns(t)
	base := envInt(t, "GWDOCTOR_LAB_SEED", 1)
	total := envInt(t, "GWDOCTOR_LAB_SCENARIOS", 300)
	perTopology := (total + topologies - 1) / topologies
	var tally tallies
	start := time.Now()
	// The topologies run side by side: the time goes in waiting for
	// filtered probes, not in CPU, so they are not held to -parallel.
	t.Run("topologies", func(t *testing.T) {
		var wg sync.WaitGroup
		for ti := 0; ti < topologies; ti++ {
			wg.Go(func() {
				t.Run(fmt.Sprintf("topology-%d", ti), func(t *testing.T) {
					runTopology(t, base, ti, perTopology, &tally)
				})
			})
		}
		wg.Wait()
	})
	t.Logf("differential: seed %d: %d scenarios, %d (endpoint, gateway address) pairs compared (%d open, %d refused, %d filtered; %d endpoints partial), %d unknown verdicts excluded, %d not comparable in the lab %v, %d probes rechecked, %d disagreements, in %s",
		base, tally.scenarios, tally.compared, tally.states["open"], tally.states["refused"], tally.states["filtered"], tally.partial, tally.unknown, tally.notComparable, tally.reasons, tally.rechecked, tally.disagreements, time.Since(start).Round(time.Millisecond))
	if tally.compared == 0 && total > 0 {
		t.Error("no endpoint was compared: the differential test proved nothing")
	}
}

func runTopology(t *testing.T, base, ti, scenarios int, tally *tallies) {
	topo := genTopology(rand.New(rand.NewPCG(uint64(base), uint64(ti))), ti)
	scenario := func(k int) *snapshot.Snapshot {
		return genScenario(rand.New(rand.NewPCG(uint64(base), uint64(ti)<<32|uint64(k))), topo)
	}
	l := startLab(t, scenario(0))
	for k := 0; k < scenarios; k++ {
		name := fmt.Sprintf("topology-%d/scenario-%d", ti, k)
		s := scenario(k)
		if err := validate(s); err != nil {
			t.Fatalf("%s: the generator made an invalid snapshot (seed %d): %v", name, base, err)
		}
		if k > 0 {
			if err := l.Apply(context.Background(), s); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		c := compareLab(t, l)
		tally.add(c)
		if len(c.disagreements) > 0 {
			path := writeFailure(t, strings.ReplaceAll(name, "/", "-"), l, c.disagreements,
				fmt.Sprintf("GWDOCTOR_LAB_SEED=%d go test ./lab -run 'TestDifferential/topologies/topology-%d'", base, ti))
			for _, d := range c.disagreements {
				t.Errorf("%s (seed %d): %s", name, base, d)
			}
			t.Errorf("%s: scenario written to %s", name, path)
		}
	}
}

// comparison is the outcome of comparing one scenario.
type comparison struct {
	compared, unknown, notComparable int
	// partial counts endpoints the evaluator found partial (compared per
	// gateway address).
	partial         int
	rechecked       int
	states, reasons map[string]int
	disagreements   []disagreement
}

// notComparableKind groups the lab's reasons for the summary.
func notComparableKind(reason string) string {
	for _, kind := range []string{"prefix list", "port list", "not described", "cannot place", "names the gateway's group"} {
		if strings.Contains(reason, kind) {
			return kind
		}
	}
	return reason
}

type disagreement struct {
	Endpoint Endpoint
	// From is the gateway address the probe was sent from.
	From    string
	ENI     string
	Groups  []string
	Verdict string
	Want    string
	Got     string
	Detail  string
	Trail   []string
}

func (d disagreement) String() string {
	return fmt.Sprintf("%s %s on %s (groups %s), from gateway address %s: evaluator says %s, so want %s; the lab's probe says %s%s\n\t%s",
		d.Endpoint.Service, d.Endpoint.Target(), d.ENI, strings.Join(d.Groups, ","), d.From, d.Verdict, d.Want, d.Got, d.Detail, strings.Join(d.Trail, "\n\t"))
}

type tallies struct {
	mu                                                         sync.Mutex
	scenarios, compared, unknown, notComparable, disagreements int
	rechecked, partial                                         int
	states, reasons                                            map[string]int
}

func (t *tallies) add(c comparison) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.states == nil {
		t.states, t.reasons = map[string]int{}, map[string]int{}
	}
	for k, v := range c.reasons {
		t.reasons[k] += v
	}
	t.scenarios++
	t.compared += c.compared
	t.rechecked += c.rechecked
	t.unknown += c.unknown
	t.notComparable += c.notComparable
	t.partial += c.partial
	t.disagreements += len(c.disagreements)
	for k, v := range c.states {
		t.states[k] += v
	}
}

// compareLab evaluates every endpoint of the lab's snapshot statically and
// probes it live, and lists where they disagree.
func compareLab(t testing.TB, l *Lab) comparison {
	t.Helper()
	s := l.Snapshot()
	ev := secgroup.New(s)
	// The verdicts users see come from diagnose's view (the lead's endpoint
	// → ENI resolution and the evaluator); resolveENI below re-derives the
	// ENI independently, and the lab placed it a third time.
	view := diagnose.NewView(s)
	c := comparison{states: map[string]int{}, reasons: map[string]int{}}
	// The lab's gateway holds one address per gateway.addresses entry (a
	// zone's vSwitch CIDR, say). Every endpoint is probed from each of them:
	// the evaluator's answer for that address is its piece's verdict when
	// the rules split the gateway's addresses (Decision.Pieces), else the
	// whole decision. A partial configuration is thus checked piece by piece.
	var sources []netip.Addr
	for _, a := range l.Info().GatewayAddresses {
		sources = append(sources, netip.MustParseAddr(a))
	}
	type check struct {
		ep     Endpoint
		from   netip.Addr
		eni    *snapshot.ENI
		want   string
		d      secgroup.Decision
		result ProbeResult
	}
	var checks []*check
	targets := map[netip.Addr][]string{}
	labEndpoints := l.Endpoints()
	if len(labEndpoints) != len(view.Endpoints) {
		t.Fatalf("the lab has %d endpoints, diagnose's view %d", len(labEndpoints), len(view.Endpoints))
	}
	for i, ep := range labEndpoints {
		ve := view.Endpoints[i]
		if ve.ServiceKey != ep.Service || ve.Target() != ep.Target() {
			t.Fatalf("endpoint %d: the lab has %s %s, diagnose's view %s", i, ep.Service, ep.Target(), ve.Label())
		}
		if !ep.Comparable() {
			c.notComparable++
			c.reasons[notComparableKind(ep.NotComparable)]++
			continue
		}
		ip := netip.MustParseAddr(ep.IP)
		eni := resolveENI(s, ip, endpointNode(s, ep))
		if eni == nil || eni.ID != ep.ENI {
			t.Errorf("%s: the lab placed it on ENI %q, the resolution rule says %v", ep.Target(), ep.ENI, eniID(eni))
			continue
		}
		if ve.ENI == nil || ve.ENI.ID != eni.ID {
			t.Errorf("%s: diagnose resolves it to ENI %v (%s), the rule says %s", ep.Target(), eniID(ve.ENI), ve.Unresolved, eni.ID)
			continue
		}
		d := ev.Evaluate(secgroup.Query{GroupIDs: eni.SecurityGroupIDs, Protocol: snapshot.ProtocolTCP, Port: ep.Port, Dest: ip})
		if d.Verdict != ve.Decision.Verdict {
			t.Errorf("%s: the evaluator says %s, diagnose's view %s", ep.Target(), d.Verdict, ve.Decision.Verdict)
		}
		d = ve.Decision
		if d.Verdict == secgroup.Partial {
			c.partial++
		}
		compared := false
		for _, from := range sources {
			var want string
			switch verdictFrom(d, from) {
			case secgroup.Allow:
				want = "open"
				if !ep.Ready {
					want = "refused"
				}
			case secgroup.Deny:
				want = "filtered"
			default:
				continue
			}
			compared = true
			checks = append(checks, &check{ep: ep, from: from, eni: eni, d: d, want: want})
			targets[from] = append(targets[from], ep.Target())
		}
		if !compared {
			c.unknown++
		}
	}
	if len(checks) == 0 {
		return c
	}
	results := map[netip.Addr][]ProbeResult{}
	for from, ts := range targets {
		rs, err := l.ProbeFrom(context.Background(), from, ts, probeTimeout, -1)
		if err != nil {
			t.Fatal(err)
		}
		results[from] = rs
	}
	next := map[netip.Addr]int{}
	for _, ck := range checks {
		ck.result = results[ck.from][next[ck.from]]
		next[ck.from]++
	}
	// A mismatch is probed again, alone and patiently, so a loaded machine
	// cannot turn a slow handshake into a false "filtered".
	var again []*check
	for _, ck := range checks {
		if ck.result.State != ck.want {
			again = append(again, ck)
		}
	}
	c.rechecked = len(again)
	for _, ck := range again {
		rs, err := l.ProbeFrom(context.Background(), ck.from, []string{ck.ep.Target()}, recheckTimeout, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("recheck %s: want %s, first probe %s (%s, %d attempts, rtt %s), again %s (%s)",
			ck.ep.Target(), ck.want, ck.result.State, ck.result.Error, ck.result.Attempts, ck.result.RTT, rs[0].State, rs[0].Error)
		ck.result = rs[0]
	}
	for _, ck := range checks {
		c.compared++
		c.states[ck.result.State]++
		if ck.result.State == ck.want {
			continue
		}
		x := ev.Explain(secgroup.Query{GroupIDs: ck.eni.SecurityGroupIDs, Protocol: snapshot.ProtocolTCP, Port: ck.ep.Port, Dest: netip.MustParseAddr(ck.ep.IP)})
		var trail []string
		for _, n := range x.Notes {
			trail = append(trail, "note: "+n)
		}
		for _, cons := range x.Considered {
			mark := " "
			if cons.Decisive {
				mark = "*"
			}
			trail = append(trail, fmt.Sprintf("%s %s/%s %s: %s", mark, cons.Ref.GroupID, cons.Ref.RuleID, cons.Match, cons.Why))
		}
		detail := ""
		if ck.result.Error != "" {
			detail = " (" + ck.result.Error + ")"
		}
		c.disagreements = append(c.disagreements, disagreement{Endpoint: ck.ep, From: ck.from.String(), ENI: ck.eni.ID, Groups: ck.eni.SecurityGroupIDs,
			Verdict: ck.d.Verdict.String(), Want: ck.want, Got: ck.result.State, Detail: detail, Trail: trail})
	}
	return c
}

// verdictFrom is the evaluator's verdict for traffic from the gateway
// address a: its piece's when the decision splits the gateway's addresses.
func verdictFrom(d secgroup.Decision, a netip.Addr) secgroup.Verdict {
	for _, p := range d.Pieces {
		for _, x := range p.Prefixes {
			if x.Contains(a) {
				return p.Verdict
			}
		}
	}
	if len(d.Pieces) > 0 {
		return secgroup.Unknown // an address no piece holds: not the gateway's
	}
	return d.Verdict
}

// probeFromGateway is the live probe, with gwdoctor's prober.
func probeFromGateway(l *Lab, targets []string, timeout time.Duration, retries int) ([]ProbeResult, error) {
	return l.Probe(context.Background(), targets, timeout, retries)
}

// resolveENI is DESIGN.md's rule, written here independently of the lab:
// the ENI whose ips contain the address, else whose prefixes contain it,
// else the primary ENI of the endpoint's node.
func resolveENI(s *snapshot.Snapshot, ip netip.Addr, node string) *snapshot.ENI {
	for i := range s.Nodes {
		for j := range s.Nodes[i].ENIs {
			for _, a := range s.Nodes[i].ENIs[j].IPs {
				if b, err := netip.ParseAddr(a); err == nil && b == ip {
					return &s.Nodes[i].ENIs[j]
				}
			}
		}
	}
	for i := range s.Nodes {
		for j := range s.Nodes[i].ENIs {
			for _, p := range s.Nodes[i].ENIs[j].Prefixes {
				if pfx, err := netip.ParsePrefix(p); err == nil && pfx.Contains(ip) {
					return &s.Nodes[i].ENIs[j]
				}
			}
		}
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if node == "" || (n.Name != node && n.InstanceID != node) {
			continue
		}
		for j := range n.ENIs {
			if n.ENIs[j].Primary {
				return &n.ENIs[j]
			}
		}
	}
	return nil
}

// endpointNode finds the node an endpoint of the snapshot names.
func endpointNode(s *snapshot.Snapshot, ep Endpoint) string {
	for _, svc := range s.Services {
		if svc.Key() != ep.Service {
			continue
		}
		for _, e := range svc.Endpoints {
			if a, err := netip.ParseAddr(e.IP); err == nil && a.String() == ep.IP && e.Port == ep.Port {
				return e.Node
			}
		}
	}
	return ""
}

func eniID(e *snapshot.ENI) string {
	if e == nil {
		return "no ENI"
	}
	return e.ID
}

// writeFailure writes a disagreeing scenario where it can be replayed
// (copy it into lab/testdata/ to keep it), with what disagreed beside it.
func writeFailure(t testing.TB, name string, l *Lab, ds []disagreement, rerun string) string {
	t.Helper()
	dir := os.Getenv("GWDOCTOR_LAB_FAILURES")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "gwdoctor-lab-failures-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".yaml")
	if err := saveSnapshot(path, l.Snapshot()); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rerun: %s\n\n", rerun)
	for _, d := range ds {
		fmt.Fprintf(&b, "%s\n\n", d)
	}
	rulesets := l.Rulesets()
	var names []string
	for ns := range rulesets {
		names = append(names, ns)
	}
	sort.Strings(names)
	for _, ns := range names {
		fmt.Fprintf(&b, "# nftables in %s\n%s\n", ns, rulesets[ns])
	}
	if err := os.WriteFile(strings.TrimSuffix(path, ".yaml")+".txt", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// saveSnapshot writes s as snapshot YAML.
func saveSnapshot(path string, s *snapshot.Snapshot) error { return snapshot.Save(path, s) }

// validate checks a generated snapshot as the loader would.
func validate(s *snapshot.Snapshot) error { return s.Validate() }

func envInt(t testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a whole number", name, v)
	}
	return n
}
