// Package gen builds large, deterministic, valid snapshots for benchmarks and
// load tests: an ACK-like cluster behind one MSE gateway, with node pools,
// Terway secondary ENIs holding pod IPs, Flannel-style nodes whose pods are
// routed to the node, and a realistic mix of security-group rules.
package gen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Config sizes the generated snapshot. Groups counts every security group,
// the gateway's included; Rules counts the backend groups' rules (the
// gateway group's few egress rules come on top).
type Config struct {
	Endpoints int
	Nodes     int
	Groups    int
	Rules     int
	Services  int
	Seed      int64
	// BroadRules adds that many unrelated broad accepts that contain the
	// gateway's addresses without targeting it — SSH from the VPC CIDR,
	// HTTPS or a service port from anywhere — spread over the backend
	// groups (after everything else, so 0 leaves the snapshot unchanged).
	// Causes must never be derived from them (DESIGN.md §7).
	BroadRules int
}

// Default is the benchmark size of issue 2: 100,000 endpoints over 5,000
// nodes, 1,000 groups, 100,000 rules, 300 services.
func Default() Config {
	return Config{Endpoints: 100_000, Nodes: 5_000, Groups: 1_000, Rules: 100_000, Services: 300, Seed: 1}
}

// Fixed names the generated snapshot uses.
const (
	GatewayID    = "gw-bench"
	GatewayGroup = "sg-gw"
	VPC          = "vpc-bench"
	// GatewayCIDR is the gateway's vSwitch: its only address entry.
	GatewayCIDR = "192.168.0.0/24"
)

// Limits from ECS quotas the generator respects.
const (
	maxGroupsPerENI  = 5
	maxRulesPerGroup = 200
)

// servicePorts are the container ports services listen on.
var servicePorts = []int{8080, 8081, 8443, 9090, 3000, 5000, 8000, 8888, 9000, 9443,
	7001, 7002, 6443, 5601, 8500, 8761, 9411, 15010, 20880, 18080,
	80, 443, 8082, 8083, 8084, 8090, 8181, 9091, 9100, 10080}

var namespaces = []string{"default", "shop", "payments", "search", "users", "media", "ops", "data"}

type builder struct {
	cfg    Config
	rng    *rand.Rand
	s      *snapshot.Snapshot
	normal []string // backend group ids by type
	ent    []string
	ruleID int
}

// Large builds the snapshot for cfg. The same cfg always yields the same
// snapshot. Counts below 1 are raised to the minimum that makes sense
// (one node, one service, two groups).
func Large(cfg Config) *snapshot.Snapshot {
	cfg.Nodes = max(cfg.Nodes, 1)
	cfg.Services = max(cfg.Services, 1)
	cfg.Groups = max(cfg.Groups, 2)
	cfg.Endpoints = max(cfg.Endpoints, 0)
	cfg.Rules = max(cfg.Rules, 0)
	b := &builder{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		s: &snapshot.Snapshot{
			Version:    snapshot.Version,
			CapturedAt: "2026-11-28T10:00:00Z",
			Region:     "cn-hangzhou",
			Gateway: snapshot.Gateway{ID: GatewayID, Name: "bench-gateway", VpcID: VPC,
				SecurityGroupID: GatewayGroup, Addresses: []string{GatewayCIDR}},
		},
	}
	b.groups()
	b.rules()
	pools := b.pools()
	b.nodes(pools)
	b.services()
	b.authorizations()
	b.broadRules()
	return b.s
}

// VPCCIDR is the VPC's CIDR, which holds the gateway's vSwitch.
const VPCCIDR = "192.168.0.0/16"

// broadRules appends cfg.BroadRules unrelated broad accepts (see Config).
func (b *builder) broadRules() {
	backends := b.s.SecurityGroups[1:]
	for i := 0; i < b.cfg.BroadRules; i++ {
		g := &backends[b.rng.IntN(len(backends))]
		if len(g.Rules) >= maxRulesPerGroup {
			continue
		}
		r := snapshot.Rule{ID: b.nextRuleID(), Direction: snapshot.DirectionIngress, Policy: snapshot.PolicyAccept,
			Priority: 1 + b.rng.IntN(100), Protocol: snapshot.ProtocolTCP}
		switch b.rng.IntN(4) {
		case 0:
			r.PortRange, r.SourceCidr, r.Description = "22/22", VPCCIDR, "ssh from the VPC"
		case 1:
			r.PortRange, r.SourceCidr, r.Description = "443/443", "0.0.0.0/0", "public https"
		case 2:
			port := servicePorts[b.rng.IntN(len(servicePorts))]
			r.PortRange, r.SourceCidr, r.Description = fmt.Sprintf("%d/%d", port, port), "0.0.0.0/0", "open to the world"
		default:
			r.Protocol, r.PortRange, r.SourceCidr, r.Description = snapshot.ProtocolAll, "-1/-1", VPCCIDR, "everything from the VPC"
		}
		g.Rules = append(g.Rules, r)
	}
}

func (b *builder) nextRuleID() string {
	b.ruleID++
	return fmt.Sprintf("sgr-%07d", b.ruleID)
}

// groups creates the gateway group (normal, with egress rules) and the
// backend groups, one in twenty enterprise.
func (b *builder) groups() {
	gw := snapshot.SecurityGroup{ID: GatewayGroup, Name: "mse-gateway-managed", Type: snapshot.GroupTypeNormal,
		VpcID: VPC, InnerAccessPolicy: snapshot.PolicyAccept, ServiceManaged: true}
	gw.Rules = []snapshot.Rule{
		{ID: b.nextRuleID(), Direction: snapshot.DirectionEgress, Policy: snapshot.PolicyDrop, Priority: 1,
			Protocol: snapshot.ProtocolTCP, PortRange: "25/25", DestCidr: "0.0.0.0/0", Description: "no SMTP"},
		{ID: b.nextRuleID(), Direction: snapshot.DirectionEgress, Policy: snapshot.PolicyAccept, Priority: 100,
			Protocol: snapshot.ProtocolAll, PortRange: "-1/-1", DestCidr: "0.0.0.0/0", Description: "allow all outbound"},
	}
	b.s.SecurityGroups = append(b.s.SecurityGroups, gw)
	for i := 1; i < b.cfg.Groups; i++ {
		g := snapshot.SecurityGroup{ID: fmt.Sprintf("sg-%05d", i), Name: fmt.Sprintf("backend-%d", i), VpcID: VPC}
		if i%20 == 0 {
			g.Type = snapshot.GroupTypeEnterprise
			b.ent = append(b.ent, g.ID)
		} else {
			g.Type = snapshot.GroupTypeNormal
			g.InnerAccessPolicy = snapshot.PolicyAccept
			if i%7 == 0 {
				g.InnerAccessPolicy = snapshot.PolicyDrop
			}
			b.normal = append(b.normal, g.ID)
		}
		b.s.SecurityGroups = append(b.s.SecurityGroups, g)
	}
	if len(b.normal) == 0 { // tiny configs: keep one normal group
		g := &b.s.SecurityGroups[len(b.s.SecurityGroups)-1]
		g.Type, g.InnerAccessPolicy = snapshot.GroupTypeNormal, snapshot.PolicyAccept
		b.normal, b.ent = append(b.normal, g.ID), b.ent[:len(b.ent)-1]
	}
}

// rules spreads cfg.Rules over the backend groups (at most 200 a group) in
// a realistic mix, most-common first.
func (b *builder) rules() {
	backends := b.s.SecurityGroups[1:]
	n := min(b.cfg.Rules, len(backends)*maxRulesPerGroup)
	per := make([]int, len(backends))
	for i := 0; i < n; i++ {
		per[i%len(backends)]++
	}
	for gi := range backends {
		g := &backends[gi]
		ent := g.Type == snapshot.GroupTypeEnterprise
		for k := 0; k < per[gi]; k++ {
			g.Rules = append(g.Rules, b.rule(ent, k))
		}
	}
}

func (b *builder) rule(enterprise bool, k int) snapshot.Rule {
	r := snapshot.Rule{ID: b.nextRuleID(), Direction: snapshot.DirectionIngress, Policy: snapshot.PolicyAccept,
		Priority: 1, Protocol: snapshot.ProtocolTCP}
	port := servicePorts[b.rng.IntN(len(servicePorts))]
	single := strconv.Itoa(port) + "/" + strconv.Itoa(port)
	// The first rules of a group authorise the gateway for service ports;
	// the rest is the usual mix a long-lived account accumulates.
	roll := b.rng.IntN(100)
	if k < 3 {
		roll = 0
	}
	switch {
	case roll < 25: // gateway authorization on a service port
		r.PortRange = single
		if b.rng.IntN(10) == 0 {
			r.PortRange = fmt.Sprintf("%d/%d", port, port+10)
		}
		if enterprise {
			r.SourceCidr = GatewayCIDR
		} else {
			r.SourceGroupID = GatewayGroup
		}
		r.Description = "mse gateway " + GatewayID
	case roll < 30: // broad authorization
		r.PortRange = "1/65535"
		if enterprise {
			r.SourceCidr = GatewayCIDR
		} else {
			r.SourceGroupID = GatewayGroup
		}
	case roll < 45: // office / VPN CIDRs
		r.PortRange = single
		r.SourceCidr = fmt.Sprintf("10.%d.%d.0/24", 100+b.rng.IntN(100), b.rng.IntN(256))
	case roll < 55: // peer groups
		r.PortRange = single
		if enterprise {
			r.SourceCidr = "172.16.0.0/12"
		} else {
			r.SourceGroupID = b.normal[b.rng.IntN(len(b.normal))]
		}
	case roll < 62: // drops of risky ports for everybody
		r.Policy = snapshot.PolicyDrop
		r.Priority = 1 + b.rng.IntN(5)
		r.PortRange = []string{"22/22", "3306/3306", "6379/6379", "23/23"}[b.rng.IntN(4)]
		r.SourceCidr = "0.0.0.0/0"
	case roll < 66: // drops that hit a service port at a lower priority
		r.Policy = snapshot.PolicyDrop
		r.Priority = 50 + b.rng.IntN(50)
		r.PortRange = single
		r.SourceCidr = "0.0.0.0/0"
	case roll < 68: // a drop that shadows the gateway (rare, as in the FAQ)
		r.Policy = snapshot.PolicyDrop
		r.Priority = 1
		r.PortRange = single
		r.SourceCidr = "192.168.0.0/16"
	case roll < 76: // ALL, -1/-1 inside the cluster
		r.Protocol = snapshot.ProtocolAll
		r.PortRange = "-1/-1"
		r.Priority = 10
		r.SourceCidr = "172.16.0.0/12"
	case roll < 82: // legacy defaults
		r.Priority = 110
		if b.rng.IntN(2) == 0 {
			r.Protocol, r.PortRange = snapshot.ProtocolICMP, "-1/-1"
		} else {
			r.PortRange = "22/22"
		}
		r.SourceCidr = "0.0.0.0/0"
	case roll < 88: // NodePort range from the SLB
		r.PortRange = "30000/32767"
		r.Priority = 100
		r.SourceCidr = "100.64.0.0/10"
	case roll < 90: // half of the gateway vSwitch: undecidable verdicts
		r.PortRange = single
		r.SourceCidr = "192.168.0.0/25"
		if b.rng.IntN(2) == 0 {
			r.Policy = snapshot.PolicyDrop
		} else {
			r.Priority = 90
		}
	case roll < 91: // prefix list (unexpanded)
		r.PortRange = single
		r.Priority = 95
		r.SourcePrefixListID = fmt.Sprintf("pl-%04d", b.rng.IntN(50))
	case roll < 95:
		r.Protocol = snapshot.ProtocolUDP
		r.PortRange = "53/53"
		r.SourceCidr = "172.16.0.0/12"
	default:
		lo := 1024 + b.rng.IntN(60000)
		r.PortRange = fmt.Sprintf("%d/%d", lo, lo+b.rng.IntN(200))
		r.Priority = 1 + b.rng.IntN(100)
		r.SourceCidr = fmt.Sprintf("10.%d.0.0/16", b.rng.IntN(256))
	}
	return r
}

// pools creates node pools, each with one to three groups of one type.
func (b *builder) pools() []snapshot.NodePool {
	n := max(1, b.cfg.Nodes/20)
	pools := make([]snapshot.NodePool, n)
	for i := range pools {
		pools[i] = snapshot.NodePool{ID: fmt.Sprintf("np-%04d", i), Name: fmt.Sprintf("pool-%d", i),
			SecurityGroupIDs: b.groupSet(i%10 == 9, 1+b.rng.IntN(3))}
	}
	b.s.NodePools = pools
	return pools
}

// groupSet picks k distinct groups of one type.
func (b *builder) groupSet(enterprise bool, k int) []string {
	from := b.normal
	if enterprise && len(b.ent) > 0 {
		from = b.ent
	}
	k = min(k, len(from), maxGroupsPerENI)
	out := make([]string, 0, k)
	for len(out) < k {
		id := from[b.rng.IntN(len(from))]
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func ipFrom(base netip.Addr, offset int) netip.Addr {
	a := base.As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(offset)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

var (
	nodeBase = netip.MustParseAddr("10.0.0.10")
	podBase  = netip.MustParseAddr("172.16.0.10")
	eniBase  = netip.MustParseAddr("10.128.0.10") // secondary ENIs' own addresses
)

// nodes creates the instances: two in five are Terway nodes with one or two
// secondary ENIs (some with their own groups, of the node's type); the rest
// route their pod CIDR to the primary ENI (Flannel).
func (b *builder) nodes(pools []snapshot.NodePool) {
	b.s.Nodes = make([]snapshot.Node, b.cfg.Nodes)
	eni := 0
	for i := range b.s.Nodes {
		pool := &pools[b.rng.IntN(len(pools))]
		ip := ipFrom(nodeBase, i).String()
		groups := pool.SecurityGroupIDs
		enterprise := b.isEnterprise(groups[0])
		if b.rng.IntN(20) == 0 { // drift: a node whose groups differ from its pool's
			groups = b.groupSet(enterprise, 1+b.rng.IntN(2))
		}
		n := snapshot.Node{Name: "cn-hangzhou." + ip, InstanceID: fmt.Sprintf("i-bench%06d", i), NodePool: pool.ID, VpcID: VPC}
		eni++
		n.ENIs = append(n.ENIs, snapshot.ENI{ID: fmt.Sprintf("eni-%07d", eni), Primary: true, IPs: []string{ip}, SecurityGroupIDs: groups})
		if i%5 < 2 {
			for k := 0; k < 1+b.rng.IntN(2); k++ {
				sec := groups
				if b.rng.IntN(3) == 0 {
					sec = b.groupSet(enterprise, 1+b.rng.IntN(2))
				}
				eni++
				n.ENIs = append(n.ENIs, snapshot.ENI{ID: fmt.Sprintf("eni-%07d", eni),
					IPs: []string{ipFrom(eniBase, eni).String()}, SecurityGroupIDs: sec})
			}
		}
		b.s.Nodes[i] = n
	}
}

func (b *builder) isEnterprise(id string) bool { return slices.Contains(b.ent, id) }

// services spreads the endpoints over the services. Kubernetes services get
// a fresh pod IP per endpoint (on a secondary ENI of a Terway node, or routed
// to a Flannel node); one service in twenty is plain ECS, dialling node IPs.
func (b *builder) services() {
	per := make([]int, b.cfg.Services)
	for i := 0; i < b.cfg.Endpoints; i++ {
		per[i%b.cfg.Services]++
	}
	b.s.Services = make([]snapshot.Service, b.cfg.Services)
	pod := 0
	notReady := false
	for si := range b.s.Services {
		svc := snapshot.Service{Name: fmt.Sprintf("svc-%04d", si), Namespace: namespaces[si%len(namespaces)],
			Source: snapshot.SourceK8s, Protocol: snapshot.ProtocolTCP}
		port := servicePorts[b.rng.IntN(len(servicePorts))]
		ecs := si%20 == 19
		if ecs {
			svc.Source, svc.Namespace = snapshot.SourceECS, ""
		}
		svc.Endpoints = make([]snapshot.Endpoint, per[si])
		start := b.rng.IntN(len(b.s.Nodes))
		for k := range svc.Endpoints {
			ep := &svc.Endpoints[k]
			ep.Port = port
			if ecs {
				// Distinct nodes while they last; beyond that, distinct ports.
				node := &b.s.Nodes[(start+k)%len(b.s.Nodes)]
				ep.IP = node.ENIs[0].IPs[0]
				ep.Port = port + k/len(b.s.Nodes)
				ep.Node = node.InstanceID
				continue
			}
			node := &b.s.Nodes[b.rng.IntN(len(b.s.Nodes))]
			ep.IP = ipFrom(podBase, pod).String()
			ep.Pod = fmt.Sprintf("%s-%d", svc.Name, k)
			ep.Node = node.Name
			pod++
			if len(node.ENIs) > 1 {
				e := &node.ENIs[1+b.rng.IntN(len(node.ENIs)-1)]
				e.IPs = append(e.IPs, ep.IP)
			}
			if b.rng.IntN(50) == 0 {
				ep.Ready = &notReady
			}
		}
		b.s.Services[si] = svc
	}
}

// authorizations mirror most gateway-sourced accepts of normal groups, as the
// MSE console creates them, plus a few stale ones for groups on no node.
func (b *builder) authorizations() {
	id := 1000
	for gi := range b.s.SecurityGroups[1:] {
		g := &b.s.SecurityGroups[1+gi]
		for _, r := range g.Rules {
			if r.SourceGroupID != GatewayGroup || r.Policy != snapshot.PolicyAccept || b.rng.IntN(10) == 0 {
				continue
			}
			id++
			b.s.Gateway.Authorizations = append(b.s.Gateway.Authorizations, snapshot.Authorization{
				ID: strconv.Itoa(id), SecurityGroupID: g.ID, PortRange: r.PortRange, Protocol: snapshot.ProtocolTCP,
				Description: "added by gwdoctor gen"})
		}
	}
}
