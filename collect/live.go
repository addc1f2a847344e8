// Package collect produces a v1 snapshot from the live sources: MSE, ECS and
// ACK (collect/aliyun) joined with Kubernetes (collect/kube). What could not
// be read is marked in Snapshot.Missing, never silently left empty.
package collect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/collect/kube"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Options says what to collect and how to reach it.
type Options struct {
	// Region is the Alibaba Cloud region; empty means $ALIBABA_CLOUD_REGION_ID
	// or the profile's region.
	Region string
	// GatewayID is the MSE gateway's unique id (gw-…); required.
	GatewayID string
	// Endpoint overrides every product's API endpoint with one base URL.
	Endpoint string
	// Profile names an aliyun CLI profile.
	Profile string
	// Credentials, when set, are used instead of resolving them.
	Credentials *aliyun.Credentials
	// CredentialOptions tunes credential resolution (the aliyun CLI config path).
	CredentialOptions aliyun.CredentialOptions
	// ClusterID is the ACK cluster id; empty means: found from the gateway's
	// K8s service source or the nodes' ack.aliyun.com label, else node pools
	// are reported missing.
	ClusterID string
	// Kubeconfig and Context select the cluster as kubectl does.
	Kubeconfig, Context string
	// Concurrency bounds the cloud calls in flight (default 8).
	Concurrency int
	// RetryBackoff is the first retry delay (default 200 ms; tests shorten it).
	RetryBackoff time.Duration
	// Transport carries the cloud API calls (tests); nil means the default.
	Transport http.RoundTripper
	// Progress, when set, is told the current step (for a spinner); calls
	// are serialised.
	Progress func(step string)
	// Now is the clock for capturedAt (tests); nil means time.Now.
	Now func() time.Time
}

// PartError is one part that could not be collected.
type PartError struct {
	Part   string
	IDs    []string
	Action string
	Err    error
}

func (e *PartError) Error() string {
	what := e.Part
	if len(e.IDs) > 0 {
		ids := e.IDs
		if len(ids) > 5 {
			ids = append(append([]string(nil), ids[:5]...), fmt.Sprintf("and %d more", len(e.IDs)-5))
		}
		what += " (" + strings.Join(ids, ", ") + ")"
	}
	return fmt.Sprintf("%s not collected: %v", what, e.Err)
}

func (e *PartError) Unwrap() error { return e.Err }

// Stats counts what a collection did.
type Stats struct {
	CloudCalls   int64
	CloudRetries int64
	Duration     time.Duration
}

// Live collects one snapshot. It returns the snapshot and, when some parts
// could not be read, a *multierror.Error of *PartError (the snapshot then
// lists them in Missing). A nil snapshot means nothing could be collected
// (bad options, no credentials).
func Live(ctx context.Context, opts Options) (*snapshot.Snapshot, error) {
	s, _, err := LiveWithStats(ctx, opts)
	return s, err
}

// NewClient resolves the credentials and builds the Alibaba Cloud client a
// live collection uses (fix --apply writes through the same one), with the
// region it calls.
func NewClient(ctx context.Context, opts Options) (*aliyun.Client, string, error) {
	return cloudClient(ctx, opts)
}

// LiveWithStats is Live that also reports call counts and duration.
func LiveWithStats(ctx context.Context, opts Options) (*snapshot.Snapshot, Stats, error) {
	start := time.Now()
	var st Stats
	if opts.GatewayID == "" {
		return nil, st, errors.New("no gateway: use --gateway GATEWAY_ID (the MSE gateway's unique id, gw-…)")
	}
	progress := func(string) {}
	if opts.Progress != nil {
		// Stages report from several goroutines; the callback need not be safe.
		var mu sync.Mutex
		progress = func(step string) {
			mu.Lock()
			defer mu.Unlock()
			opts.Progress(step)
		}
	}
	progress("resolving Alibaba Cloud credentials")
	client, region, err := cloudClient(ctx, opts)
	if err != nil {
		return nil, st, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	c := &collector{opts: opts, cloud: client, progress: progress, now: now,
		snap: &snapshot.Snapshot{Version: snapshot.Version, CapturedAt: now().UTC().Format(time.RFC3339), Region: region}}
	c.run(ctx)
	st = Stats{CloudCalls: client.Calls(), CloudRetries: client.Retries(), Duration: time.Since(start)}
	return c.snap, st, c.errs.ErrorOrNil()
}

// cloudClient resolves the credentials and the region, and builds the
// Alibaba Cloud client the options describe.
func cloudClient(ctx context.Context, opts Options) (*aliyun.Client, string, error) {
	var creds aliyun.Credentials
	if opts.Credentials != nil {
		creds = *opts.Credentials
	} else {
		co := opts.CredentialOptions
		if opts.Profile != "" {
			co.Profile = opts.Profile
		}
		var err error
		if creds, err = aliyun.ResolveCredentials(ctx, co); err != nil {
			return nil, "", err
		}
	}
	region := cmp.Or(opts.Region, os.Getenv(aliyun.EnvRegion), creds.Region)
	client, err := aliyun.New(aliyun.Config{Region: region, Endpoint: opts.Endpoint, Credentials: creds,
		Concurrency: opts.Concurrency, Transport: opts.Transport, BaseBackoff: opts.RetryBackoff})
	if err != nil {
		return nil, "", err
	}
	return client, region, nil
}

// ListGateways lists the MSE gateways of the options' region (GatewayID is
// ignored), for `serve --all-gateways`.
func ListGateways(ctx context.Context, opts Options) ([]aliyun.GatewaySummary, error) {
	client, _, err := cloudClient(ctx, opts)
	if err != nil {
		return nil, err
	}
	return client.ListGateways(ctx)
}

type collector struct {
	opts     Options
	cloud    *aliyun.Client
	progress func(string)
	now      func() time.Time
	// servicesAt is when ListGatewayService answered: the time of the
	// gateway's health-check view.
	servicesAt string

	mu   sync.Mutex
	snap *snapshot.Snapshot
	errs *multierror.Error
}

// fail records a part that could not be read, in Missing and in the errors.
func (c *collector) fail(part string, ids []string, action string, err error) {
	c.record(part, ids, action, err, true)
}

// markMissing records a part in Missing only: its cause is reported already.
func (c *collector) markMissing(part string, ids []string, action string, err error) {
	c.record(part, ids, action, err, false)
}

func (c *collector) record(part string, ids []string, action string, err error, report bool) {
	if err == nil {
		return
	}
	var ae *aliyun.APIError
	if action == "" && errors.As(err, &ae) {
		action = ae.Action
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ids = append([]string(nil), ids...)
	sort.Strings(ids)
	c.snap.Missing = append(c.snap.Missing, snapshot.MissingPart{Part: part, IDs: ids, Error: err.Error(), Action: action})
	if report {
		c.errs = multierror.Append(c.errs, &PartError{Part: part, IDs: ids, Action: action, Err: err})
	}
}

func (c *collector) failBatches(part string, fs []aliyun.Failure) {
	for _, f := range fs {
		c.fail(part, f.IDs, "", f.Err)
	}
}

func (c *collector) run(ctx context.Context) {
	gw := c.opts.GatewayID
	s := c.snap
	s.Gateway.ID = gw

	// Stage 1: the gateway, its authorizations and services, in parallel.
	c.progress("reading gateway " + gw)
	var info aliyun.GatewayInfo
	var infoErr error
	var services []aliyun.GatewayService
	var wg sync.WaitGroup
	wg.Go(func() {
		info, infoErr = c.cloud.GetGateway(ctx, gw)
		if infoErr != nil {
			c.fail(snapshot.PartGateway, nil, aliyun.ActionGetGateway, infoErr)
		}
	})
	wg.Go(func() {
		auths, err := c.cloud.ListAuthorizations(ctx, gw)
		if err != nil {
			c.fail(snapshot.PartAuthorizations, nil, aliyun.ActionListSecurityGroupRule, err)
			return
		}
		s.Gateway.Authorizations = auths
	})
	wg.Go(func() {
		var err error
		services, err = c.cloud.ListGatewayServices(ctx, gw)
		c.servicesAt = c.now().UTC().Format(time.RFC3339)
		if err != nil {
			c.fail(snapshot.PartServices, nil, aliyun.ActionListGatewayService, err)
		}
	})
	wg.Wait()
	if infoErr == nil {
		s.Gateway.Name, s.Gateway.VpcID, s.Gateway.SecurityGroupID = info.Name, info.VpcID, info.SecurityGroupID
	}

	// Stage 2: vSwitch CIDRs, Kubernetes, the cluster's node pools, plain
	// ECS backends — independent of each other.
	k8sNS := map[string]bool{}
	var fixedIPs []string
	for _, sv := range services {
		switch sv.Source {
		case snapshot.SourceK8s:
			k8sNS[cmp.Or(sv.Namespace, "default")] = true
		default:
			for _, raw := range sv.Ips {
				if host, _ := aliyun.SplitHostPort(raw); net.ParseIP(host) != nil {
					fixedIPs = append(fixedIPs, host)
				}
			}
		}
	}
	var kres *kube.Result
	var kubeContext string
	var ecsBackends map[string]aliyun.Instance
	if len(info.VSwitchIDs) > 0 {
		wg.Go(func() {
			vsws, err := c.cloud.VSwitches(ctx, info.VpcID, info.VSwitchIDs)
			if err != nil {
				// Addresses stay empty: CIDR-sourced rules become unknown, not guessed.
				c.fail(snapshot.PartGateway, info.VSwitchIDs, aliyun.ActionDescribeVSwitches, err)
				return
			}
			// The zones name the gateway's addresses in findings (GWD113).
			s.Gateway.VSwitches = vsws
			var cidrs []string
			for _, v := range vsws {
				if !slices.Contains(cidrs, v.Cidr) {
					cidrs = append(cidrs, v.Cidr)
				}
			}
			s.Gateway.Addresses = cidrs
		})
	}
	if len(k8sNS) > 0 || c.opts.Kubeconfig != "" || c.opts.Context != "" {
		wg.Go(func() {
			kres, kubeContext = c.collectKube(ctx, slices.Sorted(maps.Keys(k8sNS)))
		})
	}
	if len(fixedIPs) > 0 && info.VpcID != "" {
		wg.Go(func() {
			var fs []aliyun.Failure
			ecsBackends, fs = c.cloud.DescribeInstancesByIP(ctx, info.VpcID, fixedIPs)
			c.failBatches(snapshot.PartNodes, fs)
		})
	}
	var clusterSources []string
	var sourcesErr error
	if c.opts.ClusterID == "" && len(k8sNS) > 0 {
		wg.Go(func() {
			srcs, err := c.cloud.ListServiceSources(ctx, gw)
			if err != nil {
				// Only a hint for the cluster id; the node labels are the other.
				sourcesErr = err
				return
			}
			for _, src := range srcs {
				if strings.EqualFold(src.Type, "K8S") && strings.HasPrefix(src.Address, "c") {
					clusterSources = append(clusterSources, src.Address)
				}
			}
		})
	}
	wg.Wait()

	// Stage 3: node pools, instances, ENIs, security groups.
	clusterID, why := c.clusterID(kres, uniq(clusterSources), sourcesErr)
	if clusterID != "" {
		if c.snap.Cluster == nil {
			c.snap.Cluster = &snapshot.Cluster{}
		}
		c.snap.Cluster.ID = clusterID
		wg.Go(func() {
			c.progress("reading node pools of " + clusterID)
			pools, err := c.cloud.NodePools(ctx, clusterID)
			if err != nil {
				c.fail(snapshot.PartNodePools, []string{clusterID}, aliyun.ActionDescribeClusterNodePools, err)
				return
			}
			s.NodePools = pools
		})
	} else if len(k8sNS) > 0 {
		c.fail(snapshot.PartNodePools, nil, aliyun.ActionDescribeClusterNodePools, errors.New(why))
	}

	var kubeNodes []kube.Node
	if kres != nil {
		kubeNodes = kres.Nodes
	}
	// Serverless pods take their group from an annotation or else a
	// default: the eci-profile's, else the cluster's. Read them only for
	// clusters with virtual nodes; both are optional, and a failure is
	// recorded, not fatal.
	if slices.ContainsFunc(kubeNodes, func(n kube.Node) bool { return n.Virtual }) {
		if s.Cluster == nil {
			s.Cluster = &snapshot.Cluster{}
		}
		s.Cluster.ECIProfileSecurityGroupID = kres.ECIProfileGroup
		if kres.ECIProfileErr != nil {
			c.fail(snapshot.PartECIProfile, nil, "kubernetes:get configmaps "+kube.ECIProfileNamespace+"/"+kube.ECIProfileName, kres.ECIProfileErr)
		}
		s.Cluster.ACSProfileSecurityGroupID = kres.ACSProfileGroup
		if kres.ACSProfileErr != nil {
			c.fail(snapshot.PartACSProfile, nil, "kubernetes:get configmaps "+kube.ECIProfileNamespace+"/"+kube.ACSProfileName, kres.ACSProfileErr)
		}
		if clusterID != "" {
			wg.Go(func() {
				c.progress("reading cluster " + clusterID)
				d, err := c.cloud.ClusterDetail(ctx, clusterID)
				if err != nil {
					c.fail(snapshot.PartCluster, []string{clusterID}, aliyun.ActionDescribeClusterDetail, err)
					return
				}
				c.mu.Lock()
				s.Cluster.SecurityGroupID = d.SecurityGroupID
				c.mu.Unlock()
			})
		}
	}
	var instanceIDs []string
	for _, n := range kubeNodes {
		if strings.HasPrefix(n.InstanceID, "i-") {
			instanceIDs = append(instanceIDs, n.InstanceID)
		}
	}
	c.progress(fmt.Sprintf("reading %d ECS instances", len(instanceIDs)))
	instances, fs := c.cloud.DescribeInstances(ctx, instanceIDs)
	c.failBatches(snapshot.PartNodes, fs)
	for id, in := range ecsBackends {
		instances[id] = in
	}

	// ENIs: by id from the instances (100 per call); instances whose
	// description failed are asked by instance id, one call each.
	c.progress("reading network interfaces")
	var eniIDs, byInstance []string
	for _, id := range instanceIDs {
		if in, ok := instances[id]; ok {
			eniIDs = append(eniIDs, in.ENIIDs...)
			if len(in.ENIIDs) == 0 {
				byInstance = append(byInstance, id)
			}
		} else if failedIn(fs, id) {
			byInstance = append(byInstance, id)
		}
	}
	for _, in := range ecsBackends {
		eniIDs = append(eniIDs, in.ENIIDs...)
	}
	enis, efs := c.cloud.DescribeNetworkInterfaces(ctx, eniIDs)
	c.failBatches(snapshot.PartENIs, efs)
	if len(byInstance) > 0 {
		more, mfs := c.cloud.NetworkInterfacesByInstance(ctx, byInstance)
		c.failBatches(snapshot.PartENIs, mfs)
		for k, v := range more {
			enis[k] = v
		}
	}

	// Endpoints: resolved now, so that pod IPs that no node ENI holds
	// (Terway member or secondary ENIs) can be looked up by IP.
	s.Services = c.services(services, kres, kubeContext, instances)
	var loose []string
	covered := newCoverage(enis)
	for _, sv := range s.Services {
		for _, ep := range sv.Endpoints {
			if !covered.has(ep.IP) {
				loose = append(loose, ep.IP)
			}
		}
	}
	if len(loose) > 0 {
		c.progress(fmt.Sprintf("locating %d endpoint IPs on network interfaces", len(uniq(loose))))
		more, mfs := c.cloud.NetworkInterfacesByIP(ctx, loose)
		c.failBatches(snapshot.PartENIs, mfs)
		for k, v := range more {
			enis[k] = v
		}
	}
	wg.Wait() // node pools, cluster detail

	s.Nodes = buildNodes(kubeNodes, instances, ecsBackends, enis, s.Services)
	if s.Cluster != nil && *s.Cluster == (snapshot.Cluster{}) {
		s.Cluster = nil
	}

	// Groups: the gateway's, every authorized one, every group on a
	// collected ENI or instance, every node pool's.
	var groupIDs []string
	groupIDs = append(groupIDs, s.Gateway.SecurityGroupID)
	for _, a := range s.Gateway.Authorizations {
		groupIDs = append(groupIDs, a.SecurityGroupID)
	}
	for _, n := range s.Nodes {
		for _, e := range n.ENIs {
			groupIDs = append(groupIDs, e.SecurityGroupIDs...)
		}
	}
	for _, in := range instances {
		groupIDs = append(groupIDs, in.GroupIDs...)
	}
	for _, p := range s.NodePools {
		groupIDs = append(groupIDs, p.SecurityGroupIDs...)
	}
	for _, sv := range s.Services {
		for _, ep := range sv.Endpoints {
			groupIDs = append(groupIDs, ep.AnnotatedSecurityGroupIDs...)
		}
	}
	if cl := s.Cluster; cl != nil {
		// The defaults new serverless pods get: serverless-default-drift evaluates them.
		groupIDs = append(groupIDs, cl.SecurityGroupID, cl.ECIProfileSecurityGroupID, cl.ACSProfileSecurityGroupID)
	}
	groupIDs = uniq(groupIDs)
	c.progress("reading " + words.Count(len(groupIDs), "security group", "security groups"))
	described, gfs := c.cloud.DescribeSecurityGroups(ctx, groupIDs)
	c.failBatches(snapshot.PartSecurityGroups, gfs)
	// Rules of every group that exists, or whose existence is unknown
	// because its description failed.
	var ruleIDs []string
	for _, id := range groupIDs {
		if _, ok := described[id]; ok || failedIn(gfs, id) {
			ruleIDs = append(ruleIDs, id)
		}
	}
	c.progress(fmt.Sprintf("reading the rules of %d security groups", len(ruleIDs)))
	groups := make([]snapshot.SecurityGroup, len(ruleIDs))
	ok := make([]bool, len(ruleIDs))
	var rfail []string
	var rmu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, max(c.opts.Concurrency, 8))
	for i, id := range ruleIDs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			attr, err := c.cloud.SecurityGroupRules(ctx, id)
			g := described[id]
			g.ID = id
			if err != nil {
				rmu.Lock()
				rfail = append(rfail, id)
				if firstErr == nil {
					firstErr = err
				}
				rmu.Unlock()
				if _, known := described[id]; known {
					groups[i], ok[i] = g, true
				}
				return
			}
			g.Name = cmp.Or(g.Name, attr.Name)
			g.VpcID = cmp.Or(g.VpcID, attr.VpcID)
			if g.Type != snapshot.GroupTypeEnterprise {
				g.InnerAccessPolicy = attr.InnerAccessPolicy
			}
			g.Rules = attr.Rules
			groups[i], ok[i] = g, true
			if len(attr.Unmodelled) > 0 {
				// Leaving a rule out silently could turn a drop into an
				// allow: the group's rules are marked incomplete instead.
				c.markMissing(snapshot.PartRules, []string{id}, aliyun.ActionDescribeSecurityGroupAttribute,
					fmt.Errorf("group %s has rules gwdoctor cannot read: %s; its rules are incomplete", id, strings.Join(attr.Unmodelled, ", ")))
			}
		})
	}
	wg.Wait()
	if len(rfail) > 0 {
		// One entry for all groups that failed alike: a missing permission
		// fails every group the same way.
		c.fail(snapshot.PartRules, rfail, aliyun.ActionDescribeSecurityGroupAttribute, firstErr)
	}
	for i := range groups {
		if ok[i] {
			s.SecurityGroups = append(s.SecurityGroups, groups[i])
		}
	}
	sort.Slice(s.SecurityGroups, func(i, j int) bool { return s.SecurityGroups[i].ID < s.SecurityGroups[j].ID })
	sort.Slice(s.Missing, func(i, j int) bool {
		a, b := s.Missing[i], s.Missing[j]
		if a.Part != b.Part {
			return a.Part < b.Part
		}
		return strings.Join(a.IDs, ",") < strings.Join(b.IDs, ",")
	})
}

func (c *collector) collectKube(ctx context.Context, namespaces []string) (*kube.Result, string) {
	c.progress(fmt.Sprintf("reading Kubernetes (%s)", words.Count(len(namespaces), "namespace", "namespaces")))
	cfg, err := kube.RESTConfig(c.opts.Kubeconfig, c.opts.Context)
	if err != nil {
		c.fail(snapshot.PartNodes, nil, "kubernetes:list nodes", err)
		c.markMissing(snapshot.PartEndpoints, namespaces, "kubernetes:list endpointslices.discovery.k8s.io", err)
		return nil, ""
	}
	kc, err := kube.New(cfg)
	if err != nil {
		c.fail(snapshot.PartNodes, nil, "kubernetes:list nodes", err)
		c.markMissing(snapshot.PartEndpoints, namespaces, "kubernetes:list endpointslices.discovery.k8s.io", err)
		return nil, ""
	}
	res, fails := kc.Collect(ctx, namespaces)
	for _, f := range fails {
		c.fail(f.Part, f.IDs, f.Action, f.Err)
	}
	return res, cmp.Or(c.opts.Context, cfg.Host)
}

// clusterID decides the ACK cluster: the flag, else the gateway's one K8s
// source, else the one cluster every node is labelled with. Never a guess.
func (c *collector) clusterID(k *kube.Result, sources []string, sourcesErr error) (string, string) {
	if c.opts.ClusterID != "" {
		return c.opts.ClusterID, ""
	}
	var labelled []string
	if k != nil {
		for _, n := range k.Nodes {
			labelled = append(labelled, n.ClusterID)
		}
	}
	labels := uniq(labelled)
	switch {
	case len(sources) == 1:
		return sources[0], ""
	case len(sources) > 1 && len(labels) == 1 && slices.Contains(sources, labels[0]):
		return labels[0], ""
	case len(sources) == 0 && len(labels) == 1 && !slices.Contains(labelled, ""):
		return labels[0], ""
	}
	src := orNone(sources)
	if sourcesErr != nil {
		src = "unreadable, " + sourcesErr.Error()
	}
	return "", fmt.Sprintf("the ACK cluster id is unknown (gateway K8s sources: %s; node labels %s: %s): pass --cluster-id to read node pools",
		src, kube.LabelCluster, orNone(labels))
}

// services builds the snapshot services from MSE's list and the cluster.
func (c *collector) services(list []aliyun.GatewayService, k *kube.Result, kubeContext string, instances map[string]aliyun.Instance) []snapshot.Service {
	byIP := map[string]string{}
	for _, in := range instances {
		for _, ip := range in.PrivateIPs {
			byIP[ip] = in.ID
		}
	}
	var out []snapshot.Service
	for _, gs := range list {
		sv := snapshot.Service{Name: gs.Name, Namespace: gs.Namespace, Source: gs.Source, Protocol: snapshot.ProtocolTCP,
			HealthCheck: gatewayHealthCheck(gs, c.servicesAt)}
		switch gs.Source {
		case snapshot.SourceK8s:
			ns := cmp.Or(gs.Namespace, "default")
			sv.Namespace = ns
			key := ns + "/" + gs.Name
			switch {
			case k == nil || !k.HasNamespace(ns):
				// The namespace failure is recorded already; mark the service.
				c.markMissing(snapshot.PartEndpoints, []string{key}, "", fmt.Errorf("endpoints of %s unknown: namespace %s could not be read", key, ns))
			case !k.HasService(ns, gs.Name):
				c.fail(snapshot.PartEndpoints, []string{key}, "",
					fmt.Errorf("service %s is not in the cluster of %s: wrong --kubeconfig/--context, or the service was deleted", key, kubeContext))
			default:
				sv.Endpoints, _ = k.Endpoints(ns, gs.Name, gs.ServicePort)
			}
		default:
			if sv.Source == "" {
				sv.Source = snapshot.SourceFixed
			}
			var unresolved []string
			for _, raw := range gs.Ips {
				host, port := aliyun.SplitHostPort(raw)
				if net.ParseIP(host) == nil {
					unresolved = append(unresolved, host)
					continue
				}
				ports := []int{port}
				if port == 0 {
					ports = servicePorts(gs)
				}
				for _, p := range ports {
					if p > 0 {
						sv.Endpoints = append(sv.Endpoints, snapshot.Endpoint{IP: host, Port: p, Node: byIP[host]})
					}
				}
			}
			if len(unresolved) > 0 || (len(gs.Ips) == 0 && gs.Source != snapshot.SourceECS && gs.Source != snapshot.SourceFixed) {
				// Not a failure of the collection: a limit of what gwdoctor
				// models, recorded so that checks say unknown, not healthy.
				c.markMissing(snapshot.PartEndpoints, []string{sv.Key()}, "",
					fmt.Errorf("service %s (source %s) has addresses gwdoctor does not resolve (%s): its endpoints are unknown",
						sv.Key(), cmp.Or(gs.RawSourceType, "unknown"), orNone(unresolved)))
			}
		}
		out = append(out, sv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// gatewayHealthCheck records MSE's own health check of a service: nil when
// the answer says nothing about it. A status other than Healthy/Unhealthy,
// or a failing endpoint that is not ip:port (a DNS name), makes the status
// unknown, so that an endpoint missing from the list is not taken as
// passing the check.
func gatewayHealthCheck(gs aliyun.GatewayService, at string) *snapshot.HealthCheck {
	if gs.HealthCheck == nil && gs.HealthStatus == "" && len(gs.Unhealthy) == 0 {
		return nil
	}
	h := &snapshot.HealthCheck{Enabled: gs.HealthCheck, At: at}
	switch strings.ToLower(gs.HealthStatus) {
	case snapshot.HealthHealthy:
		h.Status = snapshot.HealthHealthy
	case snapshot.HealthUnhealthy:
		h.Status = snapshot.HealthUnhealthy
	case "":
	default:
		h.Status = snapshot.HealthUnknown
	}
	for _, raw := range gs.Unhealthy {
		ap, err := netip.ParseAddrPort(strings.TrimSpace(raw))
		if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
			h.Status = snapshot.HealthUnknown
			continue
		}
		h.UnhealthyEndpoints = append(h.UnhealthyEndpoints, ap.String())
	}
	return h
}

func servicePorts(gs aliyun.GatewayService) []int {
	if len(gs.Ports) > 0 {
		return gs.Ports
	}
	return []int{gs.ServicePort}
}

// buildNodes joins Kubernetes nodes, instances and ENIs. ENIs found only by
// an endpoint's IP (no known instance) go to the endpoint's node.
func buildNodes(kn []kube.Node, instances, ecsBackends map[string]aliyun.Instance, enis map[string]aliyun.NetworkInterface, services []snapshot.Service) []snapshot.Node {
	var nodes []snapshot.Node
	index := map[string]int{} // instance id → node
	byName := map[string]int{}
	virtual := map[string]bool{}
	for _, n := range kn {
		node := snapshot.Node{Name: n.Name, InstanceID: n.InstanceID, NodePool: n.NodePool}
		if n.Virtual {
			node.Kind, virtual[n.Name] = snapshot.NodeKindVirtual, true
		}
		if in, ok := instances[n.InstanceID]; ok {
			node.VpcID = in.VpcID
		}
		if n.InstanceID != "" {
			index[n.InstanceID] = len(nodes)
		}
		byName[n.Name] = len(nodes)
		nodes = append(nodes, node)
	}
	for _, id := range slices.Sorted(maps.Keys(ecsBackends)) {
		if _, dup := index[id]; dup {
			continue
		}
		in := ecsBackends[id]
		index[id] = len(nodes)
		nodes = append(nodes, snapshot.Node{InstanceID: id, VpcID: in.VpcID})
	}
	epNode := map[string]string{}
	epKind := map[string]string{}
	for _, sv := range services {
		for _, ep := range sv.Endpoints {
			if ep.Node != "" {
				epNode[ep.IP] = ep.Node
			}
			epKind[ep.IP] = ep.Kind
		}
	}
	for _, id := range slices.Sorted(maps.Keys(enis)) {
		e := enis[id]
		i, ok := index[e.InstanceID]
		if kind := serverlessOwner(e, epNode, epKind, virtual); !ok && kind != "" {
			// A serverless pod's ENI belongs to its own instance (eci-…),
			// not to the virtual node its pod is scheduled to.
			index[e.InstanceID] = len(nodes)
			i, ok = len(nodes), true
			nodes = append(nodes, snapshot.Node{InstanceID: e.InstanceID, Kind: kind, VpcID: e.VpcID})
		}
		if !ok {
			for _, ip := range e.IPs {
				if n, found := byName[epNode[ip]]; found {
					i, ok = n, true
					break
				}
				if n, found := index[epNode[ip]]; found {
					i, ok = n, true
					break
				}
			}
		}
		if !ok {
			if e.InstanceID == "" {
				continue
			}
			index[e.InstanceID] = len(nodes)
			i = len(nodes)
			nodes = append(nodes, snapshot.Node{InstanceID: e.InstanceID, VpcID: e.VpcID})
		}
		nodes[i].ENIs = append(nodes[i].ENIs, snapshot.ENI{ID: e.ID, Primary: e.Primary(), IPs: e.IPs,
			Prefixes: e.Prefixes, SecurityGroupIDs: e.GroupIDs})
		if nodes[i].VpcID == "" {
			nodes[i].VpcID = e.VpcID
		}
	}
	for i := range nodes {
		sort.SliceStable(nodes[i].ENIs, func(a, b int) bool {
			ea, eb := nodes[i].ENIs[a], nodes[i].ENIs[b]
			if ea.Primary != eb.Primary {
				return ea.Primary
			}
			return ea.ID < eb.ID
		})
	}
	sort.SliceStable(nodes, func(a, b int) bool {
		if nodes[a].Name != nodes[b].Name {
			return nodes[a].Name < nodes[b].Name
		}
		return nodes[a].InstanceID < nodes[b].InstanceID
	})
	return nodes
}

// serverlessOwner is the node kind (eci or acs) of the instance owning an
// ENI that holds a serverless pod's IP — an eci-… owner, or an IP of a pod on
// a virtual node — and "" for other ENIs or an unknown owner.
func serverlessOwner(e aliyun.NetworkInterface, epNode, epKind map[string]string, virtual map[string]bool) string {
	if e.InstanceID == "" || strings.HasPrefix(e.InstanceID, "i-") {
		return ""
	}
	kind := ""
	if strings.HasPrefix(e.InstanceID, "eci-") {
		kind = snapshot.NodeKindECI
	}
	for _, ip := range e.IPs {
		if virtual[epNode[ip]] {
			if epKind[ip] == snapshot.BackendACS {
				return snapshot.NodeKindACS
			}
			kind = snapshot.NodeKindECI
		}
	}
	return kind
}

// coverage answers whether some collected ENI holds an IP.
type coverage struct {
	ips      map[string]bool
	prefixes []netip.Prefix
}

func newCoverage(enis map[string]aliyun.NetworkInterface) *coverage {
	c := &coverage{ips: map[string]bool{}}
	for _, e := range enis {
		for _, ip := range e.IPs {
			c.ips[ip] = true
		}
		for _, p := range e.Prefixes {
			if pf, err := netip.ParsePrefix(p); err == nil {
				c.prefixes = append(c.prefixes, pf)
			}
		}
	}
	return c
}

func (c *coverage) has(ip string) bool {
	if c.ips[ip] {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return true // not an address: nothing to look up
	}
	for _, p := range c.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func failedIn(fs []aliyun.Failure, id string) bool {
	for _, f := range fs {
		if slices.Contains(f.IDs, id) {
			return true
		}
	}
	return false
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
