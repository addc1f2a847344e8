package collect

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

const (
	testKeyID  = "LTAI5tFakeKeyId0001"
	testSecret = "s3cr3t-Do-Not-Print-0123456789"
	testToken  = "CAIStsTokenDoNotPrint-abcdef0123456789"
)

type env struct {
	cloud *fakecloud.AliyunServer
	kube  *fakecloud.KubeServer
	opts  Options
}

func newEnv(t testing.TB, c *fakecloud.Cloud, k *fakecloud.Kube) *env {
	t.Helper()
	ac := fakecloud.NewAliyun(c)
	ks := fakecloud.NewKube(k)
	t.Cleanup(ac.Close)
	t.Cleanup(ks.Close)
	kc, err := ks.WriteKubeconfig(t.TempDir(), "fake")
	if err != nil {
		t.Fatal(err)
	}
	return &env{cloud: ac, kube: ks, opts: Options{
		Region: "cn-hangzhou", GatewayID: c.GatewayID, Endpoint: ac.URL, Kubeconfig: kc,
		Credentials:  &aliyun.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testSecret, SecurityToken: testToken, Source: "test"},
		RetryBackoff: time.Millisecond,
		Now:          func() time.Time { return time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC) },
	}}
}

func marshal(t testing.TB, s *snapshot.Snapshot) []byte {
	t.Helper()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it, then review it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("snapshot differs from %s (go test ./collect -run %s -update, then review the diff):\n%s", path, t.Name(), got)
	}
}

func TestLiveShop(t *testing.T) {
	c, k := fakecloud.Shop()
	e := newEnv(t, c, k)
	e.cloud.RulePageSize = 2 // sg-nodes' five rules take three pages
	e.cloud.Faults.Throttle = map[string]int{aliyun.ActionDescribeSecurityGroupAttribute: 2, aliyun.ActionGetGateway: 1}
	e.cloud.Faults.ServerError = map[string]int{aliyun.ActionDescribeInstances: 1}
	var steps []string
	e.opts.Progress = func(s string) { steps = append(steps, s) }

	s, err := Live(context.Background(), e.opts)
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	golden(t, "shop.golden.json", marshal(t, s))
	if err := s.Validate(); err != nil {
		t.Errorf("the collected snapshot is not valid v1: %v", err)
	}
	if len(steps) < 5 {
		t.Errorf("progress steps = %q, want one per stage", steps)
	}
	calls := e.cloud.Calls()
	// GetGateway was throttled once and retried; DescribeInstances answered 503 once.
	if calls[aliyun.ActionGetGateway] != 2 || calls[aliyun.ActionDescribeInstances] < 3 {
		t.Errorf("calls = %v: throttled and failed calls were not retried", calls)
	}
	// Three pages for sg-nodes, one for each of the four other groups, plus two throttled.
	if got := calls[aliyun.ActionDescribeSecurityGroupAttribute]; got != 3+4+2 {
		t.Errorf("DescribeSecurityGroupAttribute calls = %d, want 9 (pagination, retries)", got)
	}
	// Only the namespace of the gateway's services is read.
	for _, p := range e.kube.Paths() {
		if strings.Contains(p, "/namespaces/") && !strings.Contains(p, "/namespaces/shop/") {
			t.Errorf("read outside the gateway's namespaces: %s", p)
		}
	}
	// ListGatewayService gets its filter as one JSON string.
	found := false
	for _, q := range e.cloud.RawQueries() {
		if strings.Contains(q, "FilterParams=%7B%22GatewayUniqueId%22%3A%22gw-3f9a%22%7D") {
			found = true
		}
	}
	if !found {
		t.Error("ListGatewayService was not sent FilterParams as a JSON string")
	}
}

func TestListGatewaysPages(t *testing.T) {
	c, k := fakecloud.Shop()
	// 150 more gateways: two pages of 100.
	for i := range 150 {
		c.MoreGateways = append(c.MoreGateways, &fakecloud.Cloud{GatewayID: fmt.Sprintf("gw-more-%03d", i), GatewayName: "more", GatewayVpc: "vpc-more"})
	}
	e := newEnv(t, c, k)
	got, err := ListGateways(context.Background(), e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 151 {
		t.Fatalf("listed %d gateways, want 151", len(got))
	}
	if got[0].ID != "gw-3f9a" || got[0].Name != "prod-gateway" || got[0].VpcID != "vpc-prod" || got[150].ID != "gw-more-149" {
		t.Errorf("first %+v, last %+v", got[0], got[150])
	}
	if n := e.cloud.Calls()[aliyun.ActionListGateway]; n != 2 {
		t.Errorf("%d ListGateway calls, want 2 pages", n)
	}
}
