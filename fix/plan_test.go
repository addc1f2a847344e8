package fix

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/apimeta"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func apiCatalog(t testing.TB) apimeta.Catalog {
	catalog, err := apimeta.LoadShared(filepath.Join("..", "testdata", "aliyun-api"))
	if err != nil {
		t.Fatal(err)
	}
	return catalog
}

// checkCommand holds a printed command to the API contract and the snapshot.
func checkCommand(t *testing.T, line string, s *snapshot.Snapshot) {
	t.Helper()
	words, err := apimeta.SplitWords(line)
	if err != nil {
		t.Errorf("%v\n  %s", err, line)
		return
	}
	call, errs := apiCatalog(t).CheckCLI(words)
	if call != nil {
		errs = append(errs, apimeta.CheckRefs(call, s)...)
	}
	for _, err := range errs {
		t.Errorf("%v\n  %s", err, line)
	}
}

func load(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.Load(filepath.Join("..", "testdata", "scenarios", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func plan(t *testing.T, s *snapshot.Snapshot, finding string) *Plan {
	t.Helper()
	ctx := context.Background()
	p, err := Build(ctx, s, Diagnose(ctx, s), Options{Finding: finding})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Hand-written truths, one per kind of outcome.
func TestPlanPerCause(t *testing.T) {
	for _, tc := range []struct {
		scenario  string
		kinds     []string // the actions' kinds, in order
		group     string   // the first action's group
		ports     string
		unplanned []string // codes explaining endpoints not planned
	}{
		// Nobody authorized sg-a: MSE authorization of sg-a for exactly 8080.
		{"missing-authorization", []string{KindAuthorize}, "sg-a", "8080/8080", nil},
		// The pod runs on pool-b's node (sg-b) and moved to 8081: one each.
		{"two-causes", []string{KindAuthorize, KindAuthorize}, "sg-b", "8080/8080", nil},
		// The authorization exists, its rule was deleted: MSE would refuse a
		// second authorization, so the rule is added directly.
		{"authorization-out-of-sync", []string{KindGroupRule}, "sg-a", "8080/8080", nil},
		// Enterprise group: allowed by the gateway's addresses.
		{"security-group-type-mismatch", []string{KindCIDRRule}, "sg-legacy", "", nil},
		// A priority-1 drop wins every tie: adding cannot fix it.
		{"deny-rule-shadows", nil, "", "", []string{"GWD107"}},
		// Another VPC: no rule helps.
		{"vpc-mismatch", nil, "", "", []string{"GWD108"}},
		// Nothing blocked.
		{"healthy-cluster", nil, "", "", nil},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			s := load(t, tc.scenario)
			p := plan(t, s, "")
			var kinds []string
			for _, a := range p.Actions {
				kinds = append(kinds, a.Kind)
				checkCommand(t, a.Command, s)
			}
			if !slices.Equal(kinds, tc.kinds) {
				t.Fatalf("kinds %v, want %v\n%+v", kinds, tc.kinds, p)
			}
			if len(p.Actions) > 0 {
				a := p.Actions[0]
				if a.SecurityGroupID != tc.group || (tc.ports != "" && a.PortRange != tc.ports) {
					t.Errorf("first action changes %s %s, want %s %s", a.SecurityGroupID, a.PortRange, tc.group, tc.ports)
				}
			}
			var codes []string
			for _, u := range p.Unplanned {
				codes = append(codes, u.Findings...)
			}
			for _, want := range tc.unplanned {
				if !slices.Contains(codes, want) {
					t.Errorf("unplanned endpoints are not explained by %s: %+v", want, p.Unplanned)
				}
			}
			if len(tc.unplanned) == 0 && len(p.Unplanned) > 0 {
				t.Errorf("unexpected unplanned endpoints: %+v", p.Unplanned)
			}
		})
	}
}

// The class: over every scenario and generated estates, each action's
// command keeps the API contract, applying the plan makes every endpoint it
// claims reachable (configured allow), every target is either unblocked or
// listed as not planned, and no endpoint gets worse.
func TestPlanProperties(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "scenarios", "*.yaml"))
	var snaps []*snapshot.Snapshot
	var names []string
	for _, f := range files {
		s, err := snapshot.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		snaps, names = append(snaps, s), append(names, filepath.Base(f))
	}
	for seed := int64(1); seed <= 6; seed++ {
		snaps = append(snaps, gen.Large(gen.Config{Endpoints: 300, Nodes: 30, Groups: 12, Rules: 120, Services: 12, Seed: seed}))
		names = append(names, "generated")
	}
	ctx := context.Background()
	planned := 0
	for i, s := range snaps {
		before := Diagnose(ctx, withoutProbes(s))
		p := plan(t, s, "")
		covered := map[string]bool{}
		for _, a := range p.Actions {
			checkCommand(t, a.Command, s)
			for _, ep := range a.Unblocks {
				covered[ep] = true
			}
		}
		for _, u := range p.Unplanned {
			if covered[u.Endpoint] {
				t.Errorf("%s: %s both planned and not planned", names[i], u.Endpoint)
			}
			covered[u.Endpoint] = true
		}
		for _, target := range p.Targets {
			if !covered[target] {
				t.Errorf("%s: target %s neither planned nor listed as not planned", names[i], target)
			}
		}
		fixed, err := Apply(withoutProbes(s), p.Actions)
		if err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
		after := configByLabel(Diagnose(ctx, fixed))
		for _, a := range p.Actions {
			planned++
			for _, ep := range a.Unblocks {
				if after[ep] != "allow" {
					t.Errorf("%s: step %d claims %s, which stays %s", names[i], a.Step, ep, after[ep])
				}
			}
		}
		for _, e := range before.Endpoints {
			if rank(after[e.ID().Label()]) < rank(e.Config) {
				t.Errorf("%s: %s got worse: %s → %s", names[i], e.ID().Label(), e.Config, after[e.ID().Label()])
			}
		}
	}
	if planned < 10 {
		t.Fatalf("only %d actions planned over %d snapshots: the property checks little", planned, len(snaps))
	}
}

func TestPlanForOneFinding(t *testing.T) {
	s := load(t, "two-causes")
	p := plan(t, s, "GWD104")
	if len(p.Actions) != 1 || p.Actions[0].PortRange != "8081/8081" {
		t.Fatalf("--finding GWD104: %+v", p.Actions)
	}
	if p2 := plan(t, s, "port-changed"); len(p2.Actions) != 1 {
		t.Fatalf("--finding port-changed (slug): %+v", p2.Actions)
	}
	r := Diagnose(context.Background(), s)
	for _, f := range r.Findings {
		if f.Code == "GWD102" {
			p3, err := Build(context.Background(), s, r, Options{Finding: f.ID})
			if err != nil || len(p3.Actions) != 1 || p3.Actions[0].PortRange != "8080/8080" {
				t.Fatalf("--finding %s (id): %v %+v", f.ID, err, p3)
			}
		}
	}
	if _, err := Build(context.Background(), s, Diagnose(context.Background(), s), Options{Finding: "GWD999"}); err == nil {
		t.Fatal("an unknown finding was accepted")
	}
}

func TestPlanWithoutRegionOffersNoCall(t *testing.T) {
	s := load(t, "missing-authorization")
	s.Region = ""
	p := plan(t, s, "")
	if len(p.Actions) != 0 || len(p.Unplanned) == 0 || !strings.Contains(p.Unplanned[0].Reason, "region") {
		t.Fatalf("plan without a region: %+v", p)
	}
}

// The script runs as printed: bash accepts its syntax, and every line that
// is not a comment is set -euo pipefail or a command keeping the contract.
func TestShellScript(t *testing.T) {
	s := load(t, "two-causes")
	p := plan(t, s, "")
	var b bytes.Buffer
	if err := WriteShell(&b, p, "two-causes.yaml"); err != nil {
		t.Fatal(err)
	}
	script := b.String()
	if !strings.HasPrefix(script, "#!/usr/bin/env bash\n") || !strings.Contains(script, "\nset -euo pipefail\n") {
		t.Fatalf("no shebang or strict mode:\n%s", script)
	}
	commands := 0
	for _, line := range strings.Split(script, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#") || line == "set -euo pipefail":
		default:
			commands++
			checkCommand(t, line, s)
		}
	}
	if commands != len(p.Actions) || commands == 0 {
		t.Fatalf("%d commands in the script, %d actions", commands, len(p.Actions))
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		cmd := exec.Command(bash, "-n")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("bash -n: %v: %s\n%s", err, out, script)
		}
	}
	var text bytes.Buffer
	if err := WriteText(&text, p); err != nil || !strings.Contains(text.String(), "2 calls unblock 2 endpoints") {
		t.Fatalf("text: %v\n%s", err, text.String())
	}
}

// Simulation refuses a plan that makes another endpoint worse. Building such
// a plan from additions is impossible by design, so the check is fed one.
func TestWorsenedIsDetected(t *testing.T) {
	ctx := context.Background()
	s := load(t, "healthy-cluster")
	before := Diagnose(ctx, s)
	broken, _ := clone(s)
	for i := range broken.SecurityGroups {
		broken.SecurityGroups[i].Rules = nil
	}
	broken.Gateway.Authorizations = nil
	if w := worsened(before, Diagnose(ctx, broken)); len(w) == 0 {
		t.Fatal("removing every rule made nothing worse")
	}
	_ = diagnose.VerdictBlocked
}

// A finding of many endpoints names only the first few in its subjects;
// --finding ID targets all of them (the rows pointing at it).
func TestPlanForALargeFindingTargetsEveryEndpoint(t *testing.T) {
	ctx := context.Background()
	s := gen.Large(gen.Config{Endpoints: 2000, Nodes: 40, Groups: 12, Rules: 120, Services: 6, Seed: 2})
	r := Diagnose(ctx, s)
	for _, f := range r.Findings {
		want := 0
		for _, e := range r.Endpoints {
			if slices.Contains(e.FindingIDs, f.ID) && e.Config == "deny" {
				want++
			}
		}
		if want <= 5 {
			continue
		}
		p, err := Build(ctx, s, r, Options{Finding: f.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Targets) < want {
			t.Fatalf("--finding %s: %d targets, %d denied endpoints point at it", f.ID, len(p.Targets), want)
		}
		return
	}
	t.Fatal("no finding with more than 5 denied endpoints in the generated estate")
}
