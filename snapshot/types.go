// Package snapshot is gwdoctor's data model: the snapshot format v1 that every
// source produces and every check reads (see DESIGN.md, "Snapshot format v1").
// It owns loading (YAML or JSON, strict, with file:line errors), validation,
// normalisation and saving. It imports nothing else from gwdoctor.
package snapshot

import "strings"

// Version is the only snapshot format version this package reads and writes.
const Version = 1

// Snapshot is everything gwdoctor knows about one gateway and its backends at
// one moment. Field names and JSON keys are the v1 contract: fields may be
// added, never renamed or removed.
type Snapshot struct {
	Version        int             `json:"version" yaml:"version"`
	CapturedAt     string          `json:"capturedAt,omitempty" yaml:"capturedAt,omitempty"`
	Region         string          `json:"region,omitempty" yaml:"region,omitempty"`
	Gateway        Gateway         `json:"gateway" yaml:"gateway"`
	SecurityGroups []SecurityGroup `json:"securityGroups,omitempty" yaml:"securityGroups,omitempty"`
	NodePools      []NodePool      `json:"nodePools,omitempty" yaml:"nodePools,omitempty"`
	Nodes          []Node          `json:"nodes,omitempty" yaml:"nodes,omitempty"`
	Services       []Service       `json:"services,omitempty" yaml:"services,omitempty"`
	Probes         []Probe         `json:"probes,omitempty" yaml:"probes,omitempty"`

	// Cluster is the ACK / ACS cluster the Kubernetes backends run in
	// (added in v1, optional).
	Cluster *Cluster `json:"cluster,omitempty" yaml:"cluster,omitempty"`

	// Missing lists the parts a live collection could not read (added in v1,
	// optional). A part listed here is unknown, not empty: checks that need it
	// are skipped and verdicts that depend on it are unknown.
	Missing []MissingPart `json:"missing,omitempty" yaml:"missing,omitempty"`
}

// ClusterID is the cluster's id, "" when the snapshot does not say.
func (s *Snapshot) ClusterID() string {
	if s.Cluster == nil {
		return ""
	}
	return s.Cluster.ID
}

// Gateway is the MSE cloud-native gateway and its security-group authorizations.
type Gateway struct {
	ID              string `json:"id" yaml:"id"`
	Name            string `json:"name,omitempty" yaml:"name,omitempty"`
	VpcID           string `json:"vpcId,omitempty" yaml:"vpcId,omitempty"`
	SecurityGroupID string `json:"securityGroupId" yaml:"securityGroupId"`
	// Addresses are where gateway traffic comes from: node IPs or vSwitch
	// CIDRs, as prefixes ("192.168.0.5" is read as 192.168.0.5/32).
	Addresses      []string        `json:"addresses,omitempty" yaml:"addresses,omitempty"`
	Authorizations []Authorization `json:"authorizations,omitempty" yaml:"authorizations,omitempty"`
	// VSwitches are the gateway's vSwitches (GetGateway Vswitch and
	// Vswitch2, with zone and CIDR from DescribeVSwitches; added in v1,
	// optional): they name the zone of each gateway address in findings.
	VSwitches []VSwitch `json:"vswitches,omitempty" yaml:"vswitches,omitempty"`
}

// VSwitch is one of the gateway's vSwitches.
type VSwitch struct {
	ID     string `json:"id" yaml:"id"`
	ZoneID string `json:"zoneId,omitempty" yaml:"zoneId,omitempty"`
	Cidr   string `json:"cidr,omitempty" yaml:"cidr,omitempty"`
}

// Authorization is one row of the gateway's "Security Group Authorization"
// tab (MSE ListSecurityGroupRule).
type Authorization struct {
	ID              string `json:"id,omitempty" yaml:"id,omitempty"`
	SecurityGroupID string `json:"securityGroupId" yaml:"securityGroupId"`
	PortRange       string `json:"portRange" yaml:"portRange"`
	Protocol        string `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	Description     string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Group types and policies, as normalised on load (the API mixes case).
const (
	GroupTypeNormal     = "normal"
	GroupTypeEnterprise = "enterprise"

	PolicyAccept = "accept"
	PolicyDrop   = "drop"

	DirectionIngress = "ingress"
	DirectionEgress  = "egress"

	ProtocolTCP  = "TCP"
	ProtocolUDP  = "UDP"
	ProtocolICMP = "ICMP"
	ProtocolGRE  = "GRE"
	ProtocolAll  = "ALL"
	// ProtocolICMPv6 is accepted because the ECS API returns it.
	ProtocolICMPv6 = "ICMPV6"
)

// SecurityGroup is an ECS security group with its rules.
type SecurityGroup struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Type is normal (basic) or enterprise (advanced); empty on input means normal.
	Type  string `json:"type,omitempty" yaml:"type,omitempty"`
	VpcID string `json:"vpcId,omitempty" yaml:"vpcId,omitempty"`
	// InnerAccessPolicy applies to normal groups (accept or drop, default
	// accept); enterprise groups always isolate their members.
	InnerAccessPolicy string `json:"innerAccessPolicy,omitempty" yaml:"innerAccessPolicy,omitempty"`
	// ServiceManaged marks groups a cloud product manages (the gateway's own).
	ServiceManaged bool   `json:"serviceManaged,omitempty" yaml:"serviceManaged,omitempty"`
	Rules          []Rule `json:"rules,omitempty" yaml:"rules,omitempty"`
}

// Rule is one security-group rule.
type Rule struct {
	ID        string `json:"id,omitempty" yaml:"id,omitempty"`
	Direction string `json:"direction" yaml:"direction"`
	Policy    string `json:"policy,omitempty" yaml:"policy,omitempty"`
	// Priority 1 (highest) .. 100; 110 for legacy system defaults; 0 on input means 1.
	Priority           int    `json:"priority,omitempty" yaml:"priority,omitempty"`
	Protocol           string `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	PortRange          string `json:"portRange,omitempty" yaml:"portRange,omitempty"`
	SourceGroupID      string `json:"sourceGroupId,omitempty" yaml:"sourceGroupId,omitempty"`
	SourceCidr         string `json:"sourceCidr,omitempty" yaml:"sourceCidr,omitempty"`
	SourcePrefixListID string `json:"sourcePrefixListId,omitempty" yaml:"sourcePrefixListId,omitempty"`
	PortRangeListID    string `json:"portRangeListId,omitempty" yaml:"portRangeListId,omitempty"`
	// DestGroupID and DestCidr are the peer of an egress rule (added in v1, optional).
	DestGroupID string `json:"destGroupId,omitempty" yaml:"destGroupId,omitempty"`
	// DestCidr is also the local destination of an ingress rule (the API's
	// DestCidrIp on an inbound rule: which of the ENI's addresses it covers).
	DestCidr string `json:"destCidr,omitempty" yaml:"destCidr,omitempty"`
	// Rule fields added in v1 (optional), as DescribeSecurityGroupAttribute
	// returns them: the IPv6 peer CIDRs, the IPv6 destination, the source
	// port range ("-1/-1" or empty: any) and a destination prefix list.
	Ipv6SourceCidr   string `json:"ipv6SourceCidr,omitempty" yaml:"ipv6SourceCidr,omitempty"`
	Ipv6DestCidr     string `json:"ipv6DestCidr,omitempty" yaml:"ipv6DestCidr,omitempty"`
	SourcePortRange  string `json:"sourcePortRange,omitempty" yaml:"sourcePortRange,omitempty"`
	DestPrefixListID string `json:"destPrefixListId,omitempty" yaml:"destPrefixListId,omitempty"`
	Description      string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Cluster is the ACK or ACS cluster of the Kubernetes backends, with the
// defaults that decide the security group of a serverless pod that names
// none in its annotation.
type Cluster struct {
	// ID is the cluster id (c-…).
	ID string `json:"id,omitempty" yaml:"id,omitempty"`
	// SecurityGroupID is the cluster's security group (DescribeClusterDetail
	// security_group_id; the console's Basic Information tab). ACK Serverless
	// and ACS give it to pods whose annotation names no group.
	SecurityGroupID string `json:"securityGroupId,omitempty" yaml:"securityGroupId,omitempty"`
	// ECIProfileSecurityGroupID is securityGroupId of the kube-system/eci-profile
	// ConfigMap: the group virtual nodes give ECI pods whose annotation names
	// none. It takes precedence over SecurityGroupID for ECI pods.
	ECIProfileSecurityGroupID string `json:"eciProfileSecurityGroupId,omitempty" yaml:"eciProfileSecurityGroupId,omitempty"`
	// ACSProfileSecurityGroupID is securityGroupId of the kube-system/acs-profile
	// ConfigMap: the group ACS pods whose annotation names none get. It
	// takes precedence over SecurityGroupID for ACS pods.
	ACSProfileSecurityGroupID string `json:"acsProfileSecurityGroupId,omitempty" yaml:"acsProfileSecurityGroupId,omitempty"`
}

// Node kinds (Node.Kind), as normalised on load.
const (
	// NodeKindECS is an ECS instance: a node-pool node or a plain ECS backend.
	NodeKindECS = "ecs"
	// NodeKindVirtual is a virtual-kubelet node (ACK Serverless, virtual
	// nodes): no instance of its own; its pods run as ECI or ACS instances.
	NodeKindVirtual = "virtual"
	// NodeKindECI is an Elastic Container Instance (eci-…) running one pod,
	// with its own ENI and groups.
	NodeKindECI = "eci"
	// NodeKindACS is the instance of an ACS (Container Compute Service) pod.
	NodeKindACS = "acs"
)

// NodeKinds lists the valid Node.Kind values.
var NodeKinds = []string{NodeKindECS, NodeKindVirtual, NodeKindECI, NodeKindACS}

// Backend kinds (Endpoint.Kind), as normalised on load.
const (
	// BackendPod is a pod on an ECS-backed Kubernetes node (a node pool).
	BackendPod = "pod"
	// BackendECI is a pod run as an Elastic Container Instance (a virtual
	// node or ACK Serverless).
	BackendECI = "eci"
	// BackendACS is an ACS pod.
	BackendACS = "acs"
	// BackendECS is a plain ECS instance (an MSE ECS or fixed-address service source).
	BackendECS = "ecs"
)

// BackendKinds lists the valid Endpoint.Kind values.
var BackendKinds = []string{BackendPod, BackendECI, BackendACS, BackendECS}

// KindOf is the node's kind: Kind when stated, else inferred from its ids
// (an eci-… instance is an ECI; a node named virtual-kubelet… without an
// ECS instance is a virtual node), else ecs.
func (n *Node) KindOf() string {
	if n.Kind != "" {
		return n.Kind
	}
	switch {
	case strings.HasPrefix(n.InstanceID, "eci-"):
		return NodeKindECI
	case strings.HasPrefix(n.InstanceID, "acs-"):
		return NodeKindACS
	case strings.HasPrefix(n.Name, "virtual-kubelet") && !strings.HasPrefix(n.InstanceID, "i-"):
		return NodeKindVirtual
	}
	return NodeKindECS
}

// NodePool is an ACK node pool and the groups its new nodes get.
type NodePool struct {
	ID               string   `json:"id" yaml:"id"`
	Name             string   `json:"name,omitempty" yaml:"name,omitempty"`
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty" yaml:"securityGroupIds,omitempty"`
}

// Node is an ECS instance: a Kubernetes node or a plain ECS backend.
type Node struct {
	Name       string `json:"name,omitempty" yaml:"name,omitempty"`
	InstanceID string `json:"instanceId,omitempty" yaml:"instanceId,omitempty"`
	NodePool   string `json:"nodePool,omitempty" yaml:"nodePool,omitempty"`
	VpcID      string `json:"vpcId,omitempty" yaml:"vpcId,omitempty"`
	ENIs       []ENI  `json:"enis,omitempty" yaml:"enis,omitempty"`
	// Kind is ecs, virtual, eci or acs (added in v1, optional; KindOf
	// infers it when empty).
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
}

// ENI is an elastic network interface. Its groups filter the traffic to every
// IP it holds.
type ENI struct {
	ID      string   `json:"id" yaml:"id"`
	Primary bool     `json:"primary,omitempty" yaml:"primary,omitempty"`
	IPs     []string `json:"ips,omitempty" yaml:"ips,omitempty"`
	// Prefixes are IPv4 prefixes assigned to the ENI (Terway prefix mode;
	// added in v1, optional): every address inside belongs to this ENI.
	Prefixes         []string `json:"prefixes,omitempty" yaml:"prefixes,omitempty"`
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty" yaml:"securityGroupIds,omitempty"`
}

// Service sources, as normalised on load.
const (
	SourceK8s   = "k8s"
	SourceECS   = "ecs"
	SourceFixed = "fixed"
	SourceDNS   = "dns"
	SourceNacos = "nacos"
)

// Service is one of the gateway's upstream services (ListGatewayService).
type Service struct {
	Name      string     `json:"name" yaml:"name"`
	Namespace string     `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Source    string     `json:"source,omitempty" yaml:"source,omitempty"`
	Protocol  string     `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	Endpoints []Endpoint `json:"endpoints,omitempty" yaml:"endpoints,omitempty"`
	// HealthCheck is the gateway's own health check of the service, as MSE
	// ListGatewayService reports it (added in v1, optional); nil when not read.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty" yaml:"healthCheck,omitempty"`
}

// Gateway health-check states, as normalised on load (MSE writes Healthy,
// Unhealthy, Unknown).
const (
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
	HealthUnknown   = "unknown"
)

// HealthCheck is what the gateway's own health check says about a service:
// the only probe that starts where the gateway's traffic starts.
type HealthCheck struct {
	// Enabled is MSE's HealthCheck: whether the gateway checks the service at
	// all. Nil means not stated; false means the status proves nothing.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	// Status is MSE's HealthStatus for the service: healthy, unhealthy or
	// unknown.
	Status string `json:"status,omitempty" yaml:"status,omitempty"`
	// UnhealthyEndpoints are the endpoints (ip:port) failing the check;
	// an endpoint of an enabled check not listed here passes it.
	UnhealthyEndpoints []string `json:"unhealthyEndpoints,omitempty" yaml:"unhealthyEndpoints,omitempty"`
	// At is when the gateway's view was read (RFC 3339).
	At string `json:"at,omitempty" yaml:"at,omitempty"`
}

// IsEnabled reports whether the health check is stated to be on.
func (h *HealthCheck) IsEnabled() bool { return h != nil && h.Enabled != nil && *h.Enabled }

// Key is the service's display and matching key: "namespace/name", or the
// name alone when there is no namespace.
func (s *Service) Key() string {
	if s.Namespace == "" {
		return s.Name
	}
	return s.Namespace + "/" + s.Name
}

// Endpoint is one address the gateway dials for a service.
type Endpoint struct {
	IP   string `json:"ip" yaml:"ip"`
	Port int    `json:"port" yaml:"port"`
	Pod  string `json:"pod,omitempty" yaml:"pod,omitempty"`
	// Node is a node name or instance ID (optional when the IP is on an ENI).
	Node string `json:"node,omitempty" yaml:"node,omitempty"`
	// Ready defaults to true; a nil pointer means "not stated".
	Ready *bool `json:"ready,omitempty" yaml:"ready,omitempty"`
	// Kind is the backend's kind: pod, eci, acs or ecs (added in v1,
	// optional; inferred from the node and the service source when empty).
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	// AnnotatedSecurityGroupIDs are the groups the pod's annotation asks
	// for (ECI: k8s.aliyun.com/eci-security-group; ACS:
	// network.alibabacloud.com/security-group-ids; added in v1, optional).
	// Empty for a serverless pod means its group came from the cluster's
	// default (Cluster).
	AnnotatedSecurityGroupIDs []string `json:"annotatedSecurityGroupIds,omitempty" yaml:"annotatedSecurityGroupIds,omitempty"`
}

// IsReady reports the endpoint's readiness, true when not stated.
func (e *Endpoint) IsReady() bool { return e.Ready == nil || *e.Ready }

// Probe states.
const (
	ProbeOpen        = "open"
	ProbeRefused     = "refused"
	ProbeFiltered    = "filtered"
	ProbeUnreachable = "unreachable"
	ProbeError       = "error"
)

// Probe is one recorded TCP probe observation.
type Probe struct {
	Target string  `json:"target" yaml:"target"`
	State  string  `json:"state" yaml:"state"`
	From   string  `json:"from,omitempty" yaml:"from,omitempty"`
	RTTMs  float64 `json:"rttMs,omitempty" yaml:"rttMs,omitempty"`
	At     string  `json:"at,omitempty" yaml:"at,omitempty"`
	// Added in v1, optional: what the prober also recorded.
	Address  string `json:"address,omitempty" yaml:"address,omitempty"`
	Source   string `json:"source,omitempty" yaml:"source,omitempty"`
	Attempts int    `json:"attempts,omitempty" yaml:"attempts,omitempty"`
	Error    string `json:"error,omitempty" yaml:"error,omitempty"`
}

// Parts of a snapshot a collector can fail to read, for MissingPart.Part.
const (
	PartGateway        = "gateway"
	PartAuthorizations = "authorizations"
	PartSecurityGroups = "securityGroups"
	PartRules          = "rules"
	PartNodePools      = "nodePools"
	PartNodes          = "nodes"
	PartENIs           = "enis"
	PartServices       = "services"
	PartEndpoints      = "endpoints"
	PartProbes         = "probes"
	// PartCluster is the cluster's detail (DescribeClusterDetail: its
	// security group, the default of ACK Serverless and ACS pods).
	PartCluster = "cluster"
	// PartECIProfile is the kube-system/eci-profile ConfigMap (the virtual
	// nodes' default group for ECI pods).
	PartECIProfile = "eciProfile"
	// PartACSProfile is the kube-system/acs-profile ConfigMap (the default
	// group of ACS pods).
	PartACSProfile = "acsProfile"
)

// MissingPart records that a part of the snapshot could not be collected.
type MissingPart struct {
	// Part is one of the Part* names.
	Part string `json:"part" yaml:"part"`
	// IDs narrows the part to some objects (group IDs, instance IDs, …);
	// empty means the whole part.
	IDs []string `json:"ids,omitempty" yaml:"ids,omitempty"`
	// Error is what the source said, without secrets.
	Error string `json:"error" yaml:"error"`
	// Action is the API action that failed (e.g. "ecs:DescribeSecurityGroupAttribute"),
	// so the report can name the missing RAM permission.
	Action string `json:"action,omitempty" yaml:"action,omitempty"`
}
