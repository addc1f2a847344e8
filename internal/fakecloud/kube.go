package fakecloud

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Kube is the Kubernetes side of a World.
type Kube struct {
	Nodes    []corev1.Node
	Pods     []corev1.Pod
	Services []corev1.Service
	Slices   []discoveryv1.EndpointSlice
	// ConfigMaps are served by GET namespaces/NS/configmaps/NAME (the
	// kube-system/eci-profile of virtual nodes).
	ConfigMaps []corev1.ConfigMap
}

// KubeServer is a running fake Kubernetes API server (JSON only).
type KubeServer struct {
	*httptest.Server
	Kube    *Kube
	Latency time.Duration
	// Deny answers 403 Forbidden for a resource ("pods", "endpointslices", …).
	Deny map[string]bool

	mu    sync.Mutex
	paths []string
}

// NewKube starts a fake API server for k.
func NewKube(k *Kube) *KubeServer {
	s := &KubeServer{Kube: k, Deny: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Paths returns the request paths received.
func (s *KubeServer) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// WriteKubeconfig writes a kubeconfig for the server into dir and returns its
// path. contextName is the current context; a second context, "elsewhere",
// names a closed loopback port, for tests of --context.
func (s *KubeServer) WriteKubeconfig(dir, contextName string) (string, error) {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: %s
- name: closed
  cluster:
    server: http://127.0.0.1:1
contexts:
- name: %s
  context:
    cluster: fake
    user: fake
    namespace: default
- name: elsewhere
  context:
    cluster: closed
    user: fake
current-context: %s
users:
- name: fake
  user:
    token: fake-kube-token-do-not-print
`, s.URL, contextName, contextName)
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

func (s *KubeServer) serve(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		select {
		case <-time.After(s.Latency):
		case <-r.Context().Done():
			return // the client gave up
		}
	}
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.Path)
	s.mu.Unlock()
	if strings.Contains(r.Header.Get("Accept"), "protobuf") && !strings.Contains(r.Header.Get("Accept"), "json") {
		status(w, 406, "NotAcceptable", "this fake speaks JSON only")
		return
	}
	p := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(p, "/")
	switch {
	case p == "version":
		writeJSON(w, 200, map[string]string{"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake"})
		return
	case p == "api":
		writeJSON(w, 200, map[string]any{"kind": "APIVersions", "versions": []string{"v1"}})
		return
	case p == "apis":
		writeJSON(w, 200, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{
			map[string]any{"name": "discovery.k8s.io", "versions": []any{map[string]string{"groupVersion": "discovery.k8s.io/v1", "version": "v1"}},
				"preferredVersion": map[string]string{"groupVersion": "discovery.k8s.io/v1", "version": "v1"}}}})
		return
	}
	var ns, resource string
	switch {
	case len(parts) == 3 && parts[0] == "api" && parts[1] == "v1":
		resource = parts[2]
	case len(parts) == 5 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces":
		ns, resource = parts[3], parts[4]
	case len(parts) == 6 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "configmaps":
		if s.Deny["configmaps"] {
			status(w, 403, "Forbidden", fmt.Sprintf(`configmaps %q is forbidden: User "system:serviceaccount:ops:gwdoctor" cannot get resource "configmaps" in API group "" in the namespace "%s"`, parts[5], parts[3]))
			return
		}
		for _, cm := range s.Kube.ConfigMaps {
			if cm.Namespace == parts[3] && cm.Name == parts[5] {
				cm.TypeMeta = metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}
				writeJSON(w, 200, cm)
				return
			}
		}
		status(w, 404, "NotFound", fmt.Sprintf("configmaps %q not found", parts[5]))
		return
	case len(parts) == 6 && parts[0] == "apis" && parts[1] == "discovery.k8s.io" && parts[2] == "v1" && parts[3] == "namespaces":
		ns, resource = parts[4], parts[5]
	case len(parts) == 4 && parts[0] == "apis" && parts[1] == "discovery.k8s.io" && parts[2] == "v1":
		resource = parts[3]
	default:
		status(w, 404, "NotFound", "the server could not find the requested resource")
		return
	}
	if s.Deny[resource] {
		status(w, 403, "Forbidden", fmt.Sprintf(`%s is forbidden: User "system:serviceaccount:ops:gwdoctor" cannot list resource "%s" in API group "" in the namespace "%s"`, resource, resource, ns))
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	off, _ := strconv.Atoi(r.URL.Query().Get("continue"))
	switch resource {
	case "nodes":
		items, cont := cut(s.Kube.Nodes, off, limit)
		writeJSON(w, 200, corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: "1", Continue: cont}, Items: items})
	case "pods":
		items, cont := cut(inNS(s.Kube.Pods, ns, func(p corev1.Pod) string { return p.Namespace }), off, limit)
		writeJSON(w, 200, corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: "1", Continue: cont}, Items: items})
	case "services":
		items, cont := cut(inNS(s.Kube.Services, ns, func(p corev1.Service) string { return p.Namespace }), off, limit)
		writeJSON(w, 200, corev1.ServiceList{TypeMeta: metav1.TypeMeta{Kind: "ServiceList", APIVersion: "v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: "1", Continue: cont}, Items: items})
	case "endpointslices":
		items, cont := cut(inNS(s.Kube.Slices, ns, func(p discoveryv1.EndpointSlice) string { return p.Namespace }), off, limit)
		writeJSON(w, 200, discoveryv1.EndpointSliceList{TypeMeta: metav1.TypeMeta{Kind: "EndpointSliceList", APIVersion: "discovery.k8s.io/v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: "1", Continue: cont}, Items: items})
	default:
		status(w, 404, "NotFound", "the server could not find the requested resource")
	}
}

func inNS[T any](items []T, ns string, get func(T) string) []T {
	if ns == "" {
		return items
	}
	var out []T
	for _, it := range items {
		if get(it) == ns {
			out = append(out, it)
		}
	}
	return out
}

// cut pages a list: continue is an offset here.
func cut[T any](items []T, off, limit int) ([]T, string) {
	off = min(off, len(items))
	if limit <= 0 || off+limit >= len(items) {
		return items[off:], ""
	}
	return items[off : off+limit], strconv.Itoa(off + limit)
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
		Message: msg, Reason: metav1.StatusReason(reason), Code: int32(code)})
}
