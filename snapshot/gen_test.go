package snapshot

import (
	"fmt"
	"net/netip"
)

// genSnapshot builds a valid snapshot of the given size: groups with
// rulesPerGroup rules each, nodes with one primary ENI holding the node IP
// and its pods' IPs, and services whose endpoints are spread over the pods.
func genSnapshot(groups, rulesPerGroup, nodes, services, endpointsPerService int) *Snapshot {
	s := &Snapshot{
		Version:    1,
		CapturedAt: "2026-11-28T10:00:00Z",
		Region:     "cn-hangzhou",
		Gateway: Gateway{
			ID: "gw-bench", Name: "bench", VpcID: "vpc-1", SecurityGroupID: "sg-0",
			Addresses: []string{"192.168.0.0/24"},
		},
	}
	for g := 0; g < groups; g++ {
		sg := SecurityGroup{ID: fmt.Sprintf("sg-%d", g), Name: fmt.Sprintf("group %d", g), Type: "normal", VpcID: "vpc-1", InnerAccessPolicy: "accept"}
		for r := 0; r < rulesPerGroup; r++ {
			rule := Rule{
				ID: fmt.Sprintf("sgr-%d-%d", g, r), Direction: "ingress", Policy: "accept", Priority: 1 + r%100,
				Protocol: "TCP", PortRange: fmt.Sprintf("%d/%d", 8000+r, 8000+r), Description: "mse gateway gw-bench",
			}
			if r%2 == 0 {
				rule.SourceGroupID = "sg-0"
			} else {
				rule.SourceCidr = "192.168.0.0/24"
			}
			sg.Rules = append(sg.Rules, rule)
		}
		s.SecurityGroups = append(s.SecurityGroups, sg)
		if g < 10 {
			s.Gateway.Authorizations = append(s.Gateway.Authorizations, Authorization{
				ID: fmt.Sprint(1000 + g), SecurityGroupID: sg.ID, PortRange: "8080/8080", Protocol: "TCP"})
			s.NodePools = append(s.NodePools, NodePool{ID: fmt.Sprintf("np-%d", g), Name: fmt.Sprintf("pool %d", g), SecurityGroupIDs: []string{sg.ID}})
		}
	}
	total := services * endpointsPerService
	podsPerNode := (total + nodes - 1) / nodes
	nodeIP := netip.MustParseAddr("10.0.0.0")
	podIP := netip.MustParseAddr("172.16.0.0")
	var pods []struct{ ip, node string }
	for n := 0; n < nodes; n++ {
		nodeIP = nodeIP.Next()
		name := fmt.Sprintf("cn-hangzhou.%s", nodeIP)
		eni := ENI{ID: fmt.Sprintf("eni-%d", n), Primary: true, IPs: []string{nodeIP.String()}, SecurityGroupIDs: []string{fmt.Sprintf("sg-%d", n%groups)}}
		for p := 0; p < podsPerNode; p++ {
			podIP = podIP.Next()
			eni.IPs = append(eni.IPs, podIP.String())
			pods = append(pods, struct{ ip, node string }{podIP.String(), name})
		}
		node := Node{Name: name, InstanceID: fmt.Sprintf("i-%d", n), NodePool: fmt.Sprintf("np-%d", n%10), VpcID: "vpc-1", ENIs: []ENI{eni}}
		if n%7 == 6 {
			// An ECI instance: its pods' endpoints name the virtual node.
			node = Node{InstanceID: fmt.Sprintf("eci-%d", n), Kind: NodeKindECI, VpcID: "vpc-1", ENIs: []ENI{eni}}
			for p := len(pods) - podsPerNode; p < len(pods); p++ {
				pods[p].node = "virtual-kubelet-cn-hangzhou-h"
			}
		}
		s.Nodes = append(s.Nodes, node)
	}
	if nodes >= 7 {
		s.Nodes = append(s.Nodes, Node{Name: "virtual-kubelet-cn-hangzhou-h", Kind: NodeKindVirtual})
		s.Cluster = &Cluster{ID: "c-bench", SecurityGroupID: "sg-1", ECIProfileSecurityGroupID: "sg-2"}
	}
	ready := true
	for v := 0; v < services; v++ {
		svc := Service{Name: fmt.Sprintf("svc-%d", v), Namespace: "shop", Source: "k8s", Protocol: "TCP"}
		for e := 0; e < endpointsPerService; e++ {
			pod := pods[v*endpointsPerService+e]
			ep := Endpoint{IP: pod.ip, Port: 8080, Pod: fmt.Sprintf("svc-%d-%d", v, e), Node: pod.node, Ready: &ready}
			if pod.node == "virtual-kubelet-cn-hangzhou-h" {
				ep.Kind = BackendECI
				if e%2 == 0 {
					ep.AnnotatedSecurityGroupIDs = []string{"sg-3"}
				}
			}
			svc.Endpoints = append(svc.Endpoints, ep)
		}
		s.Services = append(s.Services, svc)
	}
	return s
}

// large is the benchmark size: 100,000 endpoints, 5,000 nodes,
// 1,000 groups, 100,000 rules.
func largeSnapshot() *Snapshot { return genSnapshot(1000, 100, 5000, 1000, 100) }
