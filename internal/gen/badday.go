package gen

import (
	"fmt"
	"math/rand/v2"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// BadDayConfig sizes BadDay's estate (issue 12's shape). Healthy turns the
// bad day off: every group authorized, no drop, every port in range, every
// endpoint ready — the all-healthy estate of the same size.
type BadDayConfig struct {
	Endpoints int // spread evenly over Services
	Services  int
	Nodes     int
	Groups    int // backend groups, one per node (nodes are spread round-robin)
	Rules     int // rules per backend group
	Healthy   bool
	Seed      int64
}

// BadDayDefault is issue 12's estate: 100,000 endpoints in 1,000 services
// over 5,000 nodes, 1,000 groups of 100 rules.
func BadDayDefault() BadDayConfig {
	return BadDayConfig{Endpoints: 100_000, Services: 1_000, Nodes: 5_000, Groups: 1_000, Rules: 100, Seed: 1}
}

// The bad day's authorized range and the drop that shadows part of it.
const (
	BadDayAuthorizedPorts = "8000/8999"
	BadDayDropPorts       = "8000/8099"
)

// BadDay builds a large estate having a bad day, deterministic per config:
//
//   - every node has one primary ENI in one normal group (node i in group
//     i mod Groups); pods are routed to the node (Flannel-style);
//   - half the groups (the even ones) are authorized on 8000/8999, each with
//     the rule MSE creates for the authorization, so half the nodes are in
//     unauthorized groups;
//   - every tenth group has a priority-1 drop on 8000/8099 from 0.0.0.0/0,
//     which shadows the authorization where both apply;
//   - every group has Rules rules in all, the rest unrelated traffic (SSH and
//     HTTPS from the VPC, app ports from a peered VPC, monitoring) that never lets the gateway in;
//   - one service in twelve listens on 9000+ (outside the authorized range);
//   - one endpoint in three runs on a node of an unauthorized group, the
//     others on authorized ones; 2 % of the endpoints are not ready.
//
// About a third of the endpoints are blocked: wrong node for most, then
// port changed / missing authorization for the services outside the range,
// then the shadowing drop.
func BadDay(cfg BadDayConfig) *snapshot.Snapshot {
	cfg.Services = max(cfg.Services, 1)
	cfg.Nodes = max(cfg.Nodes, 2)
	cfg.Groups = max(min(cfg.Groups, cfg.Nodes), 2)
	cfg.Rules = max(cfg.Rules, 3)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5bd1e995))
	s := &snapshot.Snapshot{
		Version:    snapshot.Version,
		CapturedAt: "2026-11-28T10:00:00Z",
		Region:     "cn-hangzhou",
		Gateway: snapshot.Gateway{ID: GatewayID, Name: "prod-gateway", VpcID: VPC,
			SecurityGroupID: GatewayGroup, Addresses: []string{GatewayCIDR}},
	}
	s.SecurityGroups = append(s.SecurityGroups, snapshot.SecurityGroup{ID: GatewayGroup, Name: "mse-gateway-managed",
		Type: snapshot.GroupTypeNormal, VpcID: VPC, InnerAccessPolicy: snapshot.PolicyAccept, ServiceManaged: true})
	authorized := func(g int) bool { return cfg.Healthy || g%2 == 0 }
	dropping := func(g int) bool { return !cfg.Healthy && g%10 == 9 }
	ruleNo := 0
	for g := 0; g < cfg.Groups; g++ {
		id := fmt.Sprintf("sg-%04d", g)
		sg := snapshot.SecurityGroup{ID: id, Name: fmt.Sprintf("nodes-%d", g), Type: snapshot.GroupTypeNormal,
			VpcID: VPC, InnerAccessPolicy: snapshot.PolicyAccept}
		add := func(r snapshot.Rule) {
			ruleNo++
			r.ID = fmt.Sprintf("sgr-%07d", ruleNo)
			r.Direction = snapshot.DirectionIngress
			r.Protocol = snapshot.ProtocolTCP
			sg.Rules = append(sg.Rules, r)
		}
		if authorized(g) {
			authID := fmt.Sprint(100000 + g)
			s.Gateway.Authorizations = append(s.Gateway.Authorizations, snapshot.Authorization{ID: authID,
				SecurityGroupID: id, PortRange: BadDayAuthorizedPorts, Protocol: snapshot.ProtocolTCP,
				Description: "mse gateway " + GatewayID})
			add(snapshot.Rule{Policy: snapshot.PolicyAccept, Priority: 1, PortRange: BadDayAuthorizedPorts,
				SourceGroupID: GatewayGroup, Description: "mse gateway " + GatewayID})
		}
		if dropping(g) {
			add(snapshot.Rule{Policy: snapshot.PolicyDrop, Priority: 1, PortRange: BadDayDropPorts,
				SourceCidr: "0.0.0.0/0", Description: "incident 4711: block the legacy admin ports"})
		}
		add(snapshot.Rule{Policy: snapshot.PolicyAccept, Priority: 10, PortRange: "22/22", SourceCidr: "10.0.0.0/8", Description: "ssh from the VPC"})
		add(snapshot.Rule{Policy: snapshot.PolicyAccept, Priority: 50, PortRange: "443/443", SourceCidr: "10.0.0.0/8", Description: "https from the VPC"})
		for len(sg.Rules) < cfg.Rules {
			if len(sg.Rules)%2 == 0 {
				port := 8000 + rng.IntN(1000)
				add(snapshot.Rule{Policy: snapshot.PolicyAccept, Priority: 1 + rng.IntN(100),
					PortRange: fmt.Sprintf("%d/%d", port, port), SourceCidr: fmt.Sprintf("172.%d.%d.0/24", 16+rng.IntN(16), rng.IntN(256)),
					Description: "app traffic from a peered VPC"})
				continue
			}
			port := 9100 + rng.IntN(900)
			add(snapshot.Rule{Policy: snapshot.PolicyAccept, Priority: 1 + rng.IntN(100),
				PortRange: fmt.Sprintf("%d/%d", port, port), SourceCidr: fmt.Sprintf("100.%d.%d.0/24", 64+rng.IntN(64), rng.IntN(256)),
				Description: "monitoring"})
		}
		s.SecurityGroups = append(s.SecurityGroups, sg)
	}
	// Nodes: node i in group i mod Groups; 50 nodes per pool.
	var authNodes, unauthNodes []int
	for i := 0; i < cfg.Nodes; i++ {
		g := i % cfg.Groups
		name := fmt.Sprintf("cn-hangzhou.10.%d.%d.%d", 1+i/65536, (i/256)%256, i%256)
		pool := fmt.Sprintf("np-%03d", i/50)
		if i%50 == 0 {
			s.NodePools = append(s.NodePools, snapshot.NodePool{ID: pool, Name: pool, SecurityGroupIDs: []string{fmt.Sprintf("sg-%04d", g)}})
		}
		s.Nodes = append(s.Nodes, snapshot.Node{Name: name, InstanceID: fmt.Sprintf("i-%07d", i), NodePool: pool, VpcID: VPC,
			ENIs: []snapshot.ENI{{ID: fmt.Sprintf("eni-%07d", i), Primary: true,
				IPs:              []string{fmt.Sprintf("10.%d.%d.%d", 1+i/65536, (i/256)%256, i%256)},
				SecurityGroupIDs: []string{fmt.Sprintf("sg-%04d", g)}}}})
		if authorized(g) {
			authNodes = append(authNodes, i)
		} else {
			unauthNodes = append(unauthNodes, i)
		}
	}
	notReady := false
	perService := cfg.Endpoints / cfg.Services
	extra := cfg.Endpoints % cfg.Services
	pod := 0
	for sv := 0; sv < cfg.Services; sv++ {
		name := fmt.Sprintf("svc-%04d", sv)
		port := 8000 + (sv*37)%1000
		if !cfg.Healthy && sv%12 == 11 {
			port = 9000 + sv%100 // outside the authorized range
		}
		svc := snapshot.Service{Name: name, Namespace: namespaces[sv%len(namespaces)], Source: snapshot.SourceK8s, Protocol: snapshot.ProtocolTCP}
		n := perService
		if sv < extra {
			n++
		}
		for j := 0; j < n; j++ {
			pool := authNodes
			if j%3 == 1 && len(unauthNodes) > 0 {
				pool = unauthNodes
			}
			node := pool[rng.IntN(len(pool))]
			ep := snapshot.Endpoint{
				IP:   fmt.Sprintf("172.%d.%d.%d", 16+pod/65536, (pod/256)%256, pod%256),
				Port: port,
				Pod:  fmt.Sprintf("%s-%05d", name, j),
				Node: s.Nodes[node].Name,
			}
			if !cfg.Healthy && pod%50 == 49 {
				ep.Ready = &notReady
			}
			pod++
			svc.Endpoints = append(svc.Endpoints, ep)
		}
		s.Services = append(s.Services, svc)
	}
	return s
}
