package collect

import (
	"context"
	"testing"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Ids go 100 to a call and every page is read.
func TestBatchingAndPages(t *testing.T) {
	c, k := fakecloud.Generate(250, 150)
	for i := range 130 { // two pages of ListGatewayService
		c.Services = append(c.Services, fakecloud.GatewayService{Name: "vm-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), SourceType: "VIP", Ips: []string{"192.168.1.1:80"}})
	}
	e := newEnv(t, c, k)
	e.cloud.RulePageSize = 7 // 20 rules: 3 pages per group
	s, err := Live(context.Background(), e.opts)
	if err != nil {
		t.Fatal(err)
	}
	calls := e.cloud.Calls()
	want := map[string]int{
		aliyun.ActionListGatewayService:             2,         // 131 services, 100 a page
		aliyun.ActionDescribeInstances:              3 + 1,     // 250 ids; plus the one fixed-address IP
		aliyun.ActionDescribeNetworkInterfaces:      3,         // 275 ENI ids
		aliyun.ActionDescribeSecurityGroups:         2,         // 151 groups
		aliyun.ActionDescribeSecurityGroupAttribute: 150*3 + 1, // the gateway group has no rules: one page
	}
	for a, n := range want {
		if calls[a] != n {
			t.Errorf("%s: %d calls, want %d", a, calls[a], n)
		}
	}
	if len(s.Services) != 131 || len(s.Nodes) != 250 || len(s.SecurityGroups) != 151 {
		t.Fatalf("%d services, %d nodes, %d groups", len(s.Services), len(s.Nodes), len(s.SecurityGroups))
	}
	for _, g := range s.SecurityGroups {
		if g.ID != "sg-gw" && len(g.Rules) != 20 {
			t.Errorf("group %s: %d rules, want 20 (all pages)", g.ID, len(g.Rules))
		}
	}
	var eps int
	for _, sv := range s.Services {
		if sv.Source == snapshot.SourceK8s {
			eps += len(sv.Endpoints)
		}
	}
	if eps != 500 {
		t.Errorf("%d endpoints, want 500", eps)
	}
}
