package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
)

func TestParseProviderID(t *testing.T) {
	for in, want := range map[string][2]string{
		"cn-hangzhou.i-abc":             {"cn-hangzhou", "i-abc"},
		"alicloud://cn-hangzhou.i-abc":  {"cn-hangzhou", "i-abc"},
		"alicloud://ap-southeast-1.i-x": {"ap-southeast-1", "i-x"},
		"i-bare":                        {"", "i-bare"},
		"":                              {"", ""},
	} {
		r, id := ParseProviderID(in)
		if r != want[0] || id != want[1] {
			t.Errorf("ParseProviderID(%q) = %q, %q; want %q", in, r, id, want)
		}
	}
}

func TestRESTConfigErrors(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := RESTConfig("", ""); err == nil {
		t.Error("no kubeconfig and not in a cluster: no error")
	}
	if _, err := RESTConfig("/nonexistent/kubeconfig", ""); err == nil {
		t.Error("missing file accepted")
	}
}

func TestEndpointsResolution(t *testing.T) {
	tcp := corev1.ProtocolTCP
	name := func(s string) *string { return &s }
	port := func(p int32) *int32 { return &p }
	ready, notReady := true, false
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "api"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "api"},
		Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("web"), Protocol: tcp},
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
		}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "api-1", Labels: map[string]string{"app": "api"}},
		Spec:   corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8081}}}}},
		Status: corev1.PodStatus{PodIP: "10.0.0.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	r := &Result{services: map[string]*corev1.Service{"ns/api": svc}, pods: map[string]*corev1.Pod{"ns/api-1": pod},
		podsByNS: map[string][]*corev1.Pod{"ns": {pod}}, slices: map[string][]discoveryv1.EndpointSlice{}, readNS: map[string]bool{"ns": true}}

	// No slices: the selected pods, the named targetPort resolved on the pod.
	eps, ok := r.Endpoints("ns", "api", 80)
	if !ok || len(eps) != 1 || eps[0].IP != "10.0.0.1" || eps[0].Port != 8081 || eps[0].Node != "n1" || !*eps[0].Ready {
		t.Fatalf("from pods: %+v", eps)
	}
	// Slices win; an FQDN slice is ignored; a port MSE names that the
	// Service lacks falls back to every TCP port; an endpoint without a pod
	// keeps its slice readiness.
	r.slices["ns/api"] = []discoveryv1.EndpointSlice{
		{AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: name("http"), Port: port(8082), Protocol: &tcp}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.0.0.1"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "api-1"}},
				{Addresses: []string{"10.0.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &notReady}, NodeName: name("n2")},
			}},
		{AddressType: discoveryv1.AddressTypeFQDN, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"db.example.com"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}},
	}
	eps, _ = r.Endpoints("ns", "api", 8080)
	if len(eps) != 2 {
		t.Fatalf("from slices: %+v", eps)
	}
	if eps[0].IP != "10.0.0.1" || eps[0].Port != 8082 || eps[0].Pod != "api-1" || eps[0].Node != "n1" || !*eps[0].Ready {
		t.Errorf("pod endpoint: %+v", eps[0])
	}
	if eps[1].IP != "10.0.0.9" || eps[1].Node != "n2" || *eps[1].Ready {
		t.Errorf("podless endpoint: %+v", eps[1])
	}
	if _, ok := r.Endpoints("ns", "nope", 80); ok {
		t.Error("a missing service resolved")
	}
}

// A virtual node is recognised by any one of its signs; an ECS node by none.
func TestIsVirtual(t *testing.T) {
	for _, tc := range []struct {
		name string
		node corev1.Node
		want bool
	}{
		{"label", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vk-a", Labels: map[string]string{"type": "virtual-kubelet"}}}, true},
		{"taint", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vk-b"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: TaintVirtualKubelet, Value: "alibabacloud", Effect: corev1.TaintEffectNoSchedule}}}}, true},
		{"name without an ECS providerID", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "virtual-kubelet-cn-hangzhou-h"}}, true},
		{"virtual-kubelet name on an ECS instance", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "virtual-kubelet-x"}, Spec: corev1.NodeSpec{ProviderID: "cn-hangzhou.i-1"}}, false},
		{"ECS node", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cn-hangzhou.10.0.0.1", Labels: map[string]string{"type": "worker"}}, Spec: corev1.NodeSpec{ProviderID: "cn-hangzhou.i-2"}}, false},
		{"other taint", corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gpu-1"}, Spec: corev1.NodeSpec{ProviderID: "cn-hangzhou.i-3", Taints: []corev1.Taint{{Key: "nvidia.com/gpu"}}}}, false},
	} {
		if got := IsVirtual(&tc.node); got != tc.want {
			t.Errorf("%s: IsVirtual = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRESTConfigInCluster: inside a pod with no kubeconfig named, the pod's
// service account is used (a ~/.kube/config in the image does not win); a
// kubeconfig given by flag or $KUBECONFIG does.
func TestRESTConfigInCluster(t *testing.T) {
	if _, err := os.Stat("/var/run/secrets/kubernetes.io/serviceaccount/token"); err == nil {
		testenv.Skip(t, "this machine has a service account token: the missing-token case cannot be shown")
	}
	home := t.TempDir()
	kubeconfig := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.1.2.3:6443"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
users: [{name: u, user: {token: t}}]
`
	if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, ".kube", "config")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	_, err := RESTConfig("", "")
	if err == nil || !strings.Contains(err.Error(), "in-cluster") {
		t.Errorf("in a pod without a token: err = %v, want the in-cluster configuration's error", err)
	}
	cfg, err := RESTConfig(path, "")
	if err != nil || cfg.Host != "https://10.1.2.3:6443" {
		t.Errorf("--kubeconfig in a pod: %v, %v; want the file's server", cfg, err)
	}
	t.Setenv("KUBECONFIG", path)
	if cfg, err := RESTConfig("", ""); err != nil || cfg.Host != "https://10.1.2.3:6443" {
		t.Errorf("$KUBECONFIG in a pod: %v, %v; want the file's server", cfg, err)
	}
}
