// Package kube reads where the gateway's backends run from Kubernetes with
// client-go: nodes (and their ECS instance ids), and for the namespaces of
// the gateway's services, Services, EndpointSlices and Pods, resolved into
// the endpoints (pod IP and target port) the gateway dials.
package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Labels ACK puts on nodes.
const (
	LabelNodePool = "alibabacloud.com/nodepool-id"
	LabelCluster  = "ack.aliyun.com"
)

// How virtual nodes and serverless pods are recognised, and where a
// serverless pod's security group is set.
const (
	// LabelNodeType is "virtual-kubelet" on virtual nodes.
	LabelNodeType = "type"
	// TaintVirtualKubelet is the taint key of virtual nodes.
	TaintVirtualKubelet = "virtual-kubelet.io/provider"
	// AnnotationECIGroup names an ECI pod's security groups (comma-separated).
	AnnotationECIGroup = "k8s.aliyun.com/eci-security-group"
	// AnnotationACSGroup names an ACS pod's security groups (comma-separated).
	AnnotationACSGroup = "network.alibabacloud.com/security-group-ids"
	// LabelComputeClass marks ACS pods.
	LabelComputeClass = "alibabacloud.com/compute-class"
	// ECIProfileNamespace and ECIProfileName locate the ConfigMap whose
	// securityGroupId is the default group of ECI pods that name none.
	ECIProfileNamespace = "kube-system"
	ECIProfileName      = "eci-profile"
	// ACSProfileName is the ConfigMap (in kube-system) whose securityGroupId
	// is the default group of ACS pods that name none.
	ACSProfileName = "acs-profile"
)

// RESTConfig loads the client configuration the way kubectl does: an explicit
// kubeconfig path, else $KUBECONFIG, else ~/.kube/config, else the in-cluster
// service account; contextName overrides the current context. The client
// speaks JSON only, so any API server (and the test fakes) can answer.
//
// Inside a pod ($KUBERNETES_SERVICE_HOST set) with no kubeconfig named by
// flag or $KUBECONFIG, the pod's service account is used directly
// (rest.InClusterConfig), even when the image happens to hold a
// ~/.kube/config: a Deployment means the cluster it runs in.
func RESTConfig(kubeconfig, contextName string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig == "" && contextName == "" && os.Getenv("KUBECONFIG") == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		if cfg, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("kubernetes: in-cluster configuration ($KUBERNETES_SERVICE_HOST is set): %v; mount the service account token or pass --kubeconfig FILE", err)
		}
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = kubeconfig
		overrides := &clientcmd.ConfigOverrides{CurrentContext: contextName}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			if clientcmd.IsEmptyConfig(err) {
				return nil, errors.New("kubernetes: no kubeconfig found and not running in a cluster: use --kubeconfig FILE or set KUBECONFIG")
			}
			return nil, fmt.Errorf("kubernetes: %v", err)
		}
	}
	cfg.ContentType = "application/json"
	cfg.AcceptContentTypes = "application/json"
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "gwdoctor"
	return cfg, nil
}

// Node is a Kubernetes node and what it says about its ECS instance.
type Node struct {
	Name        string
	InstanceID  string // from spec.providerID; "" when not an ECS instance id
	ProviderID  string
	Region      string
	NodePool    string
	ClusterID   string
	InternalIPs []string
	Ready       bool
	// Virtual marks a virtual-kubelet node: its pods run as ECI or ACS
	// instances, each with its own ENI and groups.
	Virtual bool
}

// IsVirtual recognises a virtual node: the label type=virtual-kubelet, the
// virtual-kubelet taint, or a virtual-kubelet name with no ECS providerID.
func IsVirtual(n *corev1.Node) bool {
	if n.Labels[LabelNodeType] == "virtual-kubelet" {
		return true
	}
	for _, t := range n.Spec.Taints {
		if t.Key == TaintVirtualKubelet {
			return true
		}
	}
	_, id := ParseProviderID(n.Spec.ProviderID)
	return !strings.HasPrefix(id, "i-") && strings.HasPrefix(n.Name, "virtual-kubelet")
}

// ParseProviderID returns the region and instance id of an ACK providerID:
// "cn-hangzhou.i-abc" or "alicloud://cn-hangzhou.i-abc".
func ParseProviderID(p string) (region, instanceID string) {
	p = strings.TrimSpace(p)
	p = strings.TrimPrefix(p, "alicloud://")
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

// Failure is a part that could not be read, with the RBAC permission it needs.
type Failure struct {
	Part   string   // snapshot.Part*
	IDs    []string // namespaces, when narrowed
	Action string   // e.g. "kubernetes:list pods"
	Err    error
}

func (f Failure) Error() string { return f.Err.Error() }

// Result is what Collect read.
type Result struct {
	Nodes []Node
	// ECIProfileGroup is securityGroupId of kube-system/eci-profile, read
	// when the cluster has virtual nodes; "" when it names none or has none.
	ECIProfileGroup string
	// ECIProfileErr says why the profile could not be read (RBAC: it is
	// optional); nil when read or not needed.
	ECIProfileErr error
	// ACSProfileGroup and ACSProfileErr are the same for kube-system/acs-profile.
	ACSProfileGroup string
	ACSProfileErr   error
	virtual         map[string]bool // node name → virtual
	// Namespaces whose services could be read.
	services map[string]*corev1.Service // ns/name
	slices   map[string][]discoveryv1.EndpointSlice
	pods     map[string]*corev1.Pod // ns/name
	podsByNS map[string][]*corev1.Pod
	readNS   map[string]bool
}

// Collector reads from one cluster.
type Collector struct {
	client kubernetes.Interface
}

// New builds a Collector from a REST config.
func New(cfg *rest.Config) (*Collector, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %v", err)
	}
	return &Collector{client: cs}, nil
}

const pageSize = 500

// Collect reads every node and, in each namespace given, the Services,
// EndpointSlices and Pods. Failures are per part; what could be read is
// returned either way.
func (c *Collector) Collect(ctx context.Context, namespaces []string) (*Result, []Failure) {
	r := &Result{services: map[string]*corev1.Service{}, slices: map[string][]discoveryv1.EndpointSlice{},
		pods: map[string]*corev1.Pod{}, podsByNS: map[string][]*corev1.Pod{}, readNS: map[string]bool{}, virtual: map[string]bool{}}
	var mu sync.Mutex
	var fails []Failure
	fail := func(f Failure) {
		mu.Lock()
		fails = append(fails, f)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		nodes, err := c.nodes(ctx)
		if err != nil {
			fail(Failure{Part: snapshot.PartNodes, Action: "kubernetes:list nodes", Err: kubeError("list nodes", err)})
			return
		}
		var eci, acs string
		var eciErr, acsErr error
		for _, n := range nodes {
			if n.Virtual {
				// Only clusters with virtual nodes need the profiles (and
				// the permission to read them).
				eci, eciErr = c.profileGroup(ctx, ECIProfileName)
				acs, acsErr = c.profileGroup(ctx, ACSProfileName)
				break
			}
		}
		mu.Lock()
		r.Nodes = nodes
		r.ECIProfileGroup, r.ECIProfileErr = eci, eciErr
		r.ACSProfileGroup, r.ACSProfileErr = acs, acsErr
		for _, n := range nodes {
			if n.Virtual {
				r.virtual[n.Name] = true
			}
		}
		mu.Unlock()
	})
	sem := make(chan struct{}, 4)
	for _, ns := range namespaces {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			svcs, err := listAll(ctx, func(o metav1.ListOptions) ([]corev1.Service, string, error) {
				l, err := c.client.CoreV1().Services(ns).List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			})
			if err != nil {
				fail(Failure{Part: snapshot.PartServices, IDs: []string{ns}, Action: "kubernetes:list services", Err: kubeError("list services in "+ns, err)})
				return
			}
			slices, errSlices := listAll(ctx, func(o metav1.ListOptions) ([]discoveryv1.EndpointSlice, string, error) {
				l, err := c.client.DiscoveryV1().EndpointSlices(ns).List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			})
			if errSlices != nil {
				fail(Failure{Part: snapshot.PartEndpoints, IDs: []string{ns}, Action: "kubernetes:list endpointslices.discovery.k8s.io", Err: kubeError("list endpointslices in "+ns, errSlices)})
			}
			pods, errPods := listAll(ctx, func(o metav1.ListOptions) ([]corev1.Pod, string, error) {
				l, err := c.client.CoreV1().Pods(ns).List(ctx, o)
				if err != nil {
					return nil, "", err
				}
				return l.Items, l.Continue, nil
			})
			if errPods != nil {
				fail(Failure{Part: snapshot.PartEndpoints, IDs: []string{ns}, Action: "kubernetes:list pods", Err: kubeError("list pods in "+ns, errPods)})
			}
			mu.Lock()
			defer mu.Unlock()
			// A namespace counts as read only when its endpoints can be
			// resolved: without slices and pods they would look empty.
			r.readNS[ns] = errSlices == nil && errPods == nil
			for i := range svcs {
				r.services[ns+"/"+svcs[i].Name] = &svcs[i]
			}
			for _, s := range slices {
				name := s.Labels[discoveryv1.LabelServiceName]
				r.slices[ns+"/"+name] = append(r.slices[ns+"/"+name], s)
			}
			for i := range pods {
				p := &pods[i]
				r.pods[ns+"/"+p.Name] = p
				r.podsByNS[ns] = append(r.podsByNS[ns], p)
			}
		})
	}
	wg.Wait()
	sort.Slice(fails, func(i, j int) bool { return fails[i].Err.Error() < fails[j].Err.Error() })
	return r, fails
}

func listAll[T any](ctx context.Context, list func(metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	var out []T
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		items, cont, err := list(opts)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if cont == "" {
			return out, nil
		}
		opts.Continue = cont
	}
}

func kubeError(what string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("kubernetes: %s: forbidden: the RBAC role needs %q (%v)", what, what, apierrors.ReasonForError(err))
	}
	return fmt.Errorf("kubernetes: %s: %v", what, err)
}

func (c *Collector) nodes(ctx context.Context) ([]Node, error) {
	items, err := listAll(ctx, func(o metav1.ListOptions) ([]corev1.Node, string, error) {
		l, err := c.client.CoreV1().Nodes().List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Node, 0, len(items))
	for _, n := range items {
		region, id := ParseProviderID(n.Spec.ProviderID)
		if !strings.HasPrefix(id, "i-") {
			id = "" // virtual (ECI) or non-ACK nodes: no ECS instance behind them
		}
		node := Node{Name: n.Name, ProviderID: n.Spec.ProviderID, Region: region, InstanceID: id,
			NodePool: n.Labels[LabelNodePool], ClusterID: n.Labels[LabelCluster], Virtual: IsVirtual(&n)}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				node.InternalIPs = append(node.InternalIPs, a.Address)
			}
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				node.Ready = cond.Status == corev1.ConditionTrue
			}
		}
		out = append(out, node)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// profileGroup reads securityGroupId of the kube-system ConfigMap name
// (eci-profile, acs-profile). A cluster without it has no profile default:
// "", nil.
func (c *Collector) profileGroup(ctx context.Context, name string) (string, error) {
	cm, err := c.client.CoreV1().ConfigMaps(ECIProfileNamespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", kubeError("get configmaps in "+ECIProfileNamespace+" ("+name+")", err)
	}
	return strings.TrimSpace(cm.Data["securityGroupId"]), nil
}

// serverless fills a pod endpoint's kind and annotated groups when the pod
// runs on a virtual node: an ACS pod (compute-class label or the ACS
// annotation) or else an ECI pod.
func (r *Result) serverless(ep *snapshot.Endpoint, pod *corev1.Pod) {
	if !r.virtual[ep.Node] {
		return
	}
	ep.Kind = snapshot.BackendECI
	ann := AnnotationECIGroup
	if pod == nil {
		return
	}
	if _, acs := pod.Labels[LabelComputeClass]; acs || pod.Annotations[AnnotationACSGroup] != "" {
		ep.Kind, ann = snapshot.BackendACS, AnnotationACSGroup
	}
	for _, g := range strings.Split(pod.Annotations[ann], ",") {
		if g = strings.TrimSpace(g); g != "" {
			ep.AnnotatedSecurityGroupIDs = append(ep.AnnotatedSecurityGroupIDs, g)
		}
	}
}

// HasNamespace reports whether the namespace's services, slices and pods were read.
func (r *Result) HasNamespace(ns string) bool { return r.readNS[ns] }

// HasService reports whether the Service exists.
func (r *Result) HasService(ns, name string) bool { return r.services[ns+"/"+name] != nil }

// Endpoints resolves the endpoints the gateway dials for the Service's port
// servicePort (0: every port): each ready or not-ready address of its
// EndpointSlices with the target port, or, for a Service without slices, its
// selected pods. ok is false when the Service does not exist.
func (r *Result) Endpoints(ns, name string, servicePort int) (eps []snapshot.Endpoint, ok bool) {
	svc := r.services[ns+"/"+name]
	if svc == nil {
		return nil, false
	}
	var ports []corev1.ServicePort
	for _, p := range svc.Spec.Ports {
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			continue
		}
		if servicePort == 0 || int(p.Port) == servicePort {
			ports = append(ports, p)
		}
	}
	if len(ports) == 0 {
		// MSE's port is not (or no longer) a port of the Service: every TCP port then.
		for _, p := range svc.Spec.Ports {
			if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
				ports = append(ports, p)
			}
		}
	}
	seen := map[string]bool{}
	add := func(ep snapshot.Endpoint) {
		key := fmt.Sprintf("%s:%d", ep.IP, ep.Port)
		if ep.IP == "" || ep.Port == 0 || seen[key] {
			return
		}
		seen[key] = true
		eps = append(eps, ep)
	}
	slices := r.slices[ns+"/"+name]
	for _, s := range slices {
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			continue // hostnames, not addresses a security group filters
		}
		for _, e := range s.Endpoints {
			var pod *corev1.Pod
			if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
				pod = r.pods[ns+"/"+e.TargetRef.Name]
			}
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			if pod != nil {
				ready = ready && podReady(pod)
			}
			node := ""
			if e.NodeName != nil {
				node = *e.NodeName
			} else if pod != nil {
				node = pod.Spec.NodeName
			}
			for _, sp := range ports {
				port := slicePort(s, sp)
				if port == 0 {
					port = targetPort(sp, pod)
				}
				for _, ip := range e.Addresses {
					ep := snapshot.Endpoint{IP: ip, Port: port, Node: node, Ready: boolPtr(ready)}
					if pod != nil {
						ep.Pod = pod.Name
					} else if e.TargetRef != nil {
						ep.Pod = e.TargetRef.Name
					}
					r.serverless(&ep, pod)
					add(ep)
				}
			}
		}
	}
	if len(slices) == 0 && len(svc.Spec.Selector) > 0 {
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, pod := range r.podsByNS[ns] {
			if !sel.Matches(labels.Set(pod.Labels)) || pod.Status.PodIP == "" || pod.DeletionTimestamp != nil {
				continue
			}
			for _, sp := range ports {
				for _, ip := range podIPs(pod) {
					ep := snapshot.Endpoint{IP: ip, Port: targetPort(sp, pod), Pod: pod.Name, Node: pod.Spec.NodeName, Ready: boolPtr(podReady(pod))}
					r.serverless(&ep, pod)
					add(ep)
				}
			}
		}
	}
	sort.Slice(eps, func(i, j int) bool {
		if eps[i].IP != eps[j].IP {
			return eps[i].IP < eps[j].IP
		}
		return eps[i].Port < eps[j].Port
	})
	return eps, true
}

// slicePort finds the slice's port for a Service port: slices carry the
// resolved target port under the Service port's name.
func slicePort(s discoveryv1.EndpointSlice, sp corev1.ServicePort) int {
	for _, p := range s.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name == sp.Name && p.Port != nil && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP) {
			return int(*p.Port)
		}
	}
	return 0
}

// targetPort resolves a Service port's targetPort against a pod: a number,
// a named container port, or (unset) the Service port itself.
func targetPort(sp corev1.ServicePort, pod *corev1.Pod) int {
	tp := sp.TargetPort
	if tp.IntValue() > 0 {
		return tp.IntValue()
	}
	if tp.StrVal != "" {
		if pod == nil {
			return 0
		}
		for _, c := range pod.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal && (cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP) {
					return int(cp.ContainerPort)
				}
			}
		}
		return 0
	}
	return int(sp.Port)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podIPs(p *corev1.Pod) []string {
	var out []string
	for _, ip := range p.Status.PodIPs {
		out = append(out, ip.IP)
	}
	if len(out) == 0 && p.Status.PodIP != "" {
		out = append(out, p.Status.PodIP)
	}
	return out
}

func boolPtr(b bool) *bool { return &b }
