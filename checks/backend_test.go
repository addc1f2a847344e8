package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// kindCase builds one blocked backend of a kind: the gateway is authorized
// for sg-auth (on node-a, a node-pool node) or for nothing, and the backend
// sits in sg-back.
type kindCase struct {
	kind      string // snapshot.Backend*
	annotated bool   // serverless: the pod's annotation names sg-back
	profile   string // cluster.eciProfileSecurityGroupId ("" none)
	clusterSG string // cluster.securityGroupId ("" none)
	authorize bool   // an authorization for sg-auth exists (wrong-node), else none (missing-authorization)
}

func (k kindCase) String() string {
	return fmt.Sprintf("%s annotated=%v profile=%q cluster=%q auth=%v", k.kind, k.annotated, k.profile, k.clusterSG, k.authorize)
}

func (k kindCase) snapshot() *snapshot.Snapshot {
	s := &snapshot.Snapshot{Version: 1, Region: "cn-hangzhou",
		Gateway: snapshot.Gateway{ID: "gw-1", VpcID: "vpc-1", SecurityGroupID: "sg-gw"},
		SecurityGroups: []snapshot.SecurityGroup{{ID: "sg-gw", VpcID: "vpc-1"}, {ID: "sg-back", VpcID: "vpc-1"},
			{ID: "sg-auth", VpcID: "vpc-1", Rules: []snapshot.Rule{{Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "8080/8080", SourceGroupID: "sg-gw"}}},
			{ID: "sg-other", VpcID: "vpc-1"}},
		Nodes: []snapshot.Node{{Name: "node-a", InstanceID: "i-a", VpcID: "vpc-1",
			ENIs: []snapshot.ENI{{ID: "eni-a", Primary: true, IPs: []string{"10.0.0.10"}, SecurityGroupIDs: []string{"sg-auth"}}}}},
	}
	if k.authorize {
		s.Gateway.Authorizations = []snapshot.Authorization{{ID: "1", SecurityGroupID: "sg-auth", PortRange: "8080/8080"}}
	} else {
		s.SecurityGroups[2].Rules = nil
	}
	if k.profile != "" || k.clusterSG != "" {
		s.Cluster = &snapshot.Cluster{ID: "c-1", SecurityGroupID: k.clusterSG, ECIProfileSecurityGroupID: k.profile}
		if k.kind == snapshot.BackendACS {
			s.Cluster.ECIProfileSecurityGroupID, s.Cluster.ACSProfileSecurityGroupID = "", k.profile
		}
	}
	eni := snapshot.ENI{ID: "eni-back", Primary: true, IPs: []string{"10.0.9.9"}, SecurityGroupIDs: []string{"sg-back"}}
	ep := snapshot.Endpoint{IP: "10.0.9.9", Port: 8080, Kind: k.kind}
	svc := snapshot.Service{Name: "orders", Namespace: "shop", Source: snapshot.SourceK8s}
	switch k.kind {
	case snapshot.BackendPod:
		s.Nodes = append(s.Nodes, snapshot.Node{Name: "node-b", InstanceID: "i-b", VpcID: "vpc-1", ENIs: []snapshot.ENI{eni}})
		ep.Pod, ep.Node = "orders-1", "node-b"
	case snapshot.BackendECI, snapshot.BackendACS:
		nk := snapshot.NodeKindECI
		if k.kind == snapshot.BackendACS {
			nk = snapshot.NodeKindACS
		}
		s.Nodes = append(s.Nodes, snapshot.Node{Name: "virtual-kubelet-cn-hangzhou-h", Kind: snapshot.NodeKindVirtual},
			snapshot.Node{InstanceID: "eci-1", Kind: nk, VpcID: "vpc-1", ENIs: []snapshot.ENI{eni}})
		ep.Pod, ep.Node = "orders-1", "virtual-kubelet-cn-hangzhou-h"
		if k.annotated {
			ep.AnnotatedSecurityGroupIDs = []string{"sg-back"}
		}
	case snapshot.BackendECS:
		s.Nodes = append(s.Nodes, snapshot.Node{InstanceID: "i-vm", VpcID: "vpc-1", ENIs: []snapshot.ENI{eni}})
		ep.Node, ep.Kind = "i-vm", ""
		svc = snapshot.Service{Name: "legacy", Source: snapshot.SourceECS}
	}
	svc.Endpoints = []snapshot.Endpoint{ep}
	s.Services = []snapshot.Service{svc}
	return s
}

// findingText is everything a finding says, for wording assertions.
func findingText(f diagnose.Finding) string {
	parts := append([]string{f.Message}, f.Evidence...)
	parts = append(parts, f.Remediation.Steps...)
	parts = append(parts, f.Remediation.Commands...)
	for _, l := range f.Chain {
		parts = append(parts, l.ID, l.Detail)
	}
	return strings.Join(parts, "\n")
}

// TestEachBackendKindHasItsOwnWordsAndFix states, for every kind, origin and
// cause, what the finding must and must not say: a serverless pod's finding
// names its group and where it came from and that the group of a running pod
// cannot change, with no node-pool or affinity advice; an ECS instance's
// finding points at the instance's security groups with no Kubernetes words.
func TestEachBackendKindHasItsOwnWordsAndFix(t *testing.T) {
	var cases []kindCase
	for _, kind := range snapshot.BackendKinds {
		for _, auth := range []bool{false, true} {
			for _, ann := range []bool{false, true} {
				for _, defaults := range [][2]string{{"", ""}, {"sg-back", ""}, {"", "sg-back"}, {"sg-other", "sg-back"}} {
					if kind != snapshot.BackendECI && kind != snapshot.BackendACS && (ann || defaults != [2]string{}) {
						continue
					}
					cases = append(cases, kindCase{kind: kind, annotated: ann, profile: defaults[0], clusterSG: defaults[1], authorize: auth})
				}
			}
		}
	}
	for _, k := range cases {
		t.Run(k.String(), func(t *testing.T) {
			s := k.snapshot()
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			r := diagnose.Run(context.Background(), diagnose.NewView(s), All())
			want := diagnose.CodeMissingAuthorization
			if k.authorize {
				want = diagnose.CodeWrongNode
			}
			var f *diagnose.Finding
			for i := range r.Findings {
				if r.Findings[i].Code == want {
					f = &r.Findings[i]
				}
			}
			if f == nil {
				var got []string
				for _, g := range r.Findings {
					got = append(got, g.Code+" "+g.Message)
				}
				t.Fatalf("no %s finding; got:\n%s", want, strings.Join(got, "\n"))
			}
			text := findingText(*f)
			lower := strings.ToLower(text)
			has := func(s string) bool { return strings.Contains(lower, strings.ToLower(s)) }
			for _, c := range f.Remediation.Commands {
				if strings.Contains(c, "<") {
					t.Errorf("command with a placeholder: %s", c)
				}
			}
			if !strings.Contains(f.Message, "sg-back") {
				t.Errorf("message does not name the backend's group: %s", f.Message)
			}
			switch k.kind {
			case snapshot.BackendECI, snapshot.BackendACS:
				for _, bad := range []string{"node pool", "affinity", "node selector", "nodeselector", "eni-config"} {
					if has(bad) {
						t.Errorf("serverless finding says %q:\n%s", bad, text)
					}
				}
				annotation := annotationECIGroup
				if k.kind == snapshot.BackendACS {
					annotation = annotationACSGroup
				}
				if !strings.Contains(f.Message, annotation) && !strings.Contains(f.Message, "default") {
					t.Errorf("message does not say where the group came from: %s", f.Message)
				}
				if k.annotated && !strings.Contains(f.Message, annotation) {
					t.Errorf("annotated pod: message does not name the annotation: %s", f.Message)
				}
				if !k.annotated && !strings.Contains(f.Message, "default") {
					t.Errorf("defaulted pod: message does not say default: %s", f.Message)
				}
				if !has("cannot be changed") {
					t.Errorf("no word that a running pod's group cannot change:\n%s", text)
				}
				if !has("AddSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-1 --SecurityGroupId sg-back") {
					t.Errorf("no command authorizing the pod's group:\n%s", text)
				}
			case snapshot.BackendECS:
				for _, bad := range []string{"pod", "kubernetes", "kubectl", "node pool", "affinity", "node selector"} {
					if has(bad) {
						t.Errorf("ECS instance finding says %q:\n%s", bad, text)
					}
				}
				if !has("ECS console → Instances") || !has("i-vm") {
					t.Errorf("no ECS console step for the instance's groups:\n%s", text)
				}
			case snapshot.BackendPod:
				if !has("node node-b") {
					t.Errorf("pod finding does not name its node:\n%s", text)
				}
				if k.authorize && !has("node pool") {
					t.Errorf("pod on a node-pool node: no node-pool advice:\n%s", text)
				}
			}
		})
	}
}

// A virtual node's ENIs (older snapshots list every ECI pod's ENI on it)
// belong to different pods: another pod's authorized group is not the
// "node's other ENI" of multiple-security-groups.
func TestVirtualNodeENIsAreNotOneNode(t *testing.T) {
	s := kindCase{kind: snapshot.BackendECI}.snapshot()
	s.Nodes = s.Nodes[:1]
	s.Nodes = append(s.Nodes, snapshot.Node{Name: "virtual-kubelet-cn-hangzhou-h", ENIs: []snapshot.ENI{
		{ID: "eni-x", Primary: true, IPs: []string{"10.0.9.9"}, SecurityGroupIDs: []string{"sg-back"}},
		{ID: "eni-y", Primary: true, IPs: []string{"10.0.9.8"}, SecurityGroupIDs: []string{"sg-auth"}},
	}})
	s.Gateway.Authorizations = []snapshot.Authorization{{ID: "1", SecurityGroupID: "sg-auth", PortRange: "8080/8080"}}
	s.Services[0].Endpoints[0].Kind = "" // inferred from the virtual node
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	r := diagnose.Run(context.Background(), diagnose.NewView(s), All())
	var codes []string
	for _, f := range r.Findings {
		codes = append(codes, f.Code)
		if f.Code == diagnose.CodeMultipleGroups {
			t.Errorf("multiple-security-groups for an ECI pod: %s", f.Message)
		}
		if f.Code == diagnose.CodeWrongNode && !strings.Contains(f.Message, "ECI pod") {
			t.Errorf("wrong-node does not speak of the ECI pod: %s", f.Message)
		}
	}
	if !strings.Contains(strings.Join(codes, " "), diagnose.CodeWrongNode) {
		t.Errorf("codes %v, want %s", codes, diagnose.CodeWrongNode)
	}
}

// serverless-default-drift fires exactly when pods that took the default
// work today and the default new pods get is denied for the port: not for
// pods that name their group, not when the default is authorized, not when
// the running pods are blocked (their cause findings say it), not without a
// known default.
func TestServerlessDefaultDrift(t *testing.T) {
	build := func(annotated bool, running, def string, kind string, profile bool) *snapshot.Snapshot {
		s := kindCase{kind: kind, authorize: true, annotated: annotated}.snapshot()
		s.SecurityGroups = append(s.SecurityGroups, snapshot.SecurityGroup{ID: "sg-new", VpcID: "vpc-1"})
		s.Nodes[len(s.Nodes)-1].ENIs[0].SecurityGroupIDs = []string{running}
		if annotated {
			s.Services[0].Endpoints[0].AnnotatedSecurityGroupIDs = []string{running}
		}
		if def != "" {
			s.Cluster = &snapshot.Cluster{ID: "c-1"}
			switch {
			case !profile:
				s.Cluster.SecurityGroupID = def
			case kind == snapshot.BackendACS:
				s.Cluster.ACSProfileSecurityGroupID = def
			default:
				s.Cluster.ECIProfileSecurityGroupID = def
			}
		}
		return s
	}
	for _, tc := range []struct {
		name               string
		annotated          bool
		running, def, kind string
		profile            bool
		want               bool
	}{
		{"ECI default changed to an unauthorized group", false, "sg-auth", "sg-new", snapshot.BackendECI, true, true},
		{"ECI: the cluster's group when no eci-profile", false, "sg-auth", "sg-new", snapshot.BackendECI, false, true},
		{"ACS cluster default changed", false, "sg-auth", "sg-new", snapshot.BackendACS, false, true},
		{"ACS acs-profile default changed", false, "sg-auth", "sg-new", snapshot.BackendACS, true, true},
		{"default still authorized", false, "sg-auth", "sg-auth", snapshot.BackendECI, true, false},
		{"pods name their group", true, "sg-auth", "sg-new", snapshot.BackendECI, true, false},
		{"running pods blocked: their cause says it", false, "sg-back", "sg-new", snapshot.BackendECI, true, false},
		{"default unknown", false, "sg-auth", "", snapshot.BackendECI, true, false},
		{"default not in the data: undecidable", false, "sg-auth", "sg-missing", snapshot.BackendECI, true, false},
		{"pods on ECS nodes", false, "sg-auth", "sg-new", snapshot.BackendPod, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := build(tc.annotated, tc.running, tc.def, tc.kind, tc.profile)
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			r := diagnose.Run(context.Background(), diagnose.NewView(s), All())
			var got *diagnose.Finding
			for i := range r.Findings {
				if r.Findings[i].Code == diagnose.CodeServerlessDrift {
					got = &r.Findings[i]
				}
			}
			if (got != nil) != tc.want {
				t.Fatalf("GWD304 fired: %v, want %v (%+v)", got != nil, tc.want, got)
			}
			if got == nil {
				return
			}
			text := findingText(*got)
			for _, want := range []string{tc.def, tc.running, "8080", "cannot be changed", "kubectl -n kube-system patch configmap"} {
				if !strings.Contains(text, want) {
					t.Errorf("finding does not say %q:\n%s", want, text)
				}
			}
			if got.Severity != nil && *got.Severity != diagnose.Warning {
				t.Errorf("severity %v, want warning", *got.Severity)
			}
		})
	}
}

// Two ECI pods of one service in the same unauthorized group, one naming it
// in its annotation and one given it by default, need different fixes: two
// findings, with different ids, each wording its own origin.
func TestServerlessOriginsAreSeparateFindings(t *testing.T) {
	s := kindCase{kind: snapshot.BackendECI, annotated: true, profile: "sg-back"}.snapshot()
	s.Nodes = append(s.Nodes, snapshot.Node{InstanceID: "eci-2", Kind: snapshot.NodeKindECI, VpcID: "vpc-1",
		ENIs: []snapshot.ENI{{ID: "eni-back2", Primary: true, IPs: []string{"10.0.9.10"}, SecurityGroupIDs: []string{"sg-back"}}}})
	s.Services[0].Endpoints = append(s.Services[0].Endpoints, snapshot.Endpoint{IP: "10.0.9.10", Port: 8080, Pod: "orders-2",
		Node: "virtual-kubelet-cn-hangzhou-h", Kind: snapshot.BackendECI})
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	r := diagnose.Run(context.Background(), diagnose.NewView(s), All())
	var msgs, ids []string
	for _, f := range r.Findings {
		if f.Code == diagnose.CodeMissingAuthorization {
			msgs, ids = append(msgs, f.Message), append(ids, f.ID)
		}
	}
	if len(msgs) != 2 || ids[0] == ids[1] {
		t.Fatalf("want two missing-authorization findings with distinct ids, got %v %v", ids, msgs)
	}
	joined := strings.Join(msgs, "\n")
	if !strings.Contains(joined, annotationECIGroup) || !strings.Contains(joined, "eci-profile default") {
		t.Errorf("origins not worded apart:\n%s", joined)
	}
}
