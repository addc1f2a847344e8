package collect

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func missing(s *snapshot.Snapshot, part string) *snapshot.MissingPart {
	for i := range s.Missing {
		if s.Missing[i].Part == part {
			return &s.Missing[i]
		}
	}
	return nil
}

func TestPermissionDeniedIsMissingAndReported(t *testing.T) {
	c, k := fakecloud.Shop()
	e := newEnv(t, c, k)
	e.cloud.Faults.Deny = map[string]bool{
		aliyun.ActionDescribeSecurityGroupAttribute: true, // ECS: Forbidden.RAM
		aliyun.ActionListSecurityGroupRule:          true, // MSE: NoPermission
		aliyun.ActionDescribeClusterNodePools:       true, // ACK (ROA): 403
	}
	e.kube.Deny["pods"] = true

	s, err := Live(context.Background(), e.opts)
	if s == nil {
		t.Fatalf("no snapshot: %v", err)
	}
	var merr *multierror.Error
	if !errors.As(err, &merr) {
		t.Fatalf("err = %v, want a multierror", err)
	}
	if len(merr.Errors) != 4 {
		t.Errorf("%d errors, want 4 (rules, authorizations, node pools, pods):\n%v", len(merr.Errors), err)
	}
	for _, want := range []string{
		"the RAM policy must allow ecs:DescribeSecurityGroupAttribute",
		"the RAM policy must allow mse:ListSecurityGroupRule",
		"the RAM policy must allow cs:DescribeClusterNodePools",
		`the RBAC role needs "list pods in shop"`,
		"Forbidden.RAM", "NoPermission",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}

	rules := missing(s, snapshot.PartRules)
	if rules == nil || rules.Action != aliyun.ActionDescribeSecurityGroupAttribute ||
		strings.Join(rules.IDs, ",") != "sg-billing,sg-extra,sg-gw,sg-nodes,sg-pods" || !strings.Contains(rules.Error, "Forbidden.RAM") {
		t.Errorf("rules missing = %+v, want every group with the action and the code", rules)
	}
	if m := missing(s, snapshot.PartAuthorizations); m == nil || m.Action != aliyun.ActionListSecurityGroupRule || len(m.IDs) != 0 {
		t.Errorf("authorizations missing = %+v", m)
	}
	if m := missing(s, snapshot.PartNodePools); m == nil || m.Action != aliyun.ActionDescribeClusterNodePools || !strings.Contains(m.Error, "HTTP 403") {
		t.Errorf("nodePools missing = %+v", m)
	}
	var eps []string
	for _, m := range s.Missing {
		if m.Part == snapshot.PartEndpoints {
			eps = append(eps, strings.Join(m.IDs, ",")+"="+m.Action)
		}
	}
	sort.Strings(eps)
	want := "partner=,shop/legacy=,shop/orders=,shop/payments=,shop=kubernetes:list pods"
	if strings.Join(eps, ",") != want {
		t.Errorf("endpoints missing = %v, want %s", eps, want)
	}
	// What was readable is still there; what was not is absent, not invented.
	if len(s.Gateway.Authorizations) != 0 || len(s.NodePools) != 0 {
		t.Errorf("denied parts were filled: %+v %+v", s.Gateway.Authorizations, s.NodePools)
	}
	for _, g := range s.SecurityGroups {
		if len(g.Rules) != 0 {
			t.Errorf("group %s has rules although they could not be read", g.ID)
		}
	}
	if len(s.SecurityGroups) != 5 || len(s.Nodes) != 3 || s.Gateway.SecurityGroupID != "sg-gw" {
		t.Errorf("readable parts lost: %d groups, %d nodes, gateway %+v", len(s.SecurityGroups), len(s.Nodes), s.Gateway)
	}
	for _, sv := range s.Services {
		if sv.Source == snapshot.SourceK8s && len(sv.Endpoints) != 0 {
			t.Errorf("service %s has endpoints although its pods could not be read", sv.Key())
		}
	}
	// Denials are not retried.
	if n := e.cloud.Calls()[aliyun.ActionListSecurityGroupRule]; n != 1 {
		t.Errorf("a permission error was retried: %d calls", n)
	}
}

func TestThrottledPastRetriesIsMissing(t *testing.T) {
	c, k := fakecloud.Shop()
	e := newEnv(t, c, k)
	e.cloud.Faults.Throttle = map[string]int{aliyun.ActionDescribeSecurityGroups: 1000}
	s, err := Live(context.Background(), e.opts)
	if err == nil || !strings.Contains(err.Error(), "Throttling.User") || !strings.Contains(err.Error(), "after 6 attempts") {
		t.Fatalf("err = %v", err)
	}
	m := missing(s, snapshot.PartSecurityGroups)
	if m == nil || m.Action != aliyun.ActionDescribeSecurityGroups || len(m.IDs) != 6 {
		t.Fatalf("securityGroups missing = %+v", m)
	}
	// Their rules are still read: only the type is unknown.
	if len(s.SecurityGroups) != 5 {
		t.Errorf("groups = %d, want the 5 whose rules could be read (sg-gone does not exist)", len(s.SecurityGroups))
	}
}

func TestUnknownClusterIsMissingNotGuessed(t *testing.T) {
	c, k := fakecloud.Shop()
	c.ClusterID = "" // no K8s source on the gateway
	k.Nodes[1].Labels["ack.aliyun.com"] = "c-other"
	e := newEnv(t, c, k)
	s, err := Live(context.Background(), e.opts)
	m := missing(s, snapshot.PartNodePools)
	if m == nil || !strings.Contains(m.Error, "--cluster-id") || !strings.Contains(m.Error, "c-other, c-prod") {
		t.Fatalf("nodePools missing = %+v", m)
	}
	if err == nil || e.cloud.Calls()[aliyun.ActionDescribeClusterNodePools] != 0 {
		t.Errorf("err = %v, calls = %v: a cluster was guessed", err, e.cloud.Calls())
	}

	// With the flag it is read.
	c.ClusterID = "c-prod"
	e.opts.ClusterID = "c-prod"
	s, _ = Live(context.Background(), e.opts)
	if len(s.NodePools) != 2 || missing(s, snapshot.PartNodePools) != nil {
		t.Errorf("node pools = %+v, missing %+v", s.NodePools, s.Missing)
	}
}

func TestClusterFromNodeLabels(t *testing.T) {
	c, k := fakecloud.Shop()
	e := newEnv(t, c, k)
	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionListServiceSource: true}
	s, err := Live(context.Background(), e.opts)
	if err != nil || len(s.NodePools) != 2 {
		t.Fatalf("err = %v, pools = %+v", err, s.NodePools)
	}
}

func TestDeadlineIsHonoured(t *testing.T) {
	c, k := fakecloud.Shop()
	e := newEnv(t, c, k)
	e.cloud.Latency = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := Live(ctx, e.opts)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Live took %v past a 300ms deadline", took)
	}
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("err = %v", err)
	}
	if s == nil || missing(s, snapshot.PartGateway) == nil {
		t.Errorf("gateway not marked missing: %+v", s)
	}
}

func TestActionsListEveryCall(t *testing.T) {
	called := map[string]bool{}
	// Shop has node pools, ECS backends and Terway; Serverless has a virtual
	// node, whose cluster detail only it reads.
	for _, world := range []func() (*fakecloud.Cloud, *fakecloud.Kube){fakecloud.Shop, fakecloud.Serverless} {
		c, k := world()
		e := newEnv(t, c, k)
		if _, err := Live(context.Background(), e.opts); err != nil {
			t.Fatal(err)
		}
		for a := range e.cloud.Calls() {
			called[a] = true
		}
	}
	for _, a := range aliyun.Actions {
		if !called[a] {
			t.Errorf("%s is in the RAM policy but neither the Shop nor the Serverless collection called it", a)
		}
		delete(called, a)
	}
	for a := range called {
		t.Errorf("%s was called but is not in aliyun.Actions (the RAM policy)", a)
	}
}

func TestNoSecretInAnyOutput(t *testing.T) {
	c, k := fakecloud.Shop()
	e := newEnv(t, c, k)
	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionGetGateway: true, aliyun.ActionDescribeInstances: true}
	e.cloud.Faults.Throttle = map[string]int{aliyun.ActionDescribeSecurityGroups: 1000}
	var progress strings.Builder
	e.opts.Progress = func(s string) { progress.WriteString(s + "\n") }
	s, err := Live(context.Background(), e.opts)
	out := string(marshal(t, s)) + err.Error() + progress.String()

	// A broken endpoint: transport errors carry the request URL, whose
	// query holds the signature and the security token.
	e.opts.Endpoint = "http://127.0.0.1:1"
	s2, err2 := Live(context.Background(), e.opts)
	if err2 == nil {
		t.Fatal("no error from a closed port")
	}
	out += string(marshal(t, s2)) + err2.Error() + aliyun.Credentials(*e.opts.Credentials).String()
	for _, secret := range []string{testSecret, testToken} {
		if strings.Contains(out, secret) {
			t.Fatalf("a secret appears in the output:\n%s", out)
		}
	}
}
