package gen

import (
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// checkValid applies the snapshot validation rules of DESIGN.md and issue 2
// that a generator can break: unique ids, references that resolve, valid
// port ranges / protocols / priorities / CIDRs / IPs, no ENI or node mixing
// group types, ECS quotas.
func checkValid(t *testing.T, s *snapshot.Snapshot) {
	t.Helper()
	fail := 0
	errorf := func(format string, args ...any) {
		if fail++; fail <= 20 {
			t.Errorf(format, args...)
		}
	}
	groups := map[string]*snapshot.SecurityGroup{}
	ruleIDs := map[string]bool{}
	for i := range s.SecurityGroups {
		g := &s.SecurityGroups[i]
		if groups[g.ID] != nil {
			errorf("duplicate group %s", g.ID)
		}
		groups[g.ID] = g
	}
	if groups[s.Gateway.SecurityGroupID] == nil {
		errorf("gateway group %s not defined", s.Gateway.SecurityGroupID)
	}
	for _, a := range s.Gateway.Addresses {
		if _, err := netip.ParsePrefix(a); err != nil {
			errorf("gateway address %q: %v", a, err)
		}
	}
	for _, g := range s.SecurityGroups {
		if g.Type != snapshot.GroupTypeNormal && g.Type != snapshot.GroupTypeEnterprise {
			errorf("group %s type %q", g.ID, g.Type)
		}
		if len(g.Rules) > 200 {
			errorf("group %s has %d rules (quota 200)", g.ID, len(g.Rules))
		}
		for _, r := range g.Rules {
			if r.ID == "" || ruleIDs[r.ID] {
				errorf("rule id %q empty or duplicate", r.ID)
			}
			ruleIDs[r.ID] = true
			pr, err := snapshot.ParsePortRange(r.PortRange)
			switch {
			case err != nil:
				errorf("rule %s port range: %v", r.ID, err)
			case pr.All != (r.Protocol == "ICMP" || r.Protocol == "GRE" || r.Protocol == "ALL"):
				errorf("rule %s: %s with %s", r.ID, r.Protocol, r.PortRange)
			}
			switch r.Protocol {
			case "TCP", "UDP", "ICMP", "GRE", "ALL":
			default:
				errorf("rule %s protocol %q", r.ID, r.Protocol)
			}
			if !(r.Priority >= 1 && r.Priority <= 100 || r.Priority == 110) {
				errorf("rule %s priority %d", r.ID, r.Priority)
			}
			if r.Policy != "accept" && r.Policy != "drop" || r.Direction != "ingress" && r.Direction != "egress" {
				errorf("rule %s policy %q direction %q", r.ID, r.Policy, r.Direction)
			}
			for _, c := range []string{r.SourceCidr, r.DestCidr} {
				if c != "" {
					if p, err := netip.ParsePrefix(c); err != nil || p.Masked() != p {
						errorf("rule %s CIDR %q: %v", r.ID, c, err)
					}
				}
			}
			if r.SourceGroupID != "" && r.SourceCidr != "" {
				errorf("rule %s has both a source group and a CIDR", r.ID)
			}
			for _, ref := range []string{r.SourceGroupID, r.DestGroupID} {
				if ref == "" {
					continue
				}
				peer := groups[ref]
				if peer == nil {
					errorf("rule %s references missing group %s", r.ID, ref)
				} else if g.Type == "enterprise" || peer.Type == "enterprise" {
					errorf("rule %s: group reference across enterprise group %s -> %s", r.ID, g.ID, ref)
				}
			}
			if r.Direction == "ingress" && r.SourceGroupID == "" && r.SourceCidr == "" && r.SourcePrefixListID == "" {
				errorf("ingress rule %s has no source", r.ID)
			}
		}
	}
	pools := map[string]bool{}
	for _, p := range s.NodePools {
		if pools[p.ID] {
			errorf("duplicate pool %s", p.ID)
		}
		pools[p.ID] = true
		checkGroups(errorf, groups, "pool "+p.ID, p.SecurityGroupIDs)
	}
	nodes := map[string]bool{}
	enis := map[string]bool{}
	ips := map[string]bool{}
	for _, n := range s.Nodes {
		if nodes[n.Name] || nodes[n.InstanceID] {
			errorf("duplicate node %s/%s", n.Name, n.InstanceID)
		}
		nodes[n.Name], nodes[n.InstanceID] = true, true
		if !pools[n.NodePool] {
			errorf("node %s pool %s missing", n.Name, n.NodePool)
		}
		var all []string
		primaries := 0
		for _, e := range n.ENIs {
			if enis[e.ID] {
				errorf("duplicate ENI %s", e.ID)
			}
			enis[e.ID] = true
			if e.Primary {
				primaries++
			}
			if len(e.IPs) == 0 {
				errorf("ENI %s has no IP", e.ID)
			}
			for _, ip := range e.IPs {
				if _, err := netip.ParseAddr(ip); err != nil || ips[ip] {
					errorf("ENI %s IP %q invalid or on two ENIs", e.ID, ip)
				}
				ips[ip] = true
			}
			checkGroups(errorf, groups, "ENI "+e.ID, e.SecurityGroupIDs)
			all = append(all, e.SecurityGroupIDs...)
		}
		if primaries != 1 {
			errorf("node %s has %d primary ENIs", n.Name, primaries)
		}
		checkTypes(errorf, groups, "node "+n.Name, all)
	}
	for _, a := range s.Gateway.Authorizations {
		if groups[a.SecurityGroupID] == nil {
			errorf("authorization %s names missing group %s", a.ID, a.SecurityGroupID)
		}
		if _, err := snapshot.ParsePortRange(a.PortRange); err != nil {
			errorf("authorization %s: %v", a.ID, err)
		}
	}
	for _, svc := range s.Services {
		seen := map[string]bool{}
		for _, ep := range svc.Endpoints {
			key := ep.IP + ":" + strconv.Itoa(ep.Port)
			if seen[key] {
				errorf("service %s endpoint %s:%d twice", svc.Key(), ep.IP, ep.Port)
			}
			seen[key] = true
			if _, err := netip.ParseAddr(ep.IP); err != nil || ep.Port < 1 || ep.Port > 65535 {
				errorf("service %s endpoint %q:%d invalid", svc.Key(), ep.IP, ep.Port)
			}
			if ep.Node != "" && !nodes[ep.Node] {
				errorf("service %s endpoint %s names missing node %s", svc.Key(), ep.IP, ep.Node)
			}
		}
	}
}

func checkGroups(errorf func(string, ...any), groups map[string]*snapshot.SecurityGroup, what string, ids []string) {
	if len(ids) == 0 || len(ids) > 5 {
		errorf("%s has %d groups", what, len(ids))
	}
	for _, id := range ids {
		if groups[id] == nil {
			errorf("%s names missing group %s", what, id)
		}
	}
	checkTypes(errorf, groups, what, ids)
}

func checkTypes(errorf func(string, ...any), groups map[string]*snapshot.SecurityGroup, what string, ids []string) {
	types := map[string]bool{}
	for _, id := range ids {
		if g := groups[id]; g != nil {
			types[g.Type] = true
		}
	}
	if len(types) > 1 {
		errorf("%s mixes normal and enterprise groups: %v", what, ids)
	}
}

func TestLargeDefaultIsValidAndSized(t *testing.T) {
	cfg := Default()
	if testing.Short() {
		cfg = Config{Endpoints: 10_000, Nodes: 500, Groups: 100, Rules: 10_000, Services: 30, Seed: 1}
	}
	s := Large(cfg)
	checkValid(t, s)
	if err := s.Validate(); err != nil {
		t.Fatalf("snapshot.Validate: %v", err)
	}
	endpoints, rules := 0, 0
	for _, svc := range s.Services {
		endpoints += len(svc.Endpoints)
	}
	for _, g := range s.SecurityGroups[1:] {
		rules += len(g.Rules)
	}
	if endpoints != cfg.Endpoints || len(s.Nodes) != cfg.Nodes || len(s.SecurityGroups) != cfg.Groups ||
		rules != cfg.Rules || len(s.Services) != cfg.Services {
		t.Errorf("sizes: %d endpoints, %d nodes, %d groups, %d rules, %d services; want %+v",
			endpoints, len(s.Nodes), len(s.SecurityGroups), rules, len(s.Services), cfg)
	}
	// The mix the benchmark relies on is present.
	var secondary, flannel, enterprise, legacy, all int
	onENI := map[string]bool{}
	for _, n := range s.Nodes {
		for _, e := range n.ENIs {
			if !e.Primary {
				secondary++
			}
			for _, ip := range e.IPs {
				onENI[ip] = true
			}
		}
	}
	for _, svc := range s.Services {
		for _, ep := range svc.Endpoints {
			if !onENI[ep.IP] {
				flannel++
			}
		}
	}
	for _, g := range s.SecurityGroups {
		if g.Type == "enterprise" {
			enterprise++
		}
		for _, r := range g.Rules {
			if r.Priority == 110 {
				legacy++
			}
			if r.Protocol == "ALL" && r.PortRange == "-1/-1" {
				all++
			}
		}
	}
	for what, n := range map[string]int{"secondary ENIs": secondary, "endpoints routed to a node": flannel,
		"enterprise groups": enterprise, "legacy rules": legacy, "ALL -1/-1 rules": all, "authorizations": len(s.Gateway.Authorizations)} {
		if n == 0 {
			t.Errorf("no %s generated", what)
		}
	}
}

func TestSmallConfigsAreValid(t *testing.T) {
	for _, cfg := range []Config{
		{Endpoints: 1, Nodes: 1, Groups: 2, Rules: 1, Services: 1},
		{Endpoints: 50, Nodes: 3, Groups: 25, Rules: 7, Services: 40, Seed: 3},
		{Endpoints: 0, Nodes: 0, Groups: 0, Rules: 0, Services: 0},
		{Endpoints: 500, Nodes: 10, Groups: 3, Rules: 1000, Services: 2, Seed: 9},
	} {
		s := Large(cfg)
		checkValid(t, s)
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: snapshot.Validate: %v", cfg, err)
		}
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Endpoints: 2000, Nodes: 100, Groups: 40, Rules: 2000, Services: 20, Seed: 42}
	a, b := Large(cfg), Large(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same config gave two different snapshots")
	}
	cfg.Seed++
	if reflect.DeepEqual(a, Large(cfg)) {
		t.Fatal("a different seed gave the same snapshot")
	}
	if !strings.HasPrefix(a.Nodes[0].Name, "cn-hangzhou.") {
		t.Fatalf("node name %q", a.Nodes[0].Name)
	}
}

func BenchmarkLarge(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Large(Default())
	}
}
