package cli

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/fix"
	"github.com/gwdoctor/gwdoctor/internal/apimeta"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The fake cloud's Shop account has two endpoints the security groups block
// (shop/orders 172.20.1.10:8080 and shop/legacy 172.20.1.11:7000, both on
// the Terway pod ENI eni-1b in sg-pods, which no authorization covers): the
// plan is two MSE authorizations of sg-pods, for 7000 and 8080.

func newFixEnv(t *testing.T) *liveEnv {
	t.Helper()
	e := newLiveEnv(t)
	meta, err := apimeta.Load(filepath.Join("..", "..", "testdata", "aliyun-api"))
	if err != nil {
		t.Fatal(err)
	}
	e.cloud.Meta = meta // every write is held to the API metadata
	// The gateway's health check re-checks within seconds in reality; the
	// fake's would say unhealthy forever (TestFixApplyStaleHealthCheck).
	e.cloud.Mutate(func(c *fakecloud.Cloud) {
		for i := range c.Services {
			c.Services[i].UnhealthyEndpoints = nil
		}
	})
	return e
}

func (e *liveEnv) writes() int {
	n := 0
	for _, a := range aliyun.WriteActions {
		n += e.cloud.Calls()[a]
	}
	return n
}

func readUndo(t *testing.T, path string) *fix.UndoFile {
	t.Helper()
	u, err := fix.ReadUndo(path)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFixPlanLive(t *testing.T) {
	e := newFixEnv(t)
	code, out, stderr := runLive(e.liveArgs("fix", "-o", "json")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var p fix.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Actions) != 2 || p.Actions[0].SecurityGroupID != "sg-pods" || p.Actions[0].PortRange != "7000/7000" || p.Actions[1].PortRange != "8080/8080" {
		t.Fatalf("plan: %s", out)
	}
	if e.writes() != 0 {
		t.Fatal("planning wrote to the account")
	}
}

func TestFixApplyEndToEnd(t *testing.T) {
	e := newFixEnv(t)
	undo := filepath.Join(e.dir, "undo.json")
	code, out, stderr := runLive(e.liveArgs("fix", "--apply", "--yes", "--undo-file", undo)...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"endpoint shop/orders 172.20.1.10:8080: blocked → reachable", "endpoint shop/legacy 172.20.1.11:7000: blocked → reachable", "Undo file:    " + undo} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if v := e.cloud.Violations(); len(v) > 0 {
		t.Fatalf("writes broke the API metadata: %v", v)
	}
	if got := e.cloud.Calls()[aliyun.ActionAddSecurityGroupRule]; got != 2 {
		t.Fatalf("%d AddSecurityGroupRule calls, want 2", got)
	}
	// The RAM policy fix --ram-policy prints allows every write it made.
	_, policy, _ := runLive("fix", "--ram-policy")
	for action, n := range e.cloud.Calls() {
		if n > 0 && slices.Contains(aliyun.WriteActions, action) && !strings.Contains(policy, `"`+action+`"`) {
			t.Errorf("fix --apply called %s, which fix --ram-policy does not allow:\n%s", action, policy)
		}
	}
	// The authorizations and the rules MSE writes with them exist now.
	var ports []string
	for _, a := range e.cloud.Cloud.Authorizations {
		if a.SecurityGroupId == "sg-pods" {
			ports = append(ports, a.PortRange)
		}
	}
	if strings.Join(ports, ",") != "7000/7000,8080/8080" {
		t.Fatalf("sg-pods authorizations: %v", ports)
	}
	// The undo file undoes exactly that: both authorizations, cascading,
	// newest first, each a command that keeps the API contract.
	u := readUndo(t, undo)
	if len(u.Calls) != 2 || u.Calls[0].ForStep != 2 || u.Calls[1].ForStep != 1 {
		t.Fatalf("undo calls: %+v", u.Calls)
	}
	after := readSnapshot(t, mustSnapshotLive(t, e))
	meta := e.cloud.Meta
	for _, c := range u.Calls {
		if c.Status != fix.StatusUndoable || c.API != "DeleteSecurityGroupRule" || !strings.Contains(c.Command, "--CascadingDelete true") {
			t.Errorf("undo call: %+v", c)
		}
		words, err := apimeta.SplitWords(c.Command)
		if err != nil {
			t.Fatal(err)
		}
		call, errs := meta.CheckCLI(words)
		if call != nil {
			errs = append(errs, apimeta.CheckRefs(call, after)...)
		}
		if len(errs) > 0 {
			t.Errorf("undo command %s: %v", c.Command, errs)
		}
	}
	before, err := snapshot.Load(filepath.Join(e.dir, "undo.before.json"))
	if err != nil || len(before.Gateway.Authorizations) != 2 {
		t.Fatalf("the state before was not saved next to the undo file: %v", err)
	}

	// Idempotent: a second run plans nothing and writes nothing.
	writes := e.writes()
	code, out, stderr = runLive(e.liveArgs("fix", "--apply", "--yes", "--undo-file", filepath.Join(e.dir, "undo2.json"))...)
	if code != ExitOK || !strings.Contains(out, "Nothing to fix") || !strings.Contains(out, "Nothing to apply") {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, stderr)
	}
	if e.writes() != writes {
		t.Fatal("the second run wrote")
	}

	// The undo file's calls, made through the SDK client against the fake
	// (held to the API metadata), restore the state before: the plan is back.
	client, err := aliyun.New(aliyun.Config{Region: "cn-hangzhou", Endpoint: e.cloud.URL,
		Credentials: aliyun.Credentials{AccessKeyID: cliKeyID, AccessKeySecret: cliSecret}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range u.Calls {
		form := map[string]string{}
		for _, p := range c.Params {
			form[p.Name] = p.Value
		}
		if err := client.DeleteSecurityGroupRule(context.Background(), form["GatewayUniqueId"], form["Id"], form["CascadingDelete"] == "true"); err != nil {
			t.Fatal(err)
		}
	}
	if v := e.cloud.Violations(); len(v) > 0 {
		t.Fatalf("undo calls broke the API metadata: %v", v)
	}
	if code, out, _ := runLive(e.liveArgs("fix")...); code != ExitOK || !strings.Contains(out, "2 calls unblock 2 endpoints") {
		t.Fatalf("after undo the plan is not back: %d\n%s", code, out)
	}
	for _, g := range e.cloud.Cloud.Groups["sg-pods"].Rules {
		if g.SourceGroupId == "sg-gw" {
			t.Errorf("the cascading delete left rule %+v", g)
		}
	}
}

func mustSnapshotLive(t *testing.T, e *liveEnv) string {
	t.Helper()
	file := filepath.Join(e.dir, "after.json")
	if code, _, stderr := runLive(e.args("-o", file)...); code != ExitOK {
		t.Fatalf("snapshot --live: %d %s", code, stderr)
	}
	return file
}

// A failure mid-plan: step 1 applied and recorded with its undo, step 2
// failed and recorded, nothing after it run, the state re-collected and
// shown, exit 1.
func TestFixApplyFailsMidPlan(t *testing.T) {
	e := newFixEnv(t)
	e.cloud.Faults.FailAfter = map[string]int{aliyun.ActionAddSecurityGroupRule: 1}
	undo := filepath.Join(e.dir, "undo.json")
	code, out, stderr := runLive(e.liveArgs("fix", "--apply", "--yes", "--undo-file", undo)...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "step 2 (mse AddSecurityGroupRule) failed") || !strings.Contains(out, "InternalError") {
		t.Errorf("the failure is not reported:\n%s", out)
	}
	if !strings.Contains(out, "endpoint shop/legacy 172.20.1.11:7000: blocked → reachable") || !strings.Contains(out, "still blocked: shop/orders 172.20.1.10:8080") {
		t.Errorf("before → after does not show the half-applied plan:\n%s", out)
	}
	if got := e.cloud.Calls()[aliyun.ActionAddSecurityGroupRule]; got != 2 {
		t.Errorf("%d AddSecurityGroupRule calls: a failed write is not retried (it may have happened)", got)
	}
	u := readUndo(t, undo)
	byStep := map[int]fix.UndoCall{}
	for _, c := range u.Calls {
		byStep[c.ForStep] = c
	}
	if c := byStep[1]; c.Status != fix.StatusUndoable || !strings.Contains(c.Command, "--Id 5001") {
		t.Errorf("step 1's undo: %+v", c)
	}
	if c := byStep[2]; c.Status != fix.StatusNoUndo || !strings.Contains(c.Note, "the call failed") {
		t.Errorf("step 2's undo: %+v", c)
	}
}

func TestFixApplyRetriesThrottling(t *testing.T) {
	e := newFixEnv(t)
	e.cloud.Faults.Throttle = map[string]int{aliyun.ActionAddSecurityGroupRule: 2}
	code, out, stderr := runLive(e.liveArgs("fix", "--apply", "--yes", "--undo-file", filepath.Join(e.dir, "u.json"))...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if got := e.cloud.Calls()[aliyun.ActionAddSecurityGroupRule]; got != 4 {
		t.Errorf("%d AddSecurityGroupRule calls, want 4 (2 throttled, 2 applied)", got)
	}
	if n := len(e.cloud.Cloud.Authorizations); n != 4 {
		t.Errorf("%d authorizations, want 4: a throttled call must not add one", n)
	}
}

func TestFixApplyPermissionDenied(t *testing.T) {
	e := newFixEnv(t)
	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionAddSecurityGroupRule: true}
	undo := filepath.Join(e.dir, "undo.json")
	code, out, stderr := runLive(e.liveArgs("fix", "--apply", "--yes", "--undo-file", undo)...)
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "the RAM policy must allow mse:AddSecurityGroupRule") {
		t.Errorf("the missing permission is not named:\n%s", out)
	}
	if len(e.cloud.Cloud.Authorizations) != 2 {
		t.Error("something was added")
	}
	for _, c := range readUndo(t, undo).Calls {
		if c.Status == fix.StatusUndoable {
			t.Errorf("an undo for a step that did not run: %+v", c)
		}
	}
}

func TestFixApplyConfirmation(t *testing.T) {
	e := newFixEnv(t)
	// No terminal, no --yes: refused before any write.
	code, _, stderr := runLive(e.liveArgs("fix", "--apply", "--undo-file", filepath.Join(e.dir, "u.json"))...)
	if code != ExitInput || !strings.Contains(stderr, "not a terminal") || e.writes() != 0 {
		t.Fatalf("exit %d, writes %d: %s", code, e.writes(), stderr)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "u.json")); err == nil {
		t.Error("an undo file was written for a refused run")
	}
	old := fixStdinIsTerminal
	fixStdinIsTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { fixStdinIsTerminal = old })
	run := func(answer string) (int, string) {
		var outb, errb strings.Builder
		code := Main(e.liveArgs("fix", "--apply", "--undo-file", filepath.Join(e.dir, "u.json")), strings.NewReader(answer), &outb, &errb)
		return code, errb.String()
	}
	if code, stderr := run("no\n"); code != ExitInput || !strings.Contains(stderr, "Type yes to apply") || e.writes() != 0 {
		t.Fatalf("answered no: exit %d, writes %d: %s", code, e.writes(), stderr)
	}
	if code, stderr := run("yes\n"); code != ExitOK || e.writes() != 2 {
		t.Fatalf("answered yes: exit %d, writes %d: %s", code, e.writes(), stderr)
	}
}

func TestFixRejectsBadUsage(t *testing.T) {
	e := newFixEnv(t)
	for _, args := range [][]string{
		{"fix"},
		{"fix", "x.yaml", "--apply"},
		{"fix", "x.yaml", "-o", "markdown"},
		{"fix", "x.yaml", "--yes"},
		e.liveArgs("fix", "--apply", "-o", "sh"),
		{"fix", filepath.Join("..", "..", "testdata", "scenarios", "two-causes.yaml"), "--finding", "GWD999"},
	} {
		if code, _, stderr := runLive(args...); code != ExitInput {
			t.Errorf("%v: exit %d, want 2: %s", args, code, stderr)
		}
	}
}

// The gateway's health check still reports the endpoint unhealthy right
// after the change: the configuration allows, the evidence does not, so the
// endpoint is still blocked (exit 1) and the output says how to watch it.
func TestFixApplyStaleHealthCheck(t *testing.T) {
	e := newFixEnv(t)
	e.cloud.Mutate(func(c *fakecloud.Cloud) {
		for i := range c.Services {
			if c.Services[i].Name == "orders" {
				c.Services[i].UnhealthyEndpoints = []string{"172.20.1.10:8080"}
			}
		}
	})
	code, out, stderr := runLive(e.liveArgs("fix", "--apply", "--yes", "--undo-file", filepath.Join(e.dir, "u.json"))...)
	if code != ExitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "still blocked: shop/orders 172.20.1.10:8080: the security groups allow it now") || !strings.Contains(out, "verify --live --watch") {
		t.Errorf("output:\n%s", out)
	}
}
