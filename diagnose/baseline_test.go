package diagnose

import (
	"slices"
	"testing"
)

func finding(code string, sev Severity, subjects ...string) Finding {
	c, _ := LookupCode(code)
	return Finding{Code: code, Check: c.Slug, Severity: Sev(sev), Subjects: subjects, Services: []string{"shop/orders"}, Message: code}
}

func TestCompareBaselineStatuses(t *testing.T) {
	base := &Report{Findings: []Finding{
		finding(CodeWrongNode, Error, "shop/orders 10.0.0.1:80"),
		finding(CodeNodePoolDrift, Warning, "np-a"),
		finding(CodeTrafficFiltered, Error, "shop/orders 10.0.0.2:80"),
	}}
	cur := &Report{
		Findings: []Finding{
			finding(CodeWrongNode, Error, "shop/orders 10.0.0.1:80"),
			finding(CodePortChanged, Error, "shop/orders 10.0.0.3:81"),
		},
		Skipped: []Skipped{{Check: "traffic-filtered", Reason: "no probes recorded"}},
	}
	catalog := []*Check{
		{Name: "traffic-filtered", Codes: []string{CodeTrafficFiltered, CodeContradictory}},
		{Name: "node-pool-drift", Codes: []string{CodeNodePoolDrift}},
	}
	cur.CompareBaseline(base, &SourceInfo{Kind: "file", Name: "before.yaml"}, catalog)

	status := map[string]string{}
	for _, f := range cur.Findings {
		status[f.Code] = f.Status
	}
	want := map[string]string{CodeWrongNode: StatusPresent, CodePortChanged: StatusNew, CodeNodePoolDrift: StatusFixed, CodeTrafficFiltered: StatusUnverified}
	for code, s := range want {
		if status[code] != s {
			t.Errorf("%s: status %q, want %q", code, status[code], s)
		}
	}
	b := cur.Baseline
	if b == nil || b.New != 1 || b.Present != 1 || b.Fixed != 1 || b.Unverified != 1 || b.Source.Name != "before.yaml" {
		t.Fatalf("baseline info %+v", b)
	}
	// Fixed and unverified findings are listed last and never counted.
	if cur.Summary.Errors != 2 || cur.Summary.Warnings != 0 {
		t.Errorf("summary %+v counts fixed findings", cur.Summary)
	}
	var order []string
	for _, f := range cur.Findings {
		order = append(order, f.Status)
	}
	if !slices.Equal(order[2:], []string{StatusFixed, StatusUnverified}) {
		t.Errorf("order %v: fixed and unverified must come last", order)
	}
	if !cur.Regressed(Error) {
		t.Error("a new error finding is a regression")
	}
	onlyFixed := &Report{Findings: []Finding{}}
	onlyFixed.CompareBaseline(&Report{Findings: []Finding{finding(CodeWrongNode, Error, "x")}}, nil, nil)
	if onlyFixed.ExitCode(FailOn{Severity: Info}) != 0 || onlyFixed.Regressed(Info) || onlyFixed.Summary.Errors != 0 {
		t.Errorf("a report whose only finding is fixed: exit %d, summary %+v", onlyFixed.ExitCode(FailOn{Severity: Info}), onlyFixed.Summary)
	}
	// Filtering recounts the statuses.
	cur.ApplyFilter(nil, []Suppression{{Code: CodePortChanged}})
	if cur.Baseline.New != 0 || cur.Baseline.Fixed != 1 {
		t.Errorf("after suppressing the new finding: %+v", cur.Baseline)
	}
}

func ep(svc, pod, ip string, port int, verdict string, ready bool) EndpointResult {
	return EndpointResult{Service: svc, Pod: pod, IP: ip, Port: port, Verdict: verdict, Ready: ready}
}

func TestCompareEndpoints(t *testing.T) {
	base := []EndpointResult{
		ep("shop/orders", "orders-1", "10.0.0.1", 8080, VerdictReachable, true),
		ep("shop/cart", "cart-1", "10.0.0.2", 8080, VerdictReachable, true),
		ep("shop/search", "search-0", "10.0.0.3", 9200, VerdictReachable, true),
		ep("shop/erp", "", "10.0.0.4", 8080, VerdictBlocked, true),
		ep("shop/ads", "ads-1", "10.0.0.5", 8080, VerdictReachable, true),
		ep("shop/pay", "pay-1", "10.0.0.6", 8080, VerdictReachable, true),
	}
	cur := []EndpointResult{
		ep("shop/orders", "orders-1", "10.0.1.1", 8080, VerdictBlocked, true), // moved, now blocked
		ep("shop/cart", "cart-2", "10.0.0.9", 8080, VerdictReachable, true),   // rollout: replaced, serving
		ep("shop/search", "search-0", "10.0.0.3", 9200, VerdictReachable, false),
		ep("shop/erp", "", "10.0.0.4", 8080, VerdictReachable, true),
		ep("shop/pay", "pay-2", "10.0.0.7", 8080, VerdictUnknown, true), // replacement is undecided
		// shop/ads: gone entirely
	}
	reg, rec := CompareEndpoints(base, cur)
	got := map[string]string{}
	for _, t := range reg {
		got[t.Label()] = t.Before + "→" + t.After
	}
	want := map[string]string{
		"shop/orders 10.0.1.1:8080": "reachable→blocked",
		"shop/search 10.0.0.3:9200": "reachable→not-ready",
		"shop/ads 10.0.0.5:8080":    "reachable→absent",
		"shop/pay 10.0.0.6:8080":    "reachable→absent", // its service serves nowhere now
		"shop/pay 10.0.0.7:8080":    "absent→unknown",   // and its replacement does not serve
	}
	if len(got) != len(want) {
		t.Errorf("regressions %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(rec) != 1 || rec[0].Label() != "shop/erp 10.0.0.4:8080" {
		t.Errorf("recovered %+v", rec)
	}
}

func TestServingServicesAndMatchEndpointResults(t *testing.T) {
	base := []EndpointResult{
		{Service: "a/one", IP: "10.0.0.1", Port: 80, Pod: "p1", Verdict: VerdictReachable, Ready: true},
		{Service: "a/two", IP: "10.0.0.2", Port: 80, Pod: "p2", Verdict: VerdictReachable, Ready: false},
		{Service: "a/three", IP: "10.0.0.3", Port: 80, Verdict: VerdictBlocked, Ready: true},
	}
	got := ServingServices(base)
	if len(got) != 1 || !got["a/one"] {
		t.Errorf("ServingServices = %v, want only a/one (a/two is not ready, a/three blocked)", got)
	}
	cur := []EndpointResult{
		{Service: "a/three", IP: "10.0.0.3", Port: 80},
		{Service: "a/one", IP: "10.0.0.9", Port: 8080, Pod: "p1"}, // the same pod, moved
		{Service: "a/four", IP: "10.0.0.4", Port: 80},
	}
	pairs, removed, added := MatchEndpointResults(base, cur)
	if !slices.Equal(pairs, []EndpointPair{{2, 0}, {0, 1}}) || !slices.Equal(removed, []int{1}) || !slices.Equal(added, []int{2}) {
		t.Errorf("pairs %v, removed %v, added %v", pairs, removed, added)
	}
}
