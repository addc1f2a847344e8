package diagnose

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// testSnapshot: one authorized node (eni-a holds 10.0.1.5), one node whose
// pods are routed to it (Flannel-style), one ENI with a prefix.
func testSnapshot() *snapshot.Snapshot {
	return &snapshot.Snapshot{
		Version: 1,
		Gateway: snapshot.Gateway{ID: "gw-1", SecurityGroupID: "sg-gw", VpcID: "vpc-1", Addresses: []string{"192.168.0.0/24"},
			Authorizations: []snapshot.Authorization{{ID: "1", SecurityGroupID: "sg-a", PortRange: "8080/8080", Protocol: "TCP"}}},
		SecurityGroups: []snapshot.SecurityGroup{
			{ID: "sg-gw", Type: "normal", VpcID: "vpc-1", InnerAccessPolicy: "accept"},
			{ID: "sg-a", Type: "normal", VpcID: "vpc-1", InnerAccessPolicy: "accept", Rules: []snapshot.Rule{
				{ID: "r1", Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "8080/8080", SourceGroupID: "sg-gw"},
			}},
			{ID: "sg-b", Type: "normal", VpcID: "vpc-1", InnerAccessPolicy: "accept"},
		},
		Nodes: []snapshot.Node{
			{Name: "node-a", InstanceID: "i-a", ENIs: []snapshot.ENI{{ID: "eni-a", Primary: true, IPs: []string{"10.0.1.5"}, SecurityGroupIDs: []string{"sg-a"}}}},
			{Name: "node-b", InstanceID: "i-b", ENIs: []snapshot.ENI{
				{ID: "eni-b", Primary: true, IPs: []string{"10.0.2.5"}, SecurityGroupIDs: []string{"sg-b"}},
				{ID: "eni-b2", IPs: []string{"10.0.2.6"}, Prefixes: []string{"10.9.0.0/28"}, SecurityGroupIDs: []string{"sg-a"}},
			}},
		},
		Services: []snapshot.Service{
			{Name: "orders", Namespace: "shop", Endpoints: []snapshot.Endpoint{
				{IP: "10.0.1.5", Port: 8080, Pod: "orders-1", Node: "node-a"},
				{IP: "172.20.2.9", Port: 8080, Pod: "orders-2", Node: "node-b"},
			}},
			{Name: "cart", Namespace: "shop", Endpoints: []snapshot.Endpoint{
				{IP: "10.9.0.3", Port: 8080, Pod: "cart-1"},
				{IP: "172.30.0.1", Port: 8080, Pod: "cart-2"},
			}},
		},
	}
}

func TestLocateIP(t *testing.T) {
	v := NewView(testSnapshot())
	cases := []struct {
		ip, node, wantENI, wantHow, wantWhy string
	}{
		{"10.0.1.5", "", "eni-a", ResolvedByIP, ""},
		{"10.0.1.5", "node-b", "eni-a", ResolvedByIP, ""}, // the IP wins over the node
		{"10.9.0.3", "", "eni-b2", ResolvedByPrefix, ""},
		{"172.20.2.9", "node-b", "eni-b", ResolvedByNodePrimary, ""},
		{"172.20.2.9", "i-b", "eni-b", ResolvedByNodePrimary, ""},
		{"172.30.0.1", "", "", "", "names no node"},
		{"172.30.0.1", "node-z", "", "", `node "node-z" is not in the snapshot`},
	}
	for _, c := range cases {
		ref, how, why := v.LocateIP(netip.MustParseAddr(c.ip), c.node)
		got := ""
		if ref.ENI != nil {
			got = ref.ENI.ID
		}
		if got != c.wantENI || how != c.wantHow || (c.wantWhy != "" && !strings.Contains(why, c.wantWhy)) {
			t.Errorf("LocateIP(%s, %q) = %q, %q, %q; want %q, %q, …%q…", c.ip, c.node, got, how, why, c.wantENI, c.wantHow, c.wantWhy)
		}
	}
}

func TestViewEndpointsVerdicts(t *testing.T) {
	v := NewView(testSnapshot())
	want := map[string]string{
		"shop/orders 10.0.1.5:8080":   VerdictReachable, // authorized group on its ENI
		"shop/orders 172.20.2.9:8080": VerdictBlocked,   // node-b's primary ENI has sg-b only
		"shop/cart 10.9.0.3:8080":     VerdictReachable, // prefix ENI carries sg-a
		"shop/cart 172.30.0.1:8080":   VerdictUnknown,   // unresolvable: never reachable
	}
	if len(v.Endpoints) != len(want) {
		t.Fatalf("got %d endpoints, want %d", len(v.Endpoints), len(want))
	}
	for _, ep := range v.Endpoints {
		if ep.Verdict != want[ep.Label()] {
			t.Errorf("%s: verdict %s, want %s (decision %+v)", ep.Label(), ep.Verdict, want[ep.Label()], ep.Decision)
		}
	}
	unresolved := v.ByService["shop/cart"][1]
	if unresolved.Decision.Verdict != secgroup.Unknown || len(unresolved.Decision.Notes) == 0 {
		t.Errorf("unresolved endpoint: decision %+v, want unknown with a note", unresolved.Decision)
	}
}

func TestJoinVerdict(t *testing.T) {
	p := func(state, from string) *snapshot.Probe { return &snapshot.Probe{State: state, From: from} }
	cases := []struct {
		config secgroup.Verdict
		probe  *snapshot.Probe
		want   string
	}{
		{secgroup.Allow, nil, VerdictReachable},
		{secgroup.Allow, p("open", "operator"), VerdictReachable},
		{secgroup.Allow, p("refused", "operator"), VerdictBlocked},
		{secgroup.Allow, p("filtered", "operator"), VerdictReachable},
		{secgroup.Allow, p("unreachable", "operator"), VerdictReachable},
		{secgroup.Allow, p("filtered", "gateway"), VerdictBlocked},
		{secgroup.Unknown, p("refused", "gateway"), VerdictBlocked},
		{secgroup.Deny, p("refused", "operator"), VerdictBlocked},
		{secgroup.Allow, p("unreachable", "gateway"), VerdictBlocked},
		{secgroup.Allow, p("error", "gateway"), VerdictReachable},
		{secgroup.Deny, nil, VerdictBlocked},
		{secgroup.Deny, p("filtered", "operator"), VerdictBlocked},
		{secgroup.Deny, p("open", "operator"), VerdictUnknown},
		{secgroup.Unknown, nil, VerdictUnknown},
		{secgroup.Unknown, p("open", "operator"), VerdictUnknown},
		{secgroup.Unknown, p("open", "gateway"), VerdictReachable},
		{secgroup.Unknown, p("filtered", "operator"), VerdictUnknown},
		{secgroup.Unknown, p("filtered", "gateway"), VerdictBlocked},
		{secgroup.Unknown, p("refused", "operator"), VerdictBlocked},
	}
	for _, c := range cases {
		if got := JoinVerdict(c.config, c.probe); got != c.want {
			t.Errorf("JoinVerdict(%s, %+v) = %s, want %s", c.config, c.probe, got, c.want)
		}
	}
}

func findingCheck(name, code string, needs []Input, run func(p *Pass) error) *Check {
	return &Check{Name: name, Doc: "test", Codes: []string{code}, Requires: needs, Run: run}
}

func TestRunIsolatesFailuresAndSkips(t *testing.T) {
	v := NewView(testSnapshot())
	good := findingCheck("wrong-node", CodeWrongNode, []Input{InputNodes}, func(p *Pass) error {
		for _, ep := range p.View.Endpoints {
			if ep.Verdict == VerdictBlocked {
				p.Report(Finding{Code: CodeWrongNode, Subjects: []string{ep.Label()}, Services: []string{ep.ServiceKey}, Message: "m"})
			}
		}
		return nil
	})
	panics := findingCheck("port-changed", CodePortChanged, nil, func(p *Pass) error { panic("boom") })
	fails := findingCheck("service-down", CodeServiceDown, nil, func(p *Pass) error { return errors.New("no luck") })
	undeclared := findingCheck("vpc-mismatch", CodeVPCMismatch, nil, func(p *Pass) error {
		p.Report(Finding{Code: CodeWrongNode, Message: "not mine"})
		return nil
	})
	badSeverity := findingCheck("stale-authorization", CodeStaleAuthorization, nil, func(p *Pass) error {
		p.Report(Finding{Code: CodeStaleAuthorization, Severity: Sev(Error), Message: "too loud"})
		return nil
	})
	needsProbes := findingCheck("traffic-filtered", CodeTrafficFiltered, []Input{InputProbes}, func(p *Pass) error {
		t.Error("a check with missing inputs must not run")
		return nil
	})
	r := Run(context.Background(), v, []*Check{good, panics, fails, undeclared, badSeverity, needsProbes})

	var failed []string
	for _, e := range r.CheckErrors {
		failed = append(failed, e.Check)
	}
	if want := []string{"port-changed", "service-down", "stale-authorization", "vpc-mismatch"}; !slices.Equal(failed, want) {
		t.Errorf("check errors %v, want %v", failed, want)
	}
	if !strings.Contains(r.CheckErrors[0].Error, "panic: boom") {
		t.Errorf("panic not reported: %q", r.CheckErrors[0].Error)
	}
	if len(r.Skipped) != 1 || r.Skipped[0].Check != "traffic-filtered" || !strings.Contains(r.Skipped[0].Reason, "no probes") {
		t.Errorf("skipped = %+v", r.Skipped)
	}
	codes := map[string]int{}
	for _, f := range r.Findings {
		codes[f.Code]++
	}
	if codes[CodeWrongNode] != 1 || codes[CodeCheckSkipped] != 1 || len(r.Findings) != 2 {
		t.Errorf("findings by code %v, want one GWD102 and one GWD001", codes)
	}
	if r.Findings[0].Check != "wrong-node" || r.Findings[0].Level() != Error {
		t.Errorf("catalog fields not filled: %+v", r.Findings[0])
	}
	if got := r.ExitCode(FailOn{Severity: Error}); got != 1 {
		t.Errorf("exit code %d, want 1", got)
	}
}

func TestRunDeterministic(t *testing.T) {
	v := NewView(testSnapshot())
	var checks []*Check
	for _, code := range []string{CodeWrongNode, CodePortChanged, CodeServiceDown, CodeVPCMismatch} {
		checks = append(checks, findingCheck(code, code, nil, func(p *Pass) error {
			for _, ep := range p.View.Endpoints {
				p.Report(Finding{Code: code, Subjects: []string{ep.Label()}, Services: []string{ep.ServiceKey}, Message: code})
			}
			return nil
		}))
	}
	first, _ := json.Marshal(Run(context.Background(), v, checks))
	for range 20 {
		again, _ := json.Marshal(Run(context.Background(), v, checks))
		if string(again) != string(first) {
			t.Fatalf("report differs between runs:\n%s\n%s", first, again)
		}
	}
}

func TestExitCode(t *testing.T) {
	mk := func(unknown int, sevs ...string) *Report {
		r := &Report{Endpoints: make([]EndpointResult, max(0, unknown))}
		for i := range r.Endpoints {
			r.Endpoints[i].Verdict = VerdictUnknown
		}
		if unknown < 0 { // one blocked endpoint
			r.Endpoints = []EndpointResult{{Verdict: VerdictBlocked}}
		}
		for _, s := range sevs {
			code, sev, _ := strings.Cut(s, ":")
			lvl, _ := ParseSeverity(sev)
			r.Findings = append(r.Findings, Finding{Code: code, Severity: Sev(lvl)})
		}
		r.finish()
		return r
	}
	errorOn, _ := ParseFailOn("error")
	warnOn, _ := ParseFailOn("warning")
	infoOn, _ := ParseFailOn("info")
	never, _ := ParseFailOn("never")
	cases := []struct {
		name string
		r    *Report
		on   FailOn
		want int
	}{
		{"clean", mk(0), errorOn, 0},
		{"error finding", mk(0, "GWD102:error"), errorOn, 1},
		{"warning below error threshold", mk(0, "GWD301:warning"), errorOn, 0},
		{"warning at warning threshold", mk(0, "GWD301:warning"), warnOn, 1},
		{"unknown only", mk(1, "GWD002:warning"), errorOn, 3},
		{"unknown only, warning threshold", mk(1, "GWD002:warning"), warnOn, 3},
		{"unknown and an error", mk(1, "GWD002:warning", "GWD101:error"), errorOn, 1},
		{"a skipped-check note is an info like any: it fails at info", mk(0, "GWD001:info"), infoOn, 1},
		{"a skipped-check note does not fail at warning", mk(0, "GWD001:info"), warnOn, 0},
		{"info at info threshold", mk(0, "GWD302:info"), infoOn, 1},
		{"never", mk(1, "GWD101:error"), never, 0},
		{"blocked endpoint without a finding", mk(-1), errorOn, 1},
		{"blocked endpoint, never", mk(-1), never, 0},
	}
	for _, c := range cases {
		if got := c.r.ExitCode(c.on); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
	if _, err := ParseFailOn("fatal"); err == nil {
		t.Error("ParseFailOn accepted fatal")
	}
}

func TestApplyFilter(t *testing.T) {
	v := NewView(testSnapshot())
	c := findingCheck("broad-authorization", CodeBroadAuthorization, nil, func(p *Pass) error {
		p.Report(Finding{Code: CodeBroadAuthorization, Subjects: []string{"sg-a"}, Services: []string{"shop/orders"}, Message: "a"})
		p.Report(Finding{Code: CodeBroadAuthorization, Subjects: []string{"sg-b"}, Services: []string{"shop/cart"}, Message: "b"})
		p.Report(Finding{Code: CodeBroadAuthorization, Subjects: []string{"sg-z"}, Message: "global"})
		return nil
	})
	r := Run(context.Background(), v, []*Check{c})
	sup, err := ParseSuppression("broad-authorization=sg-a")
	if err != nil {
		t.Fatal(err)
	}
	r.ApplyFilter([]string{"shop/orders", "shop/cart"}, []Suppression{sup})
	if len(r.Findings) != 1 || r.Findings[0].Message != "b" {
		t.Errorf("findings after filter: %+v", r.Findings)
	}
	if r.Filter.SuppressedFinding != 1 || r.Filter.HiddenFindings != 1 || r.Summary.Infos != 1 {
		t.Errorf("filter info %+v summary %+v", r.Filter, r.Summary)
	}
	r.ApplyFilter([]string{"shop/cart"}, nil)
	if len(r.Endpoints) != 2 || r.Summary.Endpoints != 2 {
		t.Errorf("endpoints after service filter: %d", len(r.Endpoints))
	}
	if _, err := ParseSuppression("GWD999"); err == nil {
		t.Error("unknown code accepted")
	}
}

func TestCatalogLookup(t *testing.T) {
	seenID, seenSlug := map[string]bool{}, map[string]bool{}
	for _, c := range Catalog {
		if seenID[c.ID] || seenSlug[c.Slug] {
			t.Errorf("duplicate code or slug: %s %s", c.ID, c.Slug)
		}
		seenID[c.ID], seenSlug[c.Slug] = true, true
		if len(c.Severities) == 0 || c.Title == "" {
			t.Errorf("%s: no severity or title", c.ID)
		}
		for _, key := range []string{c.ID, strings.ToLower(c.ID), c.Slug} {
			if got, ok := LookupCode(key); !ok || got.ID != c.ID {
				t.Errorf("LookupCode(%q) = %v, %v", key, got.ID, ok)
			}
		}
	}
}

// When some ENIs could not be read, an IP on no collected ENI is unknown,
// not the node's primary ENI's: it may sit on an ENI that was not read.
func TestLocateIPWithMissingENIs(t *testing.T) {
	s := testSnapshot()
	s.Missing = []snapshot.MissingPart{{Part: snapshot.PartENIs, IDs: []string{"172.20.2.9"}, Error: "Forbidden.RAM", Action: "ecs:DescribeNetworkInterfaces"}}
	v := NewView(s)
	ref, _, why := v.LocateIP(netip.MustParseAddr("172.20.2.9"), "node-b")
	if ref.ENI != nil || !strings.Contains(why, "could not be read") {
		t.Errorf("LocateIP with missing ENIs = %v, %q; want unresolved", ref.ENI, why)
	}
	if ref, how, _ := v.LocateIP(netip.MustParseAddr("10.0.1.5"), ""); ref.ENI == nil || how != ResolvedByIP {
		t.Errorf("an IP on a collected ENI must still resolve, got %v %q", ref.ENI, how)
	}
	if ep := v.ByService["shop/orders"][1]; ep.Verdict != VerdictUnknown {
		t.Errorf("endpoint on an unread ENI: verdict %s, want unknown", ep.Verdict)
	}
}
