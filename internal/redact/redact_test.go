package redact

import (
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

func TestMissingAndTextFollowTheMapping(t *testing.T) {
	s := &snapshot.Snapshot{Version: 1,
		Gateway:        snapshot.Gateway{ID: "gw-a", SecurityGroupID: "sg-gw"},
		SecurityGroups: []snapshot.SecurityGroup{{ID: "sg-nodes"}, {ID: "sg-nodes-2"}},
		Services:       []snapshot.Service{{Name: "orders", Namespace: "shop"}},
		Missing: []snapshot.MissingPart{
			{Part: "rules", IDs: []string{"sg-nodes", "sg-nodes-2"}, Error: "ecs: denied for sg-nodes-2 and sg-nodes"},
			{Part: "endpoints", IDs: []string{"shop/orders", "shop"}, Error: "service shop/orders is not in the cluster"},
			{Part: "nodePools", IDs: []string{"c-prod"}, Error: "cluster c-prod: 403"},
		},
	}
	m := New()
	r := m.Snapshot(s)
	if s.Missing[0].IDs[0] != "sg-nodes" {
		t.Fatal("the input was changed")
	}
	g1, g2 := r.SecurityGroups[0].ID, r.SecurityGroups[1].ID
	if r.Missing[0].IDs[0] != g1 || r.Missing[0].IDs[1] != g2 {
		t.Errorf("missing ids %v, want %s %s", r.Missing[0].IDs, g1, g2)
	}
	if want := "ecs: denied for " + g2 + " and " + g1; r.Missing[0].Error != want {
		t.Errorf("error = %q, want %q", r.Missing[0].Error, want)
	}
	key := r.Services[0].Namespace + "/" + r.Services[0].Name
	if r.Missing[1].IDs[0] != key || r.Missing[1].IDs[1] != r.Services[0].Namespace {
		t.Errorf("service key ids = %v, want %s", r.Missing[1].IDs, key)
	}
	if strings.Contains(r.Missing[2].Error, "c-prod") || !strings.HasPrefix(r.Missing[2].IDs[0], "c-redacted-") {
		t.Errorf("cluster id kept: %+v", r.Missing[2])
	}
	// The same mapper maps the same way twice.
	if m.Snapshot(s).SecurityGroups[0].ID != g1 {
		t.Error("mapping is not stable")
	}
}

// The gateway's health check is kept whole (it holds only addresses, ports,
// a status and a time), as a copy, so it still names the same endpoints.
func TestHealthCheckKept(t *testing.T) {
	on := true
	s := &snapshot.Snapshot{Version: 1, Gateway: snapshot.Gateway{ID: "gw-a", SecurityGroupID: "sg-gw"},
		Services: []snapshot.Service{{Name: "orders", Namespace: "shop",
			Endpoints:   []snapshot.Endpoint{{IP: "10.0.0.1", Port: 8080, Pod: "orders-1"}},
			HealthCheck: &snapshot.HealthCheck{Enabled: &on, Status: "unhealthy", UnhealthyEndpoints: []string{"10.0.0.1:8080"}, At: "2026-11-28T10:00:02Z"}}}}
	r := New().Snapshot(s)
	h := r.Services[0].HealthCheck
	if h == nil || !h.IsEnabled() || h.Status != "unhealthy" || h.At != "2026-11-28T10:00:02Z" ||
		len(h.UnhealthyEndpoints) != 1 || h.UnhealthyEndpoints[0] != "10.0.0.1:8080" || r.Services[0].Endpoints[0].IP != "10.0.0.1" {
		t.Fatalf("health check after redaction: %+v", h)
	}
	if h == s.Services[0].HealthCheck || h.Enabled == s.Services[0].HealthCheck.Enabled {
		t.Error("the redacted snapshot shares the health check with the input")
	}
	if r.Services[0].Endpoints[0].Pod == "orders-1" {
		t.Error("pod name kept")
	}
}

// A redacted snapshot of serverless backends keeps every backend's kind
// (inferred from names it replaces) and maps the cluster's and the
// annotation's groups like every other reference to them.
func TestServerlessKindsSurviveRedaction(t *testing.T) {
	s := &snapshot.Snapshot{Version: 1,
		Gateway:        snapshot.Gateway{ID: "gw-a", SecurityGroupID: "sg-gw"},
		SecurityGroups: []snapshot.SecurityGroup{{ID: "sg-gw"}, {ID: "sg-eci"}},
		Cluster:        &snapshot.Cluster{ID: "c-prod", SecurityGroupID: "sg-eci", ECIProfileSecurityGroupID: "sg-eci"},
		Nodes: []snapshot.Node{
			{Name: "virtual-kubelet-cn-hangzhou-h"},
			{InstanceID: "eci-2ze1", ENIs: []snapshot.ENI{{ID: "eni-1", SecurityGroupIDs: []string{"sg-eci"}}}},
			{Name: "cn-hangzhou.10.0.0.1", InstanceID: "i-1"},
		},
		Services: []snapshot.Service{{Name: "orders", Namespace: "shop", Endpoints: []snapshot.Endpoint{
			{IP: "10.0.0.9", Port: 80, Node: "eci-2ze1", AnnotatedSecurityGroupIDs: []string{"sg-eci"}},
		}}},
	}
	r := New().Snapshot(s)
	for i, want := range []string{snapshot.NodeKindVirtual, snapshot.NodeKindECI, snapshot.NodeKindECS} {
		if got := r.Nodes[i].KindOf(); got != want {
			t.Errorf("node %d kind %q after redaction, want %q", i, got, want)
		}
	}
	if s.Nodes[0].Kind != "" {
		t.Error("the input was changed")
	}
	sg := r.SecurityGroups[1].ID
	if r.Cluster.SecurityGroupID != sg || r.Cluster.ECIProfileSecurityGroupID != sg || r.Services[0].Endpoints[0].AnnotatedSecurityGroupIDs[0] != sg {
		t.Errorf("cluster / annotation groups not mapped like %s: %+v %v", sg, r.Cluster, r.Services[0].Endpoints[0].AnnotatedSecurityGroupIDs)
	}
	if !strings.HasPrefix(r.Cluster.ID, "c-redacted-") || !strings.HasPrefix(r.Nodes[1].InstanceID, "eci-redacted-") {
		t.Errorf("ids: cluster %s, eci %s", r.Cluster.ID, r.Nodes[1].InstanceID)
	}
	if r.Services[0].Endpoints[0].Node != r.Nodes[1].InstanceID {
		t.Errorf("endpoint node %s does not follow the instance %s", r.Services[0].Endpoints[0].Node, r.Nodes[1].InstanceID)
	}
}
