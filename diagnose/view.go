package diagnose

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Endpoint verdicts, as in the report JSON.
const (
	VerdictReachable = "reachable"
	VerdictBlocked   = "blocked"
	VerdictUnknown   = "unknown"
)

// ProbeFromGateway is the vantage label of probes sent from the gateway's
// own network position; only those prove what the gateway's path does.
const ProbeFromGateway = "gateway"

// How an endpoint's ENI was found.
const (
	ResolvedByIP          = "ip-on-eni"        // an ENI holds the endpoint IP
	ResolvedByPrefix      = "prefix-on-eni"    // an ENI prefix contains it (Terway prefix mode)
	ResolvedByNodePrimary = "node-primary-eni" // routed to the node (Flannel): the node's primary ENI
)

// ENIRef is an ENI with the node that carries it.
type ENIRef struct {
	Node *snapshot.Node
	ENI  *snapshot.ENI
}

// Endpoint is one service endpoint with everything resolved about it: where
// it runs, which groups filter it, the configuration's decision, the probe,
// and the joined verdict. Checks read it; they never modify it.
type Endpoint struct {
	Service    *snapshot.Service
	ServiceKey string // "namespace/name"
	Endpoint   *snapshot.Endpoint
	Addr       netip.Addr // invalid when the IP does not parse (validation prevents it)

	// Node and ENI are nil when unresolved; Unresolved then says why.
	Node       *snapshot.Node
	ENI        *snapshot.ENI
	Resolution string
	Unresolved string
	GroupIDs   []string // groups on the ENI

	// Decision is the security-group evaluator's answer (Unknown when unresolved).
	Decision secgroup.Decision
	// Probe is the newest probe of ip:port, nil when none.
	Probe *snapshot.Probe
	// Verdict joins Decision, Probe and Health (JoinEvidence): reachable, blocked or unknown.
	Verdict string
	// ProbeVantageOnly is set when the probe failed from a vantage point off
	// the gateway's path while the configuration allows: the verdict stays
	// as configured, and the report warns that this vantage cannot connect.
	ProbeVantageOnly bool
	// Health is the gateway's own health check of the endpoint; HealthDecided
	// says it, not the probe, decided the verdict (JoinEvidence).
	Health        HealthEvidence
	HealthDecided bool
	// Kind is the backend's kind (snapshot.Backend*): a pod on an ECS node,
	// an ECI pod, an ACS pod or a plain ECS instance. It decides how
	// findings name the backend and what they advise.
	Kind string
	// HostNode is the Kubernetes node the endpoint names when it is not the
	// instance holding the ENI: the virtual node of an ECI or ACS pod.
	HostNode *snapshot.Node
}

// Target is "ip:port" ("[v6]:port" for IPv6), the probe target form.
func (e *Endpoint) Target() string {
	return JoinHostPort(e.Endpoint.IP, e.Endpoint.Port)
}

// Label is "ns/name ip:port", the endpoint's subject in findings.
func (e *Endpoint) Label() string { return e.ServiceKey + " " + e.Target() }

// NodeLabel names the endpoint's node: its name, else instance id, else the
// endpoint's node field, else "".
func (e *Endpoint) NodeLabel() string {
	if e.Node != nil {
		return NodeName(e.Node)
	}
	return e.Endpoint.Node
}

// JoinHostPort formats ip:port, bracketing IPv6.
func JoinHostPort(ip string, port int) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(port)
	}
	return ip + ":" + strconv.Itoa(port)
}

// NodeName is a node's display name: its Kubernetes name, else its instance id.
func NodeName(n *snapshot.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.InstanceID
}

// View is the shared, pre-indexed, read-only view of a snapshot that every
// check reads. Build it once with NewView; it is safe for concurrent reads.
type View struct {
	Snapshot *snapshot.Snapshot
	Eval     *secgroup.Evaluator
	// Baseline is the view of the baseline snapshot, nil without one.
	Baseline *View

	Groups       map[string]*snapshot.SecurityGroup
	Pools        map[string]*snapshot.NodePool
	NodeByKey    map[string]*snapshot.Node // by name and by instance id
	ENIByIP      map[netip.Addr]ENIRef
	ENIByID      map[string]ENIRef
	NodesByGroup map[string][]*snapshot.Node // nodes with the group on any ENI, in snapshot order
	// Endpoints are every service endpoint, in snapshot order; ByService
	// groups them by service key.
	Endpoints []*Endpoint
	ByService map[string][]*Endpoint
	Services  []*snapshot.Service
	Probes    map[string][]*snapshot.Probe // by target, in snapshot order

	prefixes []prefixENI
	failing  map[*snapshot.HealthCheck]map[string]bool // built by NewView only
	cache    sync.Map                                  // key → *cacheEntry, for Cache
}

type prefixENI struct {
	prefix netip.Prefix
	ref    ENIRef
}

type cacheEntry struct {
	once sync.Once
	val  any
}

// Cache returns the value build computes for key, computing it once per view
// however many checks ask concurrently. Checks use it to share derived data
// (for example one root-cause classification of every blocked endpoint).
func (v *View) Cache(key string, build func() any) any {
	e, _ := v.cache.LoadOrStore(key, &cacheEntry{})
	ce := e.(*cacheEntry)
	ce.once.Do(func() { ce.val = build() })
	return ce.val
}

// NewView indexes s and evaluates every endpoint. s must be valid
// (snapshot.Load or Validate); NewView does not modify it.
func NewView(s *snapshot.Snapshot) *View {
	v := &View{
		Snapshot:     s,
		Eval:         secgroup.New(s),
		Groups:       make(map[string]*snapshot.SecurityGroup, len(s.SecurityGroups)),
		Pools:        make(map[string]*snapshot.NodePool, len(s.NodePools)),
		NodeByKey:    make(map[string]*snapshot.Node, 2*len(s.Nodes)),
		ENIByIP:      make(map[netip.Addr]ENIRef, len(s.Nodes)*2),
		ENIByID:      make(map[string]ENIRef, len(s.Nodes)),
		NodesByGroup: make(map[string][]*snapshot.Node),
		ByService:    make(map[string][]*Endpoint, len(s.Services)),
		Probes:       make(map[string][]*snapshot.Probe, len(s.Probes)),
	}
	for i := range s.SecurityGroups {
		g := &s.SecurityGroups[i]
		v.Groups[g.ID] = g
	}
	for i := range s.NodePools {
		p := &s.NodePools[i]
		v.Pools[p.ID] = p
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if n.Name != "" {
			v.NodeByKey[n.Name] = n
		}
		if n.InstanceID != "" {
			v.NodeByKey[n.InstanceID] = n
		}
		seen := map[string]bool{}
		for j := range n.ENIs {
			eni := &n.ENIs[j]
			ref := ENIRef{Node: n, ENI: eni}
			v.ENIByID[eni.ID] = ref
			for _, ip := range eni.IPs {
				if a, err := netip.ParseAddr(ip); err == nil {
					v.ENIByIP[a] = ref
				}
			}
			for _, p := range eni.Prefixes {
				if pf, err := netip.ParsePrefix(p); err == nil {
					v.prefixes = append(v.prefixes, prefixENI{pf.Masked(), ref})
				}
			}
			for _, g := range eni.SecurityGroupIDs {
				if !seen[g] {
					seen[g] = true
					v.NodesByGroup[g] = append(v.NodesByGroup[g], n)
				}
			}
		}
	}
	// Longest prefix first, so the most specific ENI prefix wins.
	sort.SliceStable(v.prefixes, func(i, j int) bool { return v.prefixes[i].prefix.Bits() > v.prefixes[j].prefix.Bits() })
	for i := range s.Probes {
		p := &s.Probes[i]
		v.Probes[p.Target] = append(v.Probes[p.Target], p)
	}
	total := 0
	for i := range s.Services {
		total += len(s.Services[i].Endpoints)
	}
	// One backing array for every endpoint: 100,000 endpoints are one
	// allocation, not 100,000.
	storage := make([]Endpoint, 0, total)
	v.Endpoints = make([]*Endpoint, 0, total)
	for i := range s.Services {
		svc := &s.Services[i]
		v.Services = append(v.Services, svc)
		key := svc.Key()
		if _, ok := v.ByService[key]; !ok {
			v.ByService[key] = nil
		}
		for j := range svc.Endpoints {
			storage = append(storage, Endpoint{})
			ep := &storage[len(storage)-1]
			v.resolveInto(ep, svc, key, &svc.Endpoints[j])
			v.Endpoints = append(v.Endpoints, ep)
			v.ByService[key] = append(v.ByService[key], ep)
		}
	}
	return v
}

// resolve finds the endpoint's ENI, evaluates it and joins the probe.
func (v *View) resolveInto(ep *Endpoint, svc *snapshot.Service, key string, se *snapshot.Endpoint) {
	*ep = Endpoint{Service: svc, ServiceKey: key, Endpoint: se}
	ep.Addr, _ = netip.ParseAddr(se.IP)
	ref, how, why := v.LocateIP(ep.Addr, se.Node)
	if ref.ENI != nil {
		ep.Node, ep.ENI, ep.Resolution = ref.Node, ref.ENI, how
		ep.GroupIDs = ref.ENI.SecurityGroupIDs
	} else {
		ep.Unresolved = why
		if n := v.NodeByKey[se.Node]; n != nil {
			ep.Node = n
		}
	}
	if ep.ENI != nil {
		proto := svc.Protocol
		if proto == "" {
			proto = snapshot.ProtocolTCP
		}
		ep.Decision = v.Eval.Evaluate(secgroup.Query{GroupIDs: ep.GroupIDs, Protocol: proto, Port: se.Port, Dest: ep.Addr})
		if why := v.otherVPC(ep); why != "" && ep.Decision.Verdict != secgroup.Deny {
			// The gateway sends inside its VPC; a rule (a CIDR rule, say)
			// that would let it in cannot route it to another VPC. The
			// snapshot models no peering or CEN path.
			ep.Decision = secgroup.Decision{Verdict: secgroup.Deny, Reason: secgroup.ReasonOtherVPC,
				Notes: append([]string{why + ": the gateway cannot reach it whatever the rules say (no peering or CEN path is modelled); the rules alone would give " + ep.Decision.Verdict.String()}, ep.Decision.Notes...)}
		}
	} else {
		ep.Decision = secgroup.Decision{Verdict: secgroup.Unknown, Reason: secgroup.ReasonUndecidable, Notes: []string{why}}
	}
	if ps := v.Probes[ep.Target()]; len(ps) > 0 {
		ep.Probe = newestProbe(ps)
	}
	ep.Health = endpointHealth(svc.HealthCheck, v.failingSet(svc.HealthCheck), ep.Target(), se.IsReady())
	join := JoinEvidence(ep.Decision.Verdict, ep.Probe, ep.Health)
	ep.Verdict, ep.ProbeVantageOnly, ep.HealthDecided = join.Verdict, join.VantageOnly, join.ByHealthCheck
	if n := v.NodeByKey[se.Node]; n != nil && n != ep.Node {
		ep.HostNode = n
	}
	ep.Kind = backendKind(svc, se, ep.Node, ep.HostNode)
}

// backendKind is the endpoint's stated kind, else what its instance, its
// Kubernetes node and its service source say.
func backendKind(svc *snapshot.Service, se *snapshot.Endpoint, instance, host *snapshot.Node) string {
	if se.Kind != "" {
		return se.Kind
	}
	for _, n := range []*snapshot.Node{instance, host} {
		if n == nil {
			continue
		}
		switch n.KindOf() {
		case snapshot.NodeKindECI, snapshot.NodeKindVirtual:
			return snapshot.BackendECI
		case snapshot.NodeKindACS:
			return snapshot.BackendACS
		}
	}
	if svc.Source != "" && svc.Source != snapshot.SourceK8s {
		return snapshot.BackendECS
	}
	return snapshot.BackendPod
}

// GatewayVPC is the gateway's VPC: its group's, else gateway.vpcId.
func (v *View) GatewayVPC() string {
	if g := v.Groups[v.Snapshot.Gateway.SecurityGroupID]; g != nil && g.VpcID != "" {
		return g.VpcID
	}
	return v.Snapshot.Gateway.VpcID
}

// otherVPC says why the endpoint is in another VPC than the gateway (its
// node, or a group on its ENI), "" when it is not or the data cannot tell.
func (v *View) otherVPC(ep *Endpoint) string {
	gw := v.GatewayVPC()
	if gw == "" {
		return ""
	}
	if ep.Node != nil && ep.Node.VpcID != "" && ep.Node.VpcID != gw {
		return "node " + NodeName(ep.Node) + " is in " + ep.Node.VpcID + ", the gateway in " + gw
	}
	for _, id := range ep.GroupIDs {
		if g := v.Groups[id]; g != nil && g.VpcID != "" && g.VpcID != gw {
			return "group " + id + " on the endpoint's ENI is in " + g.VpcID + ", the gateway in " + gw
		}
	}
	return ""
}

// failingSet indexes a health check's failing endpoints once, so a service
// with many endpoints and many failing ones is joined in linear time; short
// lists are scanned.
func (v *View) failingSet(h *snapshot.HealthCheck) map[string]bool {
	if h == nil || len(h.UnhealthyEndpoints) < 16 {
		return nil
	}
	if set, ok := v.failing[h]; ok {
		return set
	}
	set := make(map[string]bool, len(h.UnhealthyEndpoints))
	for _, u := range h.UnhealthyEndpoints {
		set[u] = true
	}
	if v.failing == nil {
		v.failing = map[*snapshot.HealthCheck]map[string]bool{}
	}
	v.failing[h] = set
	return set
}

// LocateIP finds the ENI carrying ip: the ENI holding the IP, else an ENI
// prefix containing it, else the primary ENI of node (a node name or instance
// id; Flannel routes pod CIDRs to the node). When none applies the ENIRef is
// empty and why says what is missing — the verdict is then unknown, never
// reachable.
func (v *View) LocateIP(ip netip.Addr, node string) (ref ENIRef, how, why string) {
	if r, ok := v.ENIByIP[ip]; ok {
		return r, ResolvedByIP, ""
	}
	for _, p := range v.prefixes {
		if p.prefix.Contains(ip) {
			return p.ref, ResolvedByPrefix, ""
		}
	}
	// Falling back to the node's primary ENI is only sound when every ENI was
	// read: the IP may sit on an ENI (a Terway pod ENI) whose lookup failed.
	for _, m := range v.Snapshot.Missing {
		if m.Part == snapshot.PartENIs {
			return ENIRef{}, "", fmt.Sprintf("no collected ENI holds %s, and some ENIs could not be read (%s): the one holding it may be among them", ip, m.Error)
		}
	}
	if node == "" {
		return ENIRef{}, "", fmt.Sprintf("no ENI holds %s and the endpoint names no node", ip)
	}
	n := v.NodeByKey[node]
	if n == nil {
		return ENIRef{}, "", fmt.Sprintf("no ENI holds %s and its node %q is not in the snapshot", ip, node)
	}
	if eni := PrimaryENI(n); eni != nil {
		return ENIRef{Node: n, ENI: eni}, ResolvedByNodePrimary, ""
	}
	return ENIRef{}, "", fmt.Sprintf("no ENI holds %s and node %s has no primary ENI in the snapshot", ip, NodeName(n))
}

// PrimaryENI is the node's ENI marked primary, or its only ENI; nil otherwise.
func PrimaryENI(n *snapshot.Node) *snapshot.ENI {
	for i := range n.ENIs {
		if n.ENIs[i].Primary {
			return &n.ENIs[i]
		}
	}
	if len(n.ENIs) == 1 {
		return &n.ENIs[0]
	}
	return nil
}

// NodeGroupIDs is every group on any of the node's ENIs, in order, once each.
func NodeGroupIDs(n *snapshot.Node) []string {
	var out []string
	seen := map[string]bool{}
	for _, eni := range n.ENIs {
		for _, g := range eni.SecurityGroupIDs {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	return out
}

func newestProbe(ps []*snapshot.Probe) *snapshot.Probe {
	best := ps[len(ps)-1]
	for _, p := range ps {
		// RFC 3339 timestamps in UTC compare as strings; unstated times keep list order.
		if p.At != "" && best.At != "" && p.At > best.At {
			best = p
		}
	}
	return best
}

// Missing reports whether the snapshot marks part (optionally for id) as not
// collected, and the recorded error.
func (v *View) Missing(part, id string) (bool, string) {
	for _, m := range v.Snapshot.Missing {
		if m.Part != part {
			continue
		}
		if len(m.IDs) == 0 {
			return true, m.Error
		}
		for _, x := range m.IDs {
			if x == id {
				return true, m.Error
			}
		}
	}
	return false, ""
}
