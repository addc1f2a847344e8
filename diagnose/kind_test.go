package diagnose

import (
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// An endpoint's backend kind: as stated, else from the instance holding
// its ENI, else from the Kubernetes node it names, else from the service
// source; a pod on an ECS node otherwise.
func TestBackendKind(t *testing.T) {
	s := &snapshot.Snapshot{Version: 1, Gateway: snapshot.Gateway{ID: "gw", SecurityGroupID: "sg"}, SecurityGroups: []snapshot.SecurityGroup{{ID: "sg"}},
		Nodes: []snapshot.Node{
			{Name: "node-a", InstanceID: "i-a", ENIs: []snapshot.ENI{{ID: "eni-a", Primary: true, IPs: []string{"10.0.0.1"}}}},
			{Name: "virtual-kubelet-cn-hangzhou-h"}, // kind inferred: virtual
			{InstanceID: "eci-1", ENIs: []snapshot.ENI{{ID: "eni-e", Primary: true, IPs: []string{"10.0.0.2"}}}},
			{InstanceID: "acs-1", Kind: snapshot.NodeKindACS, ENIs: []snapshot.ENI{{ID: "eni-s", Primary: true, IPs: []string{"10.0.0.3"}}}},
			{InstanceID: "i-vm", ENIs: []snapshot.ENI{{ID: "eni-v", Primary: true, IPs: []string{"10.0.0.4"}}}},
		},
		Services: []snapshot.Service{
			{Name: "k", Source: snapshot.SourceK8s, Endpoints: []snapshot.Endpoint{
				{IP: "10.0.0.1", Port: 80, Node: "node-a"},
				{IP: "10.0.0.2", Port: 80, Node: "virtual-kubelet-cn-hangzhou-h"},
				{IP: "10.0.0.3", Port: 80, Node: "virtual-kubelet-cn-hangzhou-h"},
				{IP: "10.0.0.9", Port: 80, Node: "virtual-kubelet-cn-hangzhou-h"}, // ENI not found
				{IP: "10.0.0.1", Port: 81, Node: "node-a", Kind: snapshot.BackendECI},
			}},
			{Name: "vm", Source: snapshot.SourceECS, Endpoints: []snapshot.Endpoint{{IP: "10.0.0.4", Port: 80, Node: "i-vm"}}},
		},
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	v := NewView(s)
	want := []struct{ kind, host string }{
		{snapshot.BackendPod, ""},
		{snapshot.BackendECI, "virtual-kubelet-cn-hangzhou-h"},
		{snapshot.BackendACS, "virtual-kubelet-cn-hangzhou-h"},
		{snapshot.BackendECI, ""}, // the virtual node itself: no other host
		{snapshot.BackendECI, ""}, // stated
		{snapshot.BackendECS, ""},
	}
	for i, ep := range v.Endpoints {
		host := ""
		if ep.HostNode != nil {
			host = NodeName(ep.HostNode)
		}
		if ep.Kind != want[i].kind || host != want[i].host {
			t.Errorf("%s: kind %q host %q, want %q %q", ep.Label(), ep.Kind, host, want[i].kind, want[i].host)
		}
	}
}
