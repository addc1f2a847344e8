package fakecloud

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Shop is a small account that exercises every join: a Terway secondary ENI
// with its own group, an enterprise group on a plain ECS backend, a prefix-mode ENI, a trunk member ENI that only a
// lookup by IP finds, a named targetPort, a Service without slices, a plain
// ECS backend, a DNS service, a stale authorization, and API case mixing.
// The gateway health-checks orders (failing the endpoint its groups block)
// and billing, not payments, and says nothing about legacy's check.
func Shop() (*Cloud, *Kube) {
	on, off := true, false
	c := &Cloud{
		GatewayID: "gw-3f9a", GatewayName: "prod-gateway", GatewayVpc: "vpc-prod", GatewayGroup: "sg-gw",
		VSwitches:        map[string]string{"vsw-a": "192.168.0.0/24", "vsw-b": "192.168.10.0/24", "vsw-nodes": "192.168.1.0/24"},
		VSwitchZones:     map[string]string{"vsw-a": "cn-hangzhou-h", "vsw-b": "cn-hangzhou-i", "vsw-nodes": "cn-hangzhou-h"},
		GatewayVSwitches: []string{"vsw-a", "vsw-b"},
		Authorizations: []Authorization{
			{Id: "1001", SecurityGroupId: "sg-nodes", PortRange: "8080/8080", IpProtocol: "tcp", Description: "orders"},
			{Id: "1002", SecurityGroupId: "sg-gone", PortRange: "1/65535", IpProtocol: "TCP"},
		},
		ClusterID: "c-prod",
		Services: []GatewayService{
			{Name: "orders", Namespace: "shop", SourceType: "K8s", ServiceProtocol: "HTTP", ServicePort: 80, Ports: []int{80},
				HealthCheck: &on, HealthStatus: "Unhealthy", UnhealthyEndpoints: []string{"172.20.1.10:8080"}},
			{Name: "payments", Namespace: "shop", SourceType: "K8S", ServiceProtocol: "GRPC", ServicePort: 9090, Ports: []int{9090}, HealthCheck: &off},
			{Name: "legacy", Namespace: "shop", SourceType: "k8s", ServiceProtocol: "HTTP", ServicePort: 80},
			{Name: "billing", SourceType: "VIP", ServiceProtocol: "HTTP", Ips: []string{"192.168.1.30:8443"}, HealthCheck: &on, HealthStatus: "Healthy"},
			{Name: "partner", SourceType: "DNS", ServiceProtocol: "HTTPS", Ips: []string{"api.partner.example:443"}},
		},
		Groups: map[string]*Group{
			"sg-gw": {ID: "sg-gw", Name: "mse-gw-3f9a", Type: "normal", VpcID: "vpc-prod", InnerAccessPolicy: "Accept", ServiceManaged: true,
				Rules: []Permission{{SecurityGroupRuleId: "sgr-gw-out", Direction: "egress", Policy: "Accept", Priority: "1", IpProtocol: "ALL", PortRange: "-1/-1", DestCidrIp: "0.0.0.0/0"}}},
			"sg-nodes": {ID: "sg-nodes", Name: "ack-nodes", Type: "normal", VpcID: "vpc-prod", InnerAccessPolicy: "Accept",
				Rules: []Permission{
					{SecurityGroupRuleId: "sgr-1", Direction: "ingress", Policy: "Accept", Priority: "1", IpProtocol: "TCP", PortRange: "8080/8080", SourceGroupId: "sg-gw", NicType: "intranet", Description: "mse gateway gw-3f9a"},
					{SecurityGroupRuleId: "sgr-2", Direction: "ingress", Policy: "Drop", Priority: "100", IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0"},
					{SecurityGroupRuleId: "sgr-3", Direction: "ingress", Policy: "accept", Priority: "110", IpProtocol: "icmp", PortRange: "-1/-1", SourceCidrIp: "0.0.0.0/0"},
					{SecurityGroupRuleId: "sgr-4", Direction: "ingress", Policy: "Accept", Priority: "5", IpProtocol: "TCP", PortRange: "443/443", SourcePrefixListId: "pl-office"},
					{SecurityGroupRuleId: "sgr-6", Direction: "ingress", Policy: "Accept", Priority: "2", IpProtocol: "TCP", PortRangeListId: "prl-web", SourceGroupId: "sg-gw"},
					{SecurityGroupRuleId: "sgr-5", Direction: "egress", Policy: "Accept", Priority: "1", IpProtocol: "ALL", PortRange: "-1/-1", DestCidrIp: "0.0.0.0/0"},
				}},
			"sg-pods": {ID: "sg-pods", Name: "terway-pods", Type: "Normal", VpcID: "vpc-prod", InnerAccessPolicy: "Drop",
				Rules: []Permission{{SecurityGroupRuleId: "sgr-p1", Direction: "ingress", Policy: "accept", Priority: "1", IpProtocol: "TCP", PortRange: "9090/9090", SourceCidrIp: "192.168.0.0/24"},
					// Fields the collector must carry into snapshot v1 (issue 11).
					{SecurityGroupRuleId: "sgr-p2", Direction: "ingress", Policy: "Accept", Priority: "5", IpProtocol: "TCP", PortRange: "9090/9090",
						Ipv6SourceCidrIp: "2001:db8:1::/64", Ipv6DestCidrIp: "2001:db8:9::/64", SourcePortRange: "1/1024"}}},
			"sg-extra": {ID: "sg-extra", Name: "gpu-extra", Type: "normal", VpcID: "vpc-prod", InnerAccessPolicy: "Drop",
				Rules: []Permission{{SecurityGroupRuleId: "sgr-x1", Direction: "egress", Policy: "Drop", Priority: "1", IpProtocol: "TCP", PortRange: "443/443", DestPrefixListId: "pl-blocked"},
					// A priority that is not a number: the collector must mark
					// the group's rules incomplete, never read it as 1.
					{SecurityGroupRuleId: "sgr-x2", Direction: "ingress", Policy: "Drop", Priority: "high", IpProtocol: "TCP", PortRange: "8080/8080", SourceGroupId: "sg-gw"},
				}},
			"sg-billing": {ID: "sg-billing", Name: "billing", Type: "Enterprise", VpcID: "vpc-prod", InnerAccessPolicy: "Drop",
				Rules: []Permission{{SecurityGroupRuleId: "sgr-b1", Direction: "ingress", Policy: "Accept", Priority: "1", IpProtocol: "TCP", PortRange: "8443/8443", SourceCidrIp: "192.168.0.0/24"}}},
		},
		Instances: map[string]*Instance{
			"i-node1": {ID: "i-node1", Name: "node1", VpcID: "vpc-prod", PrivateIP: "192.168.1.10", GroupIDs: []string{"sg-nodes"}, ENIIDs: []string{"eni-1", "eni-1b"}},
			"i-node2": {ID: "i-node2", Name: "node2", VpcID: "vpc-prod", PrivateIP: "192.168.1.20", GroupIDs: []string{"sg-nodes", "sg-extra"}, ENIIDs: []string{"eni-2"}},
			"i-ecs1":  {ID: "i-ecs1", Name: "billing-vm", VpcID: "vpc-prod", PrivateIP: "192.168.1.30", GroupIDs: []string{"sg-billing"}, ENIIDs: []string{"eni-3"}},
		},
		ENIs: map[string]*ENI{
			"eni-1":      {ID: "eni-1", InstanceID: "i-node1", Type: "Primary", VpcID: "vpc-prod", IPs: []string{"192.168.1.10"}, GroupIDs: []string{"sg-nodes"}},
			"eni-1b":     {ID: "eni-1b", InstanceID: "i-node1", Type: "Secondary", VpcID: "vpc-prod", IPs: []string{"192.168.1.11", "172.20.1.10", "172.20.1.11"}, GroupIDs: []string{"sg-pods"}},
			"eni-2":      {ID: "eni-2", InstanceID: "i-node2", Type: "Primary", VpcID: "vpc-prod", IPs: []string{"192.168.1.20"}, Prefixes: []string{"172.20.2.0/28"}, GroupIDs: []string{"sg-nodes", "sg-extra"}},
			"eni-3":      {ID: "eni-3", InstanceID: "i-ecs1", Type: "Primary", VpcID: "vpc-prod", IPs: []string{"192.168.1.30"}, GroupIDs: []string{"sg-billing"}},
			"eni-member": {ID: "eni-member", Type: "Member", VpcID: "vpc-prod", IPs: []string{"172.20.3.5"}, GroupIDs: []string{"sg-pods"}},
		},
		NodePools: []NodePool{{ID: "np-default", Name: "default", GroupIDs: []string{"sg-nodes"}}, {ID: "np-gpu", Name: "gpu", GroupIDs: []string{"sg-nodes", "sg-extra"}}},
	}
	k := &Kube{
		Nodes: []corev1.Node{
			node("cn-hangzhou.192.168.1.10", "cn-hangzhou.i-node1", "np-default", "c-prod", "192.168.1.10"),
			node("cn-hangzhou.192.168.1.20", "alicloud://cn-hangzhou.i-node2", "np-gpu", "c-prod", "192.168.1.20"),
		},
		Pods: []corev1.Pod{
			pod("shop", "orders-a", "cn-hangzhou.192.168.1.10", "172.20.1.10", true, map[string]string{"app": "orders"}, corev1.ContainerPort{Name: "http", ContainerPort: 8080}),
			pod("shop", "orders-b", "cn-hangzhou.192.168.1.20", "172.20.2.5", false, map[string]string{"app": "orders"}, corev1.ContainerPort{Name: "http", ContainerPort: 8080}),
			pod("shop", "payments-x", "cn-hangzhou.192.168.1.20", "172.20.3.5", true, map[string]string{"app": "payments"}, corev1.ContainerPort{ContainerPort: 9090}),
			pod("shop", "legacy-1", "cn-hangzhou.192.168.1.10", "172.20.1.11", true, map[string]string{"app": "legacy"}, corev1.ContainerPort{Name: "api", ContainerPort: 7000}),
			pod("other", "unrelated", "cn-hangzhou.192.168.1.10", "172.20.1.99", true, map[string]string{"app": "x"}),
		},
		Services: []corev1.Service{
			service("shop", "orders", map[string]string{"app": "orders"}, corev1.ServicePort{Name: "web", Port: 80, TargetPort: intstr.FromString("http")},
				corev1.ServicePort{Name: "metrics", Port: 9100, TargetPort: intstr.FromInt32(9100)}),
			service("shop", "payments", map[string]string{"app": "payments"}, corev1.ServicePort{Port: 9090, TargetPort: intstr.FromInt32(9090)}),
			service("shop", "legacy", map[string]string{"app": "legacy"}, corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("api")}),
		},
		Slices: []discoveryv1.EndpointSlice{
			slice("shop", "orders", "orders-abc", []discoveryv1.EndpointPort{port("web", 8080), port("metrics", 9100)},
				endpoint("172.20.1.10", "orders-a", "cn-hangzhou.192.168.1.10", true), endpoint("172.20.2.5", "orders-b", "cn-hangzhou.192.168.1.20", false)),
			slice("shop", "payments", "payments-xyz", []discoveryv1.EndpointPort{port("", 9090)},
				endpoint("172.20.3.5", "payments-x", "cn-hangzhou.192.168.1.20", true)),
		},
	}
	return c, k
}

func node(name, providerID, pool, cluster, ip string) corev1.Node {
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"alibabacloud.com/nodepool-id": pool, "ack.aliyun.com": cluster}},
		Spec:       corev1.NodeSpec{ProviderID: providerID},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
}

func pod(ns, name, nodeName, ip string, ready bool, labels map[string]string, ports ...corev1.ContainerPort) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "app", Image: "app:1", Ports: ports}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

func service(ns, name string, selector map[string]string, ports ...corev1.ServicePort) corev1.Service {
	for i := range ports {
		ports[i].Protocol = corev1.ProtocolTCP
	}
	return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: ports, ClusterIP: "10.96.0.10", Type: corev1.ServiceTypeClusterIP}}
}

func port(name string, p int32) discoveryv1.EndpointPort {
	tcp := corev1.ProtocolTCP
	return discoveryv1.EndpointPort{Name: &name, Port: &p, Protocol: &tcp}
}

func endpoint(ip, podName, nodeName string, ready bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		NodeName: &nodeName, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: podName}}
}

func slice(ns, svc, name string, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
	return discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4, Ports: ports, Endpoints: eps,
	}
}

// Generate builds an account of nodes ACK nodes (one ENI each, every tenth
// with a secondary pod ENI), groups security groups of 20 rules each spread
// over the nodes, and one service with two pods per node.
func Generate(nodes, groups int) (*Cloud, *Kube) {
	c := &Cloud{GatewayID: "gw-bench", GatewayName: "bench", GatewayVpc: "vpc-bench", GatewayGroup: "sg-gw",
		VSwitches: map[string]string{"vsw-a": "192.168.0.0/24"}, GatewayVSwitches: []string{"vsw-a"}, ClusterID: "c-bench",
		Groups: map[string]*Group{}, Instances: map[string]*Instance{}, ENIs: map[string]*ENI{}}
	k := &Kube{}
	c.Groups["sg-gw"] = &Group{ID: "sg-gw", Type: "normal", VpcID: "vpc-bench", InnerAccessPolicy: "Accept", ServiceManaged: true}
	for g := range groups {
		id := fmt.Sprintf("sg-%04d", g)
		grp := &Group{ID: id, Name: id, Type: "normal", VpcID: "vpc-bench", InnerAccessPolicy: "Accept"}
		for r := range 20 {
			grp.Rules = append(grp.Rules, Permission{SecurityGroupRuleId: fmt.Sprintf("sgr-%d-%d", g, r), Direction: "ingress", Policy: "Accept",
				Priority: "1", IpProtocol: "TCP", PortRange: fmt.Sprintf("%d/%d", 8000+r, 8000+r), SourceGroupId: "sg-gw"})
		}
		c.Groups[id] = grp
		if g < 10 {
			c.Authorizations = append(c.Authorizations, Authorization{Id: fmt.Sprint(1000 + g), SecurityGroupId: id, PortRange: "8080/8080", IpProtocol: "TCP"})
		}
	}
	c.NodePools = []NodePool{{ID: "np-1", Name: "default", GroupIDs: []string{"sg-0000"}}}
	var eps []discoveryv1.Endpoint
	for n := range nodes {
		inst := fmt.Sprintf("i-%06d", n)
		ip := fmt.Sprintf("192.168.%d.%d", 1+n/250, 1+n%250)
		grp := fmt.Sprintf("sg-%04d", n%max(groups, 1))
		in := &Instance{ID: inst, VpcID: "vpc-bench", PrivateIP: ip, GroupIDs: []string{grp}, ENIIDs: []string{"eni-" + inst}}
		c.ENIs["eni-"+inst] = &ENI{ID: "eni-" + inst, InstanceID: inst, Type: "Primary", VpcID: "vpc-bench", IPs: []string{ip}, GroupIDs: []string{grp}}
		podIPs := []string{fmt.Sprintf("172.16.%d.%d", n/125, 2*(n%125)+1), fmt.Sprintf("172.16.%d.%d", n/125, 2*(n%125)+2)}
		if n%10 == 0 {
			sec := "eni-" + inst + "-pods"
			c.ENIs[sec] = &ENI{ID: sec, InstanceID: inst, Type: "Secondary", VpcID: "vpc-bench", IPs: append([]string{fmt.Sprintf("10.1.%d.%d", n/250, n%250)}, podIPs...), GroupIDs: []string{grp}}
			in.ENIIDs = append(in.ENIIDs, sec)
		} else {
			c.ENIs["eni-"+inst].IPs = append(c.ENIs["eni-"+inst].IPs, podIPs...)
		}
		c.Instances[inst] = in
		name := "cn-hangzhou." + ip
		k.Nodes = append(k.Nodes, node(name, "cn-hangzhou."+inst, "np-1", "c-bench", ip))
		for i, pip := range podIPs {
			pn := fmt.Sprintf("web-%d-%d", n, i)
			k.Pods = append(k.Pods, pod("web", pn, name, pip, true, map[string]string{"app": "web"}, corev1.ContainerPort{Name: "http", ContainerPort: 8080}))
			eps = append(eps, endpoint(pip, pn, name, true))
		}
	}
	k.Services = []corev1.Service{service("web", "web", map[string]string{"app": "web"}, corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http")})}
	for i := 0; i < len(eps); i += 100 {
		k.Slices = append(k.Slices, slice("web", "web", fmt.Sprintf("web-%d", i/100), []discoveryv1.EndpointPort{port("http", 8080)}, eps[i:min(i+100, len(eps))]...))
	}
	c.Services = []GatewayService{{Name: "web", Namespace: "web", SourceType: "K8s", ServiceProtocol: "HTTP", ServicePort: 80}}
	return c, k
}

// Serverless is an ACK cluster with a node pool and a virtual node: the
// service orders has a pod on an ECS node (reachable), an ECI pod whose
// annotation k8s.aliyun.com/eci-security-group names sg-eci (not authorized:
// blocked), and an ECI pod that names no group and got the old default
// sg-nodes (reachable) — while kube-system/eci-profile now names sg-eci-new,
// which is not authorized (new ECI pods will be unreachable). The ECI pods'
// ENIs belong to eci-… instances that only a lookup by IP finds.
func Serverless() (*Cloud, *Kube) {
	c := &Cloud{
		GatewayID: "gw-sls", GatewayName: "serverless-gateway", GatewayVpc: "vpc-prod", GatewayGroup: "sg-gw",
		VSwitches:        map[string]string{"vsw-a": "192.168.0.0/24"},
		GatewayVSwitches: []string{"vsw-a"},
		Authorizations:   []Authorization{{Id: "2001", SecurityGroupId: "sg-nodes", PortRange: "8080/8080", IpProtocol: "TCP"}},
		ClusterID:        "c-mixed",
		ClusterGroup:     "sg-nodes",
		Services: []GatewayService{
			{Name: "orders", Namespace: "shop", SourceType: "K8S", ServiceProtocol: "HTTP", ServicePort: 80, Ports: []int{80}},
		},
		Groups: map[string]*Group{
			"sg-gw": {ID: "sg-gw", Name: "mse-gw-sls", Type: "normal", VpcID: "vpc-prod", InnerAccessPolicy: "Accept", ServiceManaged: true},
			"sg-nodes": {ID: "sg-nodes", Name: "ack-nodes", Type: "normal", VpcID: "vpc-prod", InnerAccessPolicy: "Accept",
				Rules: []Permission{{SecurityGroupRuleId: "sgr-n1", Direction: "ingress", Policy: "Accept", Priority: "1", IpProtocol: "TCP", PortRange: "8080/8080", SourceGroupId: "sg-gw", NicType: "intranet"}}},
			"sg-eci":     {ID: "sg-eci", Name: "eci-orders", Type: "normal", VpcID: "vpc-prod", InnerAccessPolicy: "Accept"},
			"sg-eci-new": {ID: "sg-eci-new", Name: "eci-default-2026", Type: "normal", VpcID: "vpc-prod", InnerAccessPolicy: "Accept"},
		},
		Instances: map[string]*Instance{
			"i-node1": {ID: "i-node1", Name: "node1", VpcID: "vpc-prod", PrivateIP: "192.168.1.10", GroupIDs: []string{"sg-nodes"}, ENIIDs: []string{"eni-1"}},
		},
		ENIs: map[string]*ENI{
			"eni-1":    {ID: "eni-1", InstanceID: "i-node1", Type: "Primary", VpcID: "vpc-prod", IPs: []string{"192.168.1.10", "172.20.1.10"}, GroupIDs: []string{"sg-nodes"}},
			"eni-eci1": {ID: "eni-eci1", InstanceID: "eci-2ze1", Type: "Primary", VpcID: "vpc-prod", IPs: []string{"172.20.5.7"}, GroupIDs: []string{"sg-eci"}},
			"eni-eci2": {ID: "eni-eci2", InstanceID: "eci-2ze2", Type: "Primary", VpcID: "vpc-prod", IPs: []string{"172.20.5.8"}, GroupIDs: []string{"sg-nodes"}},
		},
		NodePools: []NodePool{{ID: "np-default", Name: "default", GroupIDs: []string{"sg-nodes"}}},
	}
	vk := node("virtual-kubelet-cn-hangzhou-h", "", "", "c-mixed", "192.168.1.200")
	vk.Labels["type"] = "virtual-kubelet"
	delete(vk.Labels, "alibabacloud.com/nodepool-id")
	vk.Spec.Taints = []corev1.Taint{{Key: "virtual-kubelet.io/provider", Value: "alibabacloud", Effect: corev1.TaintEffectNoSchedule}}
	http := corev1.ContainerPort{Name: "http", ContainerPort: 8080}
	annotated := pod("shop", "orders-eci-1", vk.Name, "172.20.5.7", true, map[string]string{"app": "orders"}, http)
	annotated.Annotations = map[string]string{"k8s.aliyun.com/eci-security-group": "sg-eci", "k8s.aliyun.com/eci-instance-id": "eci-2ze1"}
	defaulted := pod("shop", "orders-eci-2", vk.Name, "172.20.5.8", true, map[string]string{"app": "orders"}, http)
	defaulted.Annotations = map[string]string{"k8s.aliyun.com/eci-instance-id": "eci-2ze2"}
	k := &Kube{
		Nodes: []corev1.Node{node("cn-hangzhou.192.168.1.10", "cn-hangzhou.i-node1", "np-default", "c-mixed", "192.168.1.10"), vk},
		Pods: []corev1.Pod{
			pod("shop", "orders-node", "cn-hangzhou.192.168.1.10", "172.20.1.10", true, map[string]string{"app": "orders"}, http),
			annotated, defaulted,
		},
		Services: []corev1.Service{
			service("shop", "orders", map[string]string{"app": "orders"}, corev1.ServicePort{Name: "web", Port: 80, TargetPort: intstr.FromString("http")}),
		},
		Slices: []discoveryv1.EndpointSlice{
			slice("shop", "orders", "orders-sls", []discoveryv1.EndpointPort{port("web", 8080)},
				endpoint("172.20.1.10", "orders-node", "cn-hangzhou.192.168.1.10", true),
				endpoint("172.20.5.7", "orders-eci-1", vk.Name, true),
				endpoint("172.20.5.8", "orders-eci-2", vk.Name, true)),
		},
		ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "eci-profile"},
			Data: map[string]string{"securityGroupId": "sg-eci-new", "vSwitchIds": "vsw-a", "vpcId": "vpc-prod", "selectors": ""}}},
	}
	return c, k
}
