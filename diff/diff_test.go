package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden expected.json files")

// scenarios is ../testdata/diff: one directory per case with baseline.yaml,
// current.yaml and the golden expected.json.
const scenarios = "../testdata/diff"

// testCatalog stands in for the catalog so the golden files depend only on
// this package: one finding per blocked endpoint, per endpoint not ready, per
// service without endpoints, and per gateway-sourced rule left without an
// authorization (the checks package tests the real catalog).
func testCatalog() []*diagnose.Check {
	blocked := &diagnose.Check{Name: "missing-authorization", Codes: []string{diagnose.CodeMissingAuthorization},
		Requires: []diagnose.Input{diagnose.InputEndpoints},
		Run: func(p *diagnose.Pass) error {
			for _, ep := range p.View.Endpoints {
				if ep.Verdict == diagnose.VerdictBlocked {
					p.Report(diagnose.Finding{Code: diagnose.CodeMissingAuthorization, Subjects: []string{ep.Label()}, Services: []string{ep.ServiceKey},
						Message:     ep.Target() + " is blocked",
						Remediation: diagnose.Remediation{Steps: []string{"authorize the endpoint's group"}, Commands: []string{"aliyun mse AddSecurityGroupRule …"}}})
				}
			}
			return nil
		}}
	down := &diagnose.Check{Name: "service-down", Codes: []string{diagnose.CodeServiceDown},
		Run: func(p *diagnose.Pass) error {
			for _, svc := range p.View.Services {
				eps := p.View.ByService[svc.Key()]
				if len(eps) == 0 {
					p.Report(diagnose.Finding{Code: diagnose.CodeServiceDown, Subjects: []string{svc.Key()}, Services: []string{svc.Key()}, Message: svc.Key() + " has no endpoints"})
				}
				for _, ep := range eps {
					if !ep.Endpoint.IsReady() {
						p.Report(diagnose.Finding{Code: diagnose.CodeServiceDown, Subjects: []string{ep.Label()}, Services: []string{ep.ServiceKey}, Message: ep.Endpoint.Pod + " is not ready",
							Remediation: diagnose.Remediation{Steps: []string{"kubectl describe pod " + ep.Endpoint.Pod}}})
					}
				}
			}
			return nil
		}}
	orphan := &diagnose.Check{Name: "authorization-out-of-sync", Codes: []string{diagnose.CodeAuthorizationSync},
		Run: func(p *diagnose.Pass) error {
			authorized := map[string]bool{}
			for _, a := range p.View.Snapshot.Gateway.Authorizations {
				authorized[a.SecurityGroupID] = true
			}
			for _, g := range p.View.Snapshot.SecurityGroups {
				if authorized[g.ID] || g.ID == p.View.Snapshot.Gateway.SecurityGroupID {
					continue
				}
				for _, ref := range p.View.Eval.RulesFromGateway(g.ID) {
					p.Report(diagnose.Finding{Code: diagnose.CodeAuthorizationSync, Severity: diagnose.Sev(diagnose.Warning),
						Subjects: []string{g.ID, g.ID + "/" + ref.RuleID}, Message: "rule " + ref.RuleID + " has no authorization"})
				}
			}
			return nil
		}}
	return []*diagnose.Check{blocked, down, orphan}
}

func load(t *testing.T, path string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return s
}

func compareCase(t *testing.T, name string) *Result {
	t.Helper()
	dir := filepath.Join(scenarios, name)
	return Compare(context.Background(), load(t, filepath.Join(dir, "baseline.yaml")), load(t, filepath.Join(dir, "current.yaml")),
		Options{Checks: testCatalog(), BaselineName: "baseline.yaml", CurrentName: "current.yaml"})
}

// regression is what a case must say about one endpoint that broke: the
// kind of its most likely cause, a subject of that change, and the words the
// explanation must contain.
type regression struct {
	endpoint  string
	causeKind string
	subject   string
	text      string
	alsoKinds []string // further causes it must list
	finding   string   // code of a new finding it must name
}

var cases = []struct {
	name        string
	result      string
	regressions []regression
	kinds       []string // change kinds that must be listed
	notKinds    []string // change kinds that must not be listed
	recovered   []string
	ignored     []string          // ignored categories that must be counted
	findingLink map[string]string // new finding code → change kind it must be linked to
}{
	{name: "wrong-node", result: ResultBroken, regressions: []regression{{
		endpoint: "shop/orders 172.20.2.10:8080", causeKind: KindEndpointMoved, subject: "orders-7d9f-abc12",
		text:    "pod orders-7d9f-abc12 moved from node node-a in pool np-a (sg-a, authorized) to node node-b in pool np-b (sg-b, not authorized)",
		finding: diagnose.CodeMissingAuthorization,
	}}, findingLink: map[string]string{diagnose.CodeMissingAuthorization: KindEndpointMoved}},
	{name: "port-changed", result: ResultBroken, regressions: []regression{{
		endpoint: "shop/orders 172.20.1.10:8081", causeKind: KindEndpointPort, subject: "orders-7d9f-abc12",
		text: "now listens on port 8081 instead of 8080; its groups: sg-a authorized for 8080/8080 only", finding: diagnose.CodeMissingAuthorization,
	}}},
	{name: "service-down", result: ResultBroken, regressions: []regression{{
		endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindEndpointNotReady, subject: "orders-7d9f-abc12",
		text: "(reachable → not-ready) because pod orders-7d9f-abc12 is no longer ready", finding: diagnose.CodeServiceDown,
	}}},
	{name: "type-mismatch", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:8080", causeKind: KindGroupType, subject: "sg-a", text: "changed type from normal to enterprise"},
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindGroupType, subject: "sg-a", text: "enterprise groups cannot be referenced"},
	}},
	{name: "deny-rule", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:8080", causeKind: KindRuleAdded, subject: "sg-a/sgr-a-block", text: "drop rule sg-a/sgr-a-block added: ingress drop TCP 8080/8080 from 0.0.0.0/0, priority 1"},
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindRuleAdded, subject: "sg-a/sgr-a-block", text: "drop rule sg-a/sgr-a-block added: ingress drop TCP 8080/8080 from 0.0.0.0/0, priority 1"},
	}},
	{name: "multiple-groups", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:8080", causeKind: KindGroupAttached, subject: "sg-x", text: "group sg-x attached to ENI eni-a on node node-a (groups now sg-a, sg-x)", alsoKinds: []string{KindGroupAdded}},
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindGroupAttached, subject: "sg-x", text: "group sg-x attached to ENI eni-a on node node-a (groups now sg-a, sg-x)", alsoKinds: []string{KindGroupAdded}},
	}},
	{name: "auth-deleted-no-cascade", result: ResultChanged, kinds: []string{KindAuthRemoved},
		findingLink: map[string]string{diagnose.CodeAuthorizationSync: KindAuthRemoved}},
	{name: "auth-deleted-cascade", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:8080", causeKind: KindRuleRemoved, subject: "sg-a/sgr-a-gw", text: "rule sg-a/sgr-a-gw removed", alsoKinds: []string{KindAuthRemoved}},
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindRuleRemoved, subject: "sg-a/sgr-a-gw", text: "rule sg-a/sgr-a-gw removed", alsoKinds: []string{KindAuthRemoved}},
	}},
	{name: "auth-narrowed", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:9090", causeKind: KindRuleChanged, subject: "sg-a/sgr-a-gw", text: "1/65535", alsoKinds: []string{KindAuthNarrowed}},
	}},
	{name: "auth-widened", result: ResultChanged, kinds: []string{KindAuthWidened, KindRuleChanged}},
	{name: "auth-added", result: ResultChanged, kinds: []string{KindAuthAdded, KindRuleAdded}, recovered: []string{"shop/search 172.20.2.10:8080"}},
	{name: "group-detached", result: ResultBroken, kinds: []string{KindGroupAttached}, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:8080", causeKind: KindGroupDetached, subject: "sg-a", text: "group sg-a detached from ENI eni-a", alsoKinds: []string{KindGroupAttached}},
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindGroupDetached, subject: "sg-a", text: "group sg-a detached from ENI eni-a", alsoKinds: []string{KindGroupAttached}},
	}},
	{name: "rule-removed", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:8080", causeKind: KindRuleRemoved, subject: "sg-a/sgr-a-gw", text: "rule sg-a/sgr-a-gw removed: ingress accept TCP 8080/8080 from sg-gw"},
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindRuleRemoved, subject: "sg-a/sgr-a-gw", text: "rule sg-a/sgr-a-gw removed: ingress accept TCP 8080/8080 from sg-gw"},
	}},
	{name: "rule-changed", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:8080", causeKind: KindRuleChanged, subject: "sg-a/sgr-a-gw", text: "to ingress accept TCP 8081/8081 from sg-gw"},
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindRuleChanged, subject: "sg-a/sgr-a-gw", text: "to ingress accept TCP 8081/8081 from sg-gw"},
	}},
	{name: "rule-now-drops", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:8080", causeKind: KindRuleChanged, subject: "sg-a/sgr-a-gw", text: "rule sg-a/sgr-a-gw now drops"},
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindRuleChanged, subject: "sg-a/sgr-a-gw", text: "rule sg-a/sgr-a-gw now drops"},
	}},
	{name: "inner-access-policy", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/billing 172.20.3.10:8443", causeKind: KindInnerAccessPolicy, subject: "sg-gw", text: "innerAccessPolicy changed from accept to drop"},
	}},
	{name: "node-pool-groups", result: ResultChanged, kinds: []string{KindNodePoolGroups}},
	{name: "serverless-default", result: ResultChanged, kinds: []string{KindServerlessDefault}},
	{name: "endpoints-replaced", result: ResultChanged, kinds: []string{KindEndpointAdded, KindEndpointRemoved}},
	{name: "endpoints-gone", result: ResultBroken, regressions: []regression{
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindEndpointRemoved, subject: "orders-7d9f-abc12", text: "(reachable → absent) because pod orders-7d9f-abc12 is gone"},
	}},
	{name: "data-missing", result: ResultInconclusive, notKinds: []string{KindRuleRemoved, KindGroupRemoved}, regressions: []regression{
		{endpoint: "shop/cart 172.20.1.11:8080", causeKind: KindDataMissing, subject: "sg-a", text: "can no longer be verified (reachable → unknown) because rules (sg-a) could not be collected now"},
		{endpoint: "shop/orders 172.20.1.10:8080", causeKind: KindDataMissing, subject: "sg-a", text: "ecs:DescribeSecurityGroupAttribute"},
	}},
	{name: "probe-refused", result: ResultBroken, ignored: []string{"probe observations (their effect is in the endpoint verdicts)"}, regressions: []regression{
		{endpoint: "shop/orders 172.20.1.10:8080", text: "no configuration change explains it, but the probe now answers refused from operator (it was open from operator)", finding: diagnose.CodeMissingAuthorization},
	}},
	{name: "unrelated-only", result: ResultUnchanged, ignored: []string{"capture time", "descriptions", "names", "unrelated security groups", "rules that do not admit or drop the gateway", "probe observations (their effect is in the endpoint verdicts)"}},
}

func TestScenarioPairs(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(scenarios, "*", "baseline.yaml"))
	if len(dirs) != len(cases) {
		t.Errorf("%d scenario pairs in %s, %d cases in the table: every pair needs its assertions", len(dirs), scenarios, len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := compareCase(t, tc.name)
			golden(t, filepath.Join(scenarios, tc.name, "expected.json"), res)
			if res.Result != tc.result {
				t.Errorf("result %s, want %s", res.Result, tc.result)
			}
			byID := map[string]*Change{}
			kinds := map[string]bool{}
			for i := range res.Changes {
				byID[res.Changes[i].ID] = &res.Changes[i]
				kinds[res.Changes[i].Kind] = true
			}
			for _, k := range tc.kinds {
				if !kinds[k] {
					t.Errorf("no %s change listed; changes: %v", k, changeKinds(res))
				}
			}
			for _, k := range tc.notKinds {
				if kinds[k] {
					t.Errorf("a %s change is listed; changes: %v", k, changeKinds(res))
				}
			}
			var regressed []string
			for _, d := range res.Endpoints {
				if d.Change == DeltaRegressed {
					regressed = append(regressed, d.Label())
				}
			}
			var want []string
			for _, r := range tc.regressions {
				want = append(want, r.endpoint)
			}
			slices.Sort(want)
			if !slices.Equal(regressed, want) {
				t.Errorf("regressed endpoints %v, want %v", regressed, want)
			}
			for _, r := range tc.regressions {
				checkRegression(t, res, byID, r)
			}
			var recovered []string
			for _, d := range res.Endpoints {
				if d.Change == DeltaRecovered {
					recovered = append(recovered, d.Label())
				}
			}
			if !slices.Equal(recovered, tc.recovered) {
				t.Errorf("recovered %v, want %v", recovered, tc.recovered)
			}
			ignored := map[string]int{}
			for _, ig := range res.Ignored {
				ignored[ig.What] = ig.Count
			}
			for _, what := range tc.ignored {
				if ignored[what] == 0 {
					t.Errorf("ignored %q not counted; ignored: %v", what, res.Ignored)
				}
			}
			if tc.result == ResultUnchanged && (len(res.Changes) != 0 || res.ExitCode() != 0) {
				t.Errorf("unchanged but lists %v, exit %d", changeKinds(res), res.ExitCode())
			}
			for code, kind := range tc.findingLink {
				checkFindingLink(t, res, byID, code, kind)
			}
			if want := map[string]int{ResultBroken: 1, ResultInconclusive: 3}[tc.result]; res.ExitCode() != want {
				t.Errorf("exit %d, want %d", res.ExitCode(), want)
			}
		})
	}
}

func checkRegression(t *testing.T, res *Result, byID map[string]*Change, r regression) {
	t.Helper()
	var d *EndpointDelta
	for i := range res.Endpoints {
		if res.Endpoints[i].Label() == r.endpoint {
			d = &res.Endpoints[i]
		}
	}
	if d == nil {
		t.Errorf("%s: not in the endpoint deltas", r.endpoint)
		return
	}
	if r.causeKind == "" {
		// Nothing in the configuration explains it: no cause may be invented.
		if len(d.Causes) != 0 {
			t.Errorf("%s: causes %v, want none", r.endpoint, d.Causes)
		}
		checkExplanation(t, res, r, "")
		return
	}
	if len(d.Causes) == 0 {
		t.Errorf("%s: no causes (%+v)", r.endpoint, d)
		return
	}
	top := byID[d.Causes[0]]
	if top.Kind != r.causeKind || !slices.Contains(top.Subjects, r.subject) {
		t.Errorf("%s: top cause %s %v (%s), want %s about %s", r.endpoint, top.Kind, top.Subjects, top.Message, r.causeKind, r.subject)
	}
	if !top.Breaking || !slices.Contains(top.Explains, r.endpoint) {
		t.Errorf("%s: cause %s not marked breaking/explaining it: %+v", r.endpoint, top.ID, top)
	}
	for _, k := range r.alsoKinds {
		found := false
		for _, id := range d.Causes {
			found = found || byID[id].Kind == k
		}
		if !found {
			t.Errorf("%s: causes lack a %s change", r.endpoint, k)
		}
	}
	checkExplanation(t, res, r, top.ID)
}

func checkExplanation(t *testing.T, res *Result, r regression, causeID string) {
	t.Helper()
	var ex *Explanation
	for i := range res.Explanations {
		if res.Explanations[i].Subject == r.endpoint {
			ex = &res.Explanations[i]
		}
	}
	if ex == nil {
		t.Errorf("%s: no explanation; explanations %+v", r.endpoint, res.Explanations)
		return
	}
	if !strings.Contains(ex.Text, r.text) || (causeID != "" && !strings.Contains(ex.Text, "["+causeID+"]")) {
		t.Errorf("%s: explanation %q lacks %q or [%s]", r.endpoint, ex.Text, r.text, causeID)
	}
	if r.finding != "" {
		if !strings.Contains(ex.Text, "— "+r.finding) || len(ex.Fix) == 0 || !strings.Contains(ex.Text, "fix: "+ex.Fix[0]) {
			t.Errorf("%s: explanation %q does not name finding %s and its fix", r.endpoint, ex.Text, r.finding)
		}
	}
}

func checkFindingLink(t *testing.T, res *Result, byID map[string]*Change, code, kind string) {
	t.Helper()
	for _, fd := range res.Findings {
		if fd.Finding.Code != code || fd.Status != diagnose.StatusNew {
			continue
		}
		for _, id := range fd.Causes {
			if byID[id].Kind == kind && slices.Contains(byID[id].Explains, fd.Key) {
				return
			}
		}
		t.Errorf("new %s finding linked to %v, want a %s change", code, fd.Causes, kind)
		return
	}
	t.Errorf("no new %s finding; findings %+v", code, res.Findings)
}

func changeKinds(res *Result) []string {
	var out []string
	for _, c := range res.Changes {
		out = append(out, c.ID+" "+c.Kind)
	}
	return out
}

func golden(t *testing.T, path string, res *Result) {
	t.Helper()
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./diff -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the result (go test ./diff -update rewrites it after review):\n%s", path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, w, g)
		}
	}
	return ""
}

func TestIdenticalSnapshotsUnchanged(t *testing.T) {
	b := load(t, filepath.Join(scenarios, "wrong-node", "baseline.yaml"))
	res := Compare(context.Background(), b, b, Options{Checks: testCatalog()})
	if res.Result != ResultUnchanged || len(res.Changes) != 0 || len(res.Endpoints) != 0 || len(res.Findings) != 0 || len(res.Ignored) != 0 {
		t.Errorf("a snapshot compared with itself: %+v", res)
	}
}

// Reversing a breaking pair recovers what the forward pair broke.
func TestReversedPairRecovers(t *testing.T) {
	dir := filepath.Join(scenarios, "wrong-node")
	res := Compare(context.Background(), load(t, filepath.Join(dir, "current.yaml")), load(t, filepath.Join(dir, "baseline.yaml")), Options{Checks: testCatalog()})
	if res.Result != ResultChanged || res.Summary.Recoveries != 1 || res.Summary.FixedFindings != 1 || res.ExitCode() != 0 {
		t.Errorf("reverse of wrong-node: result %s, summary %+v", res.Result, res.Summary)
	}
}

func TestMatchEndpointsPodThenAddress(t *testing.T) {
	base := []diagnose.EndpointID{
		{Service: "s", Pod: "p1", IP: "10.0.0.1", Port: 80},
		{Service: "s", IP: "10.0.0.2", Port: 80},
		{Service: "s", Pod: "gone", IP: "10.0.0.3", Port: 80},
	}
	cur := []diagnose.EndpointID{
		{Service: "s", IP: "10.0.0.2", Port: 80},
		{Service: "s", Pod: "p1", IP: "10.0.9.9", Port: 81}, // moved and re-ported: same pod
		{Service: "t", Pod: "p1", IP: "10.0.0.1", Port: 80}, // another service: not the same
	}
	pairs, removed, added := diagnose.MatchEndpoints(base, cur)
	if want := []diagnose.EndpointPair{{Base: 1, Current: 0}, {Base: 0, Current: 1}}; !slices.Equal(pairs, want) {
		t.Errorf("pairs %v, want %v", pairs, want)
	}
	if !slices.Equal(removed, []int{2}) || !slices.Equal(added, []int{2}) {
		t.Errorf("removed %v added %v", removed, added)
	}
}
