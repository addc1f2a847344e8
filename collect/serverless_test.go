package collect

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The Serverless account: a virtual node (label, taint, no ECS providerID),
// two ECI pods whose ENIs belong to eci-… instances found only by IP, one
// pod's security-group annotation, the eci-profile ConfigMap and the
// cluster's security group all land in the snapshot, read-only.
func TestLiveServerless(t *testing.T) {
	c, k := fakecloud.Serverless()
	e := newEnv(t, c, k)
	s, err := Live(context.Background(), e.opts)
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("not valid v1: %v", err)
	}
	nodes := map[string]snapshot.Node{}
	for _, n := range s.Nodes {
		nodes[n.Name+n.InstanceID] = n
	}
	if n := nodes["virtual-kubelet-cn-hangzhou-h"]; n.Kind != snapshot.NodeKindVirtual || len(n.ENIs) != 0 {
		t.Errorf("virtual node = %+v, want kind virtual with no ENIs of its own", n)
	}
	for id, eni := range map[string]string{"eci-2ze1": "eni-eci1", "eci-2ze2": "eni-eci2"} {
		n := nodes[id]
		if n.Kind != snapshot.NodeKindECI || len(n.ENIs) != 1 || n.ENIs[0].ID != eni {
			t.Errorf("ECI instance %s = %+v, want kind eci holding %s", id, n, eni)
		}
	}
	if n := nodes["cn-hangzhou.192.168.1.10i-node1"]; n.Kind != "" || len(n.ENIs) != 1 {
		t.Errorf("ECS node = %+v, want no kind (ecs) and its own ENI", n)
	}
	byPod := map[string]snapshot.Endpoint{}
	for _, ep := range s.Services[0].Endpoints {
		byPod[ep.Pod] = ep
	}
	if ep := byPod["orders-eci-1"]; ep.Kind != snapshot.BackendECI || !slices.Equal(ep.AnnotatedSecurityGroupIDs, []string{"sg-eci"}) || ep.Node != "virtual-kubelet-cn-hangzhou-h" {
		t.Errorf("annotated ECI endpoint = %+v", ep)
	}
	if ep := byPod["orders-eci-2"]; ep.Kind != snapshot.BackendECI || len(ep.AnnotatedSecurityGroupIDs) != 0 {
		t.Errorf("defaulted ECI endpoint = %+v", ep)
	}
	if ep := byPod["orders-node"]; ep.Kind != "" || len(ep.AnnotatedSecurityGroupIDs) != 0 {
		t.Errorf("node-pool endpoint = %+v", ep)
	}
	want := snapshot.Cluster{ID: "c-mixed", SecurityGroupID: "sg-nodes", ECIProfileSecurityGroupID: "sg-eci-new"}
	if s.Cluster == nil || *s.Cluster != want {
		t.Errorf("cluster = %+v, want %+v", s.Cluster, want)
	}
	var groups []string
	for _, g := range s.SecurityGroups {
		groups = append(groups, g.ID)
	}
	for _, g := range []string{"sg-eci", "sg-eci-new", "sg-nodes"} {
		if !slices.Contains(groups, g) {
			t.Errorf("group %s not collected (have %v)", g, groups)
		}
	}
	if calls := e.cloud.Calls(); calls[aliyun.ActionDescribeClusterDetail] != 1 {
		t.Errorf("DescribeClusterDetail calls = %d, want 1", calls[aliyun.ActionDescribeClusterDetail])
	}
	if len(s.Missing) != 0 {
		t.Errorf("missing = %+v", s.Missing)
	}
}

// Reading the eci-profile ConfigMap and the cluster's detail is optional:
// without the permission the part is recorded as missing and reported, and
// everything else is collected.
func TestLiveServerlessDefaultsForbidden(t *testing.T) {
	c, k := fakecloud.Serverless()
	e := newEnv(t, c, k)
	e.kube.Deny["configmaps"] = true
	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionDescribeClusterDetail: true}
	s, err := Live(context.Background(), e.opts)
	if s == nil {
		t.Fatalf("no snapshot: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "configmaps") || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("error %v does not report the forbidden ConfigMap", err)
	}
	if m := missing(s, snapshot.PartECIProfile); m == nil || !strings.Contains(m.Action, "configmaps") {
		t.Errorf("eciProfile not marked missing: %+v", s.Missing)
	}
	if m := missing(s, snapshot.PartCluster); m == nil || m.Action != aliyun.ActionDescribeClusterDetail {
		t.Errorf("cluster not marked missing: %+v", s.Missing)
	}
	if verr := s.Validate(); verr != nil {
		t.Fatalf("not valid v1: %v", verr)
	}
	if s.Cluster == nil || s.Cluster.ID != "c-mixed" || s.Cluster.SecurityGroupID != "" || s.Cluster.ECIProfileSecurityGroupID != "" {
		t.Errorf("cluster = %+v, want the id only", s.Cluster)
	}
	if len(s.Services) != 1 || len(s.Services[0].Endpoints) != 3 {
		t.Errorf("endpoints not collected: %+v", s.Services)
	}
}
