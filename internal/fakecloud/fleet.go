package fakecloud

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// FleetNodeGroup is the security group of every node of a Fleet.
const FleetNodeGroup = "sg-nodes"

// FleetGateway is the id of the i-th gateway of a Fleet.
func FleetGateway(i int) string { return fmt.Sprintf("gw-fleet-%02d", i) }

// FleetAuthorization is the id of the i-th gateway's authorization, and
// FleetRule the id of the inbound rule it created in FleetNodeGroup.
func FleetAuthorization(i int) string { return fmt.Sprint(1000 + i) }
func FleetRule(i int) string          { return fmt.Sprintf("sgr-auth-%02d", i) }

// Fleet is a healthy region of gateways MSE gateways sharing one ACK
// cluster: gateway i (FleetGateway(i)) has its own managed group sg-gw-i,
// one authorization of the node group for TCP 8080 (with the inbound rule
// it created), and one service fleet-i/app of endpoints ready pods on port
// 8080, spread over one node per 20 endpoints; every endpoint is reachable.
// Deleting an authorization with its rule (cascading delete) blocks that
// gateway's endpoints only.
func Fleet(gateways, endpoints int) (*Cloud, *Kube) {
	nodes := max(1, endpoints/20)
	nodeGroup := &Group{ID: FleetNodeGroup, Name: "ack-nodes", Type: "normal", VpcID: "vpc-fleet", InnerAccessPolicy: "Accept",
		Rules: []Permission{{SecurityGroupRuleId: "sgr-out", Direction: "egress", Policy: "Accept", Priority: "1", IpProtocol: "ALL", PortRange: "-1/-1", DestCidrIp: "0.0.0.0/0"}}}
	shared := &Cloud{
		VSwitches: map[string]string{"vsw-a": "192.168.0.0/24"}, ClusterID: "c-fleet",
		Groups: map[string]*Group{FleetNodeGroup: nodeGroup}, Instances: map[string]*Instance{}, ENIs: map[string]*ENI{},
		NodePools: []NodePool{{ID: "np-fleet", Name: "default", GroupIDs: []string{FleetNodeGroup}}},
	}
	k := &Kube{}
	nodeNames := make([]string, nodes)
	for n := range nodes {
		inst := fmt.Sprintf("i-fleet%05d", n)
		ip := fmt.Sprintf("192.168.%d.%d", 1+n/250, 1+n%250)
		shared.Instances[inst] = &Instance{ID: inst, VpcID: "vpc-fleet", PrivateIP: ip, GroupIDs: []string{FleetNodeGroup}, ENIIDs: []string{"eni-" + inst}}
		shared.ENIs["eni-"+inst] = &ENI{ID: "eni-" + inst, InstanceID: inst, Type: "Primary", VpcID: "vpc-fleet", IPs: []string{ip}, GroupIDs: []string{FleetNodeGroup}}
		nodeNames[n] = "cn-hangzhou." + ip
		k.Nodes = append(k.Nodes, node(nodeNames[n], "cn-hangzhou."+inst, "np-fleet", "c-fleet", ip))
	}
	var clouds []*Cloud
	for g := range gateways {
		gw := FleetGateway(g)
		gwGroup := fmt.Sprintf("sg-gw-%02d", g)
		shared.Groups[gwGroup] = &Group{ID: gwGroup, Name: "mse-" + gw, Type: "normal", VpcID: "vpc-fleet", InnerAccessPolicy: "Accept", ServiceManaged: true,
			Rules: []Permission{{SecurityGroupRuleId: "sgr-" + gwGroup + "-out", Direction: "egress", Policy: "Accept", Priority: "1", IpProtocol: "ALL", PortRange: "-1/-1", DestCidrIp: "0.0.0.0/0"}}}
		nodeGroup.Rules = append(nodeGroup.Rules, Permission{SecurityGroupRuleId: FleetRule(g), Direction: "ingress", Policy: "Accept", Priority: "1",
			IpProtocol: "TCP", PortRange: "8080/8080", SourceGroupId: gwGroup, NicType: "intranet", Description: "mse gateway " + gw})
		ns := fmt.Sprintf("fleet-%02d", g)
		c := &Cloud{GatewayID: gw, GatewayName: "fleet gateway " + fmt.Sprint(g), GatewayVpc: "vpc-fleet", GatewayGroup: gwGroup,
			GatewayVSwitches: []string{"vsw-a"}, ClusterID: "c-fleet",
			Authorizations: []Authorization{{Id: FleetAuthorization(g), SecurityGroupId: FleetNodeGroup, PortRange: "8080/8080", IpProtocol: "TCP", Description: "app"}},
			Services:       []GatewayService{{Name: "app", Namespace: ns, SourceType: "K8s", ServiceProtocol: "HTTP", ServicePort: 80, Ports: []int{80}, HealthStatus: "Healthy"}}}
		clouds = append(clouds, c)
		var eps []discoveryv1.Endpoint
		for e := range endpoints {
			n := e % nodes
			ip := fmt.Sprintf("10.%d.%d.%d", g, e/250, 1+e%250)
			eni := shared.ENIs[fmt.Sprintf("eni-i-fleet%05d", n)]
			eni.IPs = append(eni.IPs, ip)
			pn := fmt.Sprintf("app-%d", e)
			k.Pods = append(k.Pods, pod(ns, pn, nodeNames[n], ip, true, map[string]string{"app": "app"}, corev1.ContainerPort{Name: "http", ContainerPort: 8080}))
			ep := endpoint(ip, pn, nodeNames[n], true)
			ep.TargetRef.Namespace = ns
			eps = append(eps, ep)
		}
		k.Services = append(k.Services, service(ns, "app", map[string]string{"app": "app"}, corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}))
		for i := 0; i < len(eps); i += 100 {
			k.Slices = append(k.Slices, slice(ns, "app", fmt.Sprintf("app-%d", i/100), []discoveryv1.EndpointPort{port("http", 8080)}, eps[i:min(i+100, len(eps))]...))
		}
	}
	// The first gateway carries the shared resources; the others are listed
	// after it.
	first := clouds[0]
	first.Groups, first.Instances, first.ENIs, first.NodePools, first.VSwitches =
		shared.Groups, shared.Instances, shared.ENIs, shared.NodePools, shared.VSwitches
	first.MoreGateways = clouds[1:]
	return first, k
}
