package serve

import (
	"slices"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

func ep(svc, ip string, verdict string, ready bool) diagnose.EndpointResult {
	return diagnose.EndpointResult{Service: svc, IP: ip, Port: 8080, Pod: "p-" + ip, Verdict: verdict, Ready: ready, Config: "deny", Reason: "default-deny"}
}

func kinds(ts []Transition) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Kind+" "+t.Service+" "+t.Endpoint+t.Code)
	}
	slices.Sort(out)
	return out
}

// Hand-written: one endpoint blocked by a new error finding, one pod
// replaced by a rollout (quiet), a finding fixed, a finding whose check was
// skipped (unverified, not fixed).
func TestTransitionsByHand(t *testing.T) {
	sev := diagnose.Sev(diagnose.Error)
	before := &diagnose.Report{
		Endpoints: []diagnose.EndpointResult{
			ep("shop/orders", "10.0.0.1", diagnose.VerdictReachable, true),
			ep("shop/web", "10.0.1.1", diagnose.VerdictReachable, true),
		},
		Findings: []diagnose.Finding{
			{Code: "GWD105", Check: "stale-authorization", Severity: diagnose.Sev(diagnose.Warning), Subjects: []string{"sg-old"}, Message: "stale"},
			{Code: "GWD109", Check: "authorization-sync", Severity: sev, Subjects: []string{"sg-x"}, Message: "out of sync"},
		},
	}
	after := &diagnose.Report{
		Endpoints: []diagnose.EndpointResult{
			ep("shop/orders", "10.0.0.1", diagnose.VerdictBlocked, true),
			ep("shop/web", "10.0.1.2", diagnose.VerdictReachable, true), // rollout: new pod IP, still serving
		},
		Findings: []diagnose.Finding{
			{Code: "GWD101", Check: "missing-authorization", Severity: sev, Subjects: []string{"shop/orders", "shop/orders 10.0.0.1:8080"},
				Services: []string{"shop/orders"}, Message: "not authorized"},
		},
		Skipped: []diagnose.Skipped{{Check: "authorization-sync", Reason: "rules missing"}},
	}
	got := kinds(Transitions("gw-1", before, after))
	want := []string{
		"endpoint-blocked shop/orders 10.0.0.1:8080GWD101",
		"finding-appeared shop/orders GWD101",
		"finding-cleared  GWD105",
		"finding-unverified  GWD109",
	}
	if !slices.Equal(got, want) {
		t.Errorf("transitions\n got %q\nwant %q", got, want)
	}
	for _, tr := range Transitions("gw-1", before, after) {
		if tr.Cause == "" || tr.Gateway != "gw-1" {
			t.Errorf("transition without cause or gateway: %+v", tr)
		}
		if tr.Kind == KindEndpointBlocked && (tr.Before != "reachable" || tr.After != "blocked" || tr.Severity != "error") {
			t.Errorf("endpoint transition %+v", tr)
		}
	}
	// And back: the endpoint recovers, the finding clears.
	back := kinds(Transitions("gw-1", after, before))
	if !slices.Contains(back, "endpoint-reachable shop/orders 10.0.0.1:8080") || !slices.Contains(back, "finding-cleared shop/orders GWD101") {
		t.Errorf("reverse transitions %q", back)
	}
}

// The class: a report compared with itself has no transition; with every
// endpoint's state changed, exactly one transition per endpoint.
func TestTransitionsClass(t *testing.T) {
	states := []struct {
		verdict string
		ready   bool
	}{{diagnose.VerdictReachable, true}, {diagnose.VerdictReachable, false}, {diagnose.VerdictBlocked, true}, {diagnose.VerdictUnknown, true}}
	for i := range states {
		for j := range states {
			a := &diagnose.Report{}
			b := &diagnose.Report{}
			for n := range 5 {
				ip := "10.0.0." + string(rune('1'+n))
				a.Endpoints = append(a.Endpoints, ep("ns/s", ip, states[i].verdict, states[i].ready))
				b.Endpoints = append(b.Endpoints, ep("ns/s", ip, states[j].verdict, states[j].ready))
			}
			if got := Transitions("gw", a, a); len(got) != 0 {
				t.Errorf("a report against itself: %v", got)
			}
			got := Transitions("gw", a, b)
			if i == j && len(got) != 0 || i != j && len(got) != 5 {
				t.Errorf("%v → %v: %d transitions, want %d", states[i], states[j], len(got), map[bool]int{true: 0, false: 5}[i == j])
			}
			for _, tr := range got {
				if tr.After != diagnose.State(&b.Endpoints[0]) || tr.Before != diagnose.State(&a.Endpoints[0]) {
					t.Errorf("%v → %v: transition %+v", states[i], states[j], tr)
				}
			}
		}
	}
}
