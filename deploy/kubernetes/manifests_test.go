// Tests of the Kubernetes manifests: every object decodes strictly (an
// unknown or misspelt field fails), the commands they run parse with
// gwdoctor's own flags, the ClusterRole grants exactly the resources the
// collector requests, and the wiring between the objects holds.
package kubernetes_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/gwdoctor/gwdoctor/collect"
	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/internal/cli"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
	"github.com/gwdoctor/gwdoctor/serve"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The Prometheus Operator's CRDs are not in client-go's scheme: they are
// decoded strictly into these minimal local types instead, which hold
// only the fields the manifests use (any other field fails the decode).
type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type serviceMonitor struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		NamespaceSelector struct {
			MatchNames []string `yaml:"matchNames"`
		} `yaml:"namespaceSelector"`
		Endpoints []struct {
			Port     string `yaml:"port"`
			Path     string `yaml:"path"`
			Interval string `yaml:"interval"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type prometheusRule struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Groups []struct {
			Name  string      `yaml:"name"`
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	} `yaml:"spec"`
}

// manifests holds every object of every file, decoded.
type manifests struct {
	objects         []runtime.Object
	serviceMonitors []serviceMonitor
	rules           []prometheusRule
}

// documents splits a YAML file into its documents.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			out = append(out, doc)
		}
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

var strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// decode decodes one document: strictly with client-go's scheme, or for
// the two CRDs strictly into the local types.
func decode(path string, doc []byte, m *manifests) error {
	var head struct {
		Kind string `yaml:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	switch head.Kind {
	case "ServiceMonitor":
		var sm serviceMonitor
		if err := yaml.UnmarshalWithOptions(doc, &sm, yaml.Strict()); err != nil {
			return err
		}
		m.serviceMonitors = append(m.serviceMonitors, sm)
		return nil
	case "PrometheusRule":
		var pr prometheusRule
		if err := yaml.UnmarshalWithOptions(doc, &pr, yaml.Strict()); err != nil {
			return err
		}
		m.rules = append(m.rules, pr)
		return nil
	}
	obj, _, err := strictDecoder.Decode(doc, nil, nil)
	if err != nil {
		return err
	}
	m.objects = append(m.objects, obj)
	return nil
}

func load(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	m := &manifests{}
	for _, f := range files {
		for i, doc := range documents(t, f) {
			if err := decode(f, doc, m); err != nil {
				t.Errorf("%s document %d does not decode strictly: %v", f, i+1, err)
			}
		}
	}
	return m
}

func find[T runtime.Object](m *manifests) []T {
	var out []T
	for _, o := range m.objects {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func one[T runtime.Object](t *testing.T, m *manifests, what string) T {
	t.Helper()
	all := find[T](m)
	if len(all) != 1 {
		t.Fatalf("%d %s objects, want 1", len(all), what)
	}
	return all[0]
}

// The decoders are strict: a misspelt field fails, for the scheme's
// kinds and for the CRDs alike (a test that cannot fail is a defect).
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: c, image: i, readOnlyRootFS: true}]}}}\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoints: [{port: m, intervall: 30s}]}\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec: {groups: [{name: g, rules: [{alert: a, expr: up, fore: 5m}]}]}\n",
	} {
		if err := decode("test", []byte(doc), &manifests{}); err == nil {
			t.Errorf("accepted an unknown field:\n%s", doc)
		}
	}
}

func TestManifestsDecodeAndWire(t *testing.T) {
	m := load(t)
	dep := one[*appsv1.Deployment](t, m, "Deployment")
	svc := one[*corev1.Service](t, m, "Service")
	sa := one[*corev1.ServiceAccount](t, m, "ServiceAccount")
	ns := one[*corev1.Namespace](t, m, "Namespace")
	cron := one[*batchv1.CronJob](t, m, "CronJob")
	binding := one[*rbacv1.ClusterRoleBinding](t, m, "ClusterRoleBinding")
	role := one[*rbacv1.ClusterRole](t, m, "ClusterRole")

	if ns.Labels["pod-identity.alibabacloud.com/injection"] != "on" {
		t.Error("the namespace does not turn on the RRSA webhook")
	}
	if sa.Annotations["pod-identity.alibabacloud.com/role-name"] == "" {
		t.Error("the ServiceAccount has no RRSA role annotation")
	}
	if binding.RoleRef.Name != role.Name || len(binding.Subjects) != 1 || binding.Subjects[0].Name != sa.Name || binding.Subjects[0].Namespace != sa.Namespace {
		t.Errorf("the binding does not bind %s to %s/%s: %+v", role.Name, sa.Namespace, sa.Name, binding)
	}

	// The pods: non-root, read-only root, bounded, probed on serve's endpoints.
	pods := map[string]corev1.PodSpec{"Deployment": dep.Spec.Template.Spec, "CronJob": cron.Spec.JobTemplate.Spec.Template.Spec}
	for what, spec := range pods {
		if spec.ServiceAccountName != sa.Name {
			t.Errorf("%s runs as service account %q, want %q", what, spec.ServiceAccountName, sa.Name)
		}
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Errorf("%s: pod not non-root: %+v", what, psc)
		}
		for _, c := range spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s container %s: root filesystem writable, escalation allowed or capabilities kept: %+v", what, c.Name, sc)
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if c.Resources.Requests.Name(r, "").IsZero() || c.Resources.Limits.Name(r, "").IsZero() {
					t.Errorf("%s container %s: no %s request or limit", what, c.Name, r)
				}
			}
			checkArgs(t, what, c.Args)
		}
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", c.LivenessProbe)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want GET /readyz", c.ReadinessProbe)
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 9108 || !slices.Contains(c.Args, "--listen=:9108") {
		t.Errorf("container port %+v and --listen disagree: %v", c.Ports, c.Args)
	}
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g <= 5 {
		t.Errorf("terminationGracePeriodSeconds %v: serve needs 5 s to stop", g)
	}
	if !slices.Contains(cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args, "verify") ||
		!slices.ContainsFunc(cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args, func(a string) bool { return strings.HasPrefix(a, "--junit=") }) {
		t.Error("the CronJob does not run verify --junit")
	}

	// Service → pods; scrape annotations; ServiceMonitor → Service.
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, which the Deployment's pods do not carry", k, v)
		}
	}
	if svc.Annotations["prometheus.io/scrape"] != "true" || svc.Annotations["prometheus.io/port"] != "9108" || svc.Annotations["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations %v", svc.Annotations)
	}
	if len(m.serviceMonitors) != 1 {
		t.Fatalf("%d ServiceMonitors", len(m.serviceMonitors))
	}
	sm := m.serviceMonitors[0]
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, which the Service does not carry", k, v)
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v do not name the Service's port %q", sm.Spec.Endpoints, svc.Spec.Ports[0].Name)
	}
}

// checkArgs parses a container's arguments with gwdoctor's own command
// tree: the manifest must run as written.
func checkArgs(t *testing.T, what string, args []string) {
	t.Helper()
	root := cli.NewRoot(&cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root {
		t.Errorf("%s: %v is not a gwdoctor command: %v", what, args, err)
		return
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("%s: %v: %v", what, args, err)
	}
	if !slices.Contains(args, "--live") {
		t.Errorf("%s: %v does not collect live", what, args)
	}
}

// The ClusterRole grants exactly the resources the collector requests,
// with read-only verbs covering the requests: the collector runs against
// the Kubernetes fake, which records every request.
func TestClusterRoleMatchesCollectorRequests(t *testing.T) {
	c, k := fakecloud.Shop()
	cloud, kube := fakecloud.NewAliyun(c), fakecloud.NewKube(k)
	defer cloud.Close()
	defer kube.Close()
	kc, err := kube.WriteKubeconfig(t.TempDir(), "fake")
	if err != nil {
		t.Fatal(err)
	}
	_, err = collect.Live(context.Background(), collect.Options{Region: "cn-hangzhou", GatewayID: c.GatewayID, Endpoint: cloud.URL, Kubeconfig: kc,
		Credentials: &aliyun.Credentials{AccessKeyID: "LTAIdeploytest", AccessKeySecret: "deploy-test-secret", Source: "test"}, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	type access struct{ group, resource, verb string }
	requested := map[access]bool{}
	for _, p := range kube.Paths() {
		a, ok := parsePath(p)
		if !ok {
			t.Errorf("the collector requested %s, which is not a resource list: the ClusterRole would not cover it", p)
			continue
		}
		requested[a] = true
	}
	if len(requested) == 0 {
		t.Fatal("the collector made no Kubernetes request")
	}

	m := load(t)
	role := one[*rbacv1.ClusterRole](t, m, "ClusterRole")
	granted := map[[2]string][]string{}
	for _, r := range role.Rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("unexpected rule %+v", r)
		}
		if !slices.Equal(r.Verbs, []string{"get", "list", "watch"}) {
			t.Errorf("rule %+v: verbs %v, want exactly get, list, watch (read-only)", r, r.Verbs)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				granted[[2]string{g, res}] = r.Verbs
			}
		}
	}
	wanted := map[[2]string]bool{}
	for a := range requested {
		key := [2]string{a.group, a.resource}
		wanted[key] = true
		if !slices.Contains(granted[key], a.verb) {
			t.Errorf("the collector does %s on %q/%s, which the ClusterRole does not grant", a.verb, a.group, a.resource)
		}
	}
	for key := range granted {
		if !wanted[key] {
			t.Errorf("the ClusterRole grants %q/%s, which the collector never requests", key[0], key[1])
		}
	}
}

var (
	corePath      = regexp.MustCompile(`^/api/v1/(?:namespaces/[^/]+/)?([a-z]+)$`)
	discoveryPath = regexp.MustCompile(`^/apis/(discovery\.k8s\.io)/v1/(?:namespaces/[^/]+/)?([a-z]+)$`)
)

// parsePath maps a request path of the fake (every request is a GET) to
// the RBAC access it needs: a collection path is a list.
func parsePath(p string) (struct{ group, resource, verb string }, bool) {
	if m := corePath.FindStringSubmatch(p); m != nil {
		return struct{ group, resource, verb string }{"", m[1], "list"}, true
	}
	if m := discoveryPath.FindStringSubmatch(p); m != nil {
		return struct{ group, resource, verb string }{m[1], m[2], "list"}, true
	}
	return struct{ group, resource, verb string }{}, false
}

// Every metric an alert uses is one serve exports, so the alerts cannot
// silently never fire.
func TestAlertsUseExportedMetrics(t *testing.T) {
	m := load(t)
	if len(m.rules) != 1 {
		t.Fatalf("%d PrometheusRules", len(m.rules))
	}
	snap, err := snapshot.Load(filepath.Join("..", "..", "internal", "demo", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(serve.Config{Gateways: []string{snap.Gateway.ID}, Interval: time.Hour, Jitter: -1, Logger: discardLogger(),
		Collect: func(context.Context, string) (*snapshot.Snapshot, error) { return snap, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	for ok, _ := srv.Ready(); !ok; ok, _ = srv.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	families, err := srv.Registry().Gather()
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
	}
	name := regexp.MustCompile(`gwdoctor_[a-z_]+`)
	alerts := 0
	for _, g := range m.rules[0].Spec.Groups {
		for _, r := range g.Rules {
			alerts++
			used := name.FindAllString(r.Expr, -1)
			if len(used) == 0 {
				t.Errorf("alert %s uses no gwdoctor metric: %s", r.Alert, r.Expr)
			}
			for _, u := range used {
				if !exported[u] {
					t.Errorf("alert %s uses %s, which serve does not export", r.Alert, u)
				}
			}
			if r.For == "" {
				t.Errorf("alert %s fires on one scrape (no for:)", r.Alert)
			}
		}
	}
	for _, want := range []string{"GwdoctorServiceBroken", "GwdoctorCollectionFailing"} {
		if !slices.ContainsFunc(m.rules[0].Spec.Groups[0].Rules, func(r alertRule) bool { return r.Alert == want }) {
			t.Errorf("no %s alert", want)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
