package aliyun

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/mse"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// RAM actions gwdoctor calls, read-only. Actions lists them all for the
// RAM policy; a test keeps it in sync with the calls.
const (
	ActionGetGateway                     = "mse:GetGateway"
	ActionListSecurityGroupRule          = "mse:ListSecurityGroupRule"
	ActionListGatewayService             = "mse:ListGatewayService"
	ActionListServiceSource              = "mse:ListServiceSource"
	ActionDescribeSecurityGroups         = "ecs:DescribeSecurityGroups"
	ActionDescribeSecurityGroupAttribute = "ecs:DescribeSecurityGroupAttribute"
	ActionDescribeInstances              = "ecs:DescribeInstances"
	ActionDescribeNetworkInterfaces      = "ecs:DescribeNetworkInterfaces"
	ActionDescribeVSwitches              = "ecs:DescribeVSwitches"
	ActionDescribeClusterNodePools       = "cs:DescribeClusterNodePools"
	ActionDescribeClusterDetail          = "cs:DescribeClusterDetail"
	// ActionListGateway is called only by `serve --all-gateways`.
	ActionListGateway = "mse:ListGateway"
)

// Actions is every RAM action the collector may call.
var Actions = []string{
	ActionGetGateway, ActionListSecurityGroupRule, ActionListGatewayService, ActionListServiceSource,
	ActionDescribeSecurityGroups, ActionDescribeSecurityGroupAttribute, ActionDescribeInstances,
	ActionDescribeNetworkInterfaces, ActionDescribeVSwitches, ActionDescribeClusterNodePools,
	ActionDescribeClusterDetail,
}

// PolicyActions is every RAM action any gwdoctor command calls: the
// collector's Actions and serve's gateway discovery.
var PolicyActions = append(slices.Clone(Actions), ActionListGateway)

// RAMPolicy returns the read-only RAM policy document that allows exactly PolicyActions.
func RAMPolicy() string { return policyDocument(PolicyActions) }

// policyDocument is a RAM policy that allows exactly actions.
func policyDocument(actions []string) string {
	type statement struct {
		Effect   string
		Action   []string
		Resource string
	}
	p := struct {
		Version   string
		Statement []statement
	}{"1", []statement{{"Allow", actions, "*"}}}
	b, _ := json.MarshalIndent(p, "", "  ")
	return string(b)
}

// GatewayInfo is what GetGateway says about the gateway.
type GatewayInfo struct {
	ID              string
	Name            string
	VpcID           string
	SecurityGroupID string
	VSwitchIDs      []string
	// Status is MSE's numeric status (2 = running) and its description.
	Status     int
	StatusDesc string
}

// GetGateway reads the gateway's managed group, VPC and vSwitches.
func (c *Client) GetGateway(ctx context.Context, gatewayID string) (GatewayInfo, error) {
	var out GatewayInfo
	err := c.call(ctx, ActionGetGateway, func(s *slot) error {
		req := mse.CreateGetGatewayRequest()
		c.prepare(req)
		req.GatewayUniqueId = gatewayID
		resp, err := s.mse.GetGateway(req)
		if err != nil {
			return err
		}
		if err := mseFailure(resp.Success, resp.Code, resp.HttpStatusCode, resp.Message); err != nil {
			return err
		}
		d := resp.Data
		out = GatewayInfo{ID: d.GatewayUniqueId, Name: d.Name, VpcID: d.Vpc, SecurityGroupID: d.SecurityGroup,
			Status: d.Status, StatusDesc: d.StatusDesc}
		if out.ID == "" {
			out.ID = gatewayID
		}
		for _, v := range []string{d.Vswitch, d.Vswitch2} {
			if v != "" {
				out.VSwitchIDs = append(out.VSwitchIDs, v)
			}
		}
		return nil
	})
	return out, err
}

// GatewaySummary is one row of ListGateway.
type GatewaySummary struct {
	ID         string
	Name       string
	VpcID      string
	Status     int
	StatusDesc string
}

// ListGateways reads every page of the region's MSE gateways (for
// `serve --all-gateways`).
func (c *Client) ListGateways(ctx context.Context) ([]GatewaySummary, error) {
	var out []GatewaySummary
	const pageSize = 100
	for page := 1; ; page++ {
		var total int64
		var n int
		err := c.call(ctx, ActionListGateway, func(s *slot) error {
			req := mse.CreateListGatewayRequest()
			c.prepare(req)
			req.PageNumber = requests.NewInteger(page)
			req.PageSize = requests.NewInteger(pageSize)
			resp, err := s.mse.ListGateway(req)
			if err != nil {
				return err
			}
			if err := mseFailure(resp.Success, resp.Code, resp.HttpStatusCode, resp.Message); err != nil {
				return err
			}
			total, n = resp.Data.TotalSize, len(resp.Data.Result)
			for _, r := range resp.Data.Result {
				if r.GatewayUniqueId == "" {
					continue
				}
				out = append(out, GatewaySummary{ID: r.GatewayUniqueId, Name: r.Name, VpcID: r.VpcId, Status: r.Status, StatusDesc: r.StatusDesc})
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		if n == 0 || int64(page*pageSize) >= total {
			return out, nil
		}
	}
}

// mseError is an MSE answer with HTTP 200 that reports a failure in its body.
type mseError struct {
	code    int
	message string
}

func (e *mseError) Error() string { return fmt.Sprintf("MSE code %d: %s", e.code, e.message) }

// mseFailure decides from MSE's body fields: a failure only when both
// Success is false and the code says so, so an omitted field is not an error.
func mseFailure(success bool, code, httpCode int, message string) error {
	if success || code == 0 || code == 200 {
		return nil
	}
	if httpCode == 0 {
		httpCode = code
	}
	return &mseError{code: httpCode, message: message}
}

// ListAuthorizations reads the gateway's Security Group Authorization tab.
func (c *Client) ListAuthorizations(ctx context.Context, gatewayID string) ([]snapshot.Authorization, error) {
	var out []snapshot.Authorization
	err := c.call(ctx, ActionListSecurityGroupRule, func(s *slot) error {
		req := mse.CreateListSecurityGroupRuleRequest()
		c.prepare(req)
		req.GatewayUniqueId = gatewayID
		resp, err := s.mse.ListSecurityGroupRule(req)
		if err != nil {
			return err
		}
		if err := mseFailure(resp.Success, resp.Code, resp.HttpStatusCode, resp.Message); err != nil {
			return err
		}
		out = out[:0]
		for _, r := range resp.Data {
			out = append(out, snapshot.Authorization{
				ID: r.Id, SecurityGroupID: r.SecurityGroupId, PortRange: strings.TrimSpace(r.PortRange),
				Protocol: normProtocol(r.IpProtocol), Description: r.Description,
			})
		}
		return nil
	})
	return out, err
}

// GatewayService is one upstream service of the gateway (ListGatewayService).
type GatewayService struct {
	Name      string
	Namespace string
	// Source is normalised: k8s, ecs, fixed, dns, nacos (empty if unknown);
	// RawSourceType is what the API said.
	Source        string
	RawSourceType string
	SourceID      int64
	Protocol      string
	ServicePort   int
	Ports         []int
	Ips           []string
	HealthStatus  string
	Unhealthy     []string
	// HealthCheck is whether the gateway health-checks the service; nil when
	// the answer did not say (the SDK's bool cannot tell absent from false).
	HealthCheck *bool
}

// ListGatewayServices reads every page of the gateway's services.
func (c *Client) ListGatewayServices(ctx context.Context, gatewayID string) ([]GatewayService, error) {
	var out []GatewayService
	filter, _ := json.Marshal(map[string]string{"GatewayUniqueId": gatewayID})
	const pageSize = 100
	for page := 1; ; page++ {
		var total int64
		var n int
		err := c.call(ctx, ActionListGatewayService, func(s *slot) error {
			req := mse.CreateListGatewayServiceRequest()
			c.prepare(req)
			req.PageNumber = requests.NewInteger(page)
			req.PageSize = requests.NewInteger(pageSize)
			// The API reads FilterParams as one JSON string; the SDK's
			// struct field would flatten it into FilterParams.X keys.
			req.QueryParams["FilterParams"] = string(filter)
			resp, err := s.mse.ListGatewayService(req)
			if err != nil {
				return err
			}
			if err := mseFailure(resp.Success, resp.Code, resp.HttpStatusCode, resp.Message); err != nil {
				return err
			}
			total, n = resp.Data.TotalSize, len(resp.Data.Result)
			// HealthCheck again from the raw answer: the SDK decodes an absent
			// field as false, and "off" must not be claimed when MSE did not say.
			var raw struct {
				Data struct{ Result []struct{ HealthCheck *bool } }
			}
			if json.Unmarshal(resp.GetHttpContentBytes(), &raw) != nil || len(raw.Data.Result) != n {
				raw.Data.Result = make([]struct{ HealthCheck *bool }, n)
			}
			for i, r := range resp.Data.Result {
				if r.GatewayUniqueId != "" && r.GatewayUniqueId != gatewayID {
					continue
				}
				out = append(out, GatewayService{
					Name: r.Name, Namespace: r.Namespace, Source: NormSourceType(r.SourceType), RawSourceType: r.SourceType,
					SourceID: r.SourceId, Protocol: r.ServiceProtocol, ServicePort: int(r.ServicePort), Ports: r.Ports,
					Ips: r.Ips, HealthStatus: cmp.Or(r.HealthStatus, r.HealehStatus), Unhealthy: r.UnhealthyEndpoints,
					HealthCheck: raw.Data.Result[i].HealthCheck,
				})
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		if n == 0 || int64(page*pageSize) >= total {
			return out, nil
		}
	}
}

// ServiceSource is a service source of the gateway; for a K8s source on
// ACK, Address is the cluster id.
type ServiceSource struct {
	ID      int64
	Type    string
	Name    string
	Address string
}

// ListServiceSources reads the gateway's service sources (to find its ACK cluster).
func (c *Client) ListServiceSources(ctx context.Context, gatewayID string) ([]ServiceSource, error) {
	var out []ServiceSource
	err := c.call(ctx, ActionListServiceSource, func(s *slot) error {
		req := mse.CreateListServiceSourceRequest()
		c.prepare(req)
		req.GatewayUniqueId = gatewayID
		resp, err := s.mse.ListServiceSource(req)
		if err != nil {
			return err
		}
		if err := mseFailure(resp.Success, resp.Code, resp.HttpStatusCode, resp.Message); err != nil {
			return err
		}
		out = out[:0]
		for _, r := range resp.Data {
			out = append(out, ServiceSource{ID: r.Id, Type: r.Type, Name: r.Name, Address: r.Address})
		}
		return nil
	})
	return out, err
}

// Failure is a batch that could not be read: which ids, and why.
type Failure struct {
	IDs []string
	Err error
}

// DescribeSecurityGroups reads type, VPC, name and service-managed flag of
// groups, 100 ids per call. Groups the API does not return do not exist
// (or belong to another region or account).
func (c *Client) DescribeSecurityGroups(ctx context.Context, ids []string) (map[string]snapshot.SecurityGroup, []Failure) {
	return describeBatches(ctx, c, ActionDescribeSecurityGroups, chunks(uniq(ids), 100),
		func(s *slot, batch []string, token string) ([]snapshot.SecurityGroup, string, error) {
			req := ecs.CreateDescribeSecurityGroupsRequest()
			c.prepare(req)
			req.SecurityGroupIds = jsonList(batch)
			req.MaxResults = requests.NewInteger(100)
			req.NextToken = token
			resp, err := s.ecs.DescribeSecurityGroups(req)
			if err != nil {
				return nil, "", err
			}
			var out []snapshot.SecurityGroup
			for _, g := range resp.SecurityGroups.SecurityGroup {
				out = append(out, snapshot.SecurityGroup{
					ID: g.SecurityGroupId, Name: g.SecurityGroupName, Type: normGroupType(g.SecurityGroupType),
					VpcID: g.VpcId, ServiceManaged: g.ServiceManaged,
				})
			}
			return out, resp.NextToken, nil
		},
		func(g snapshot.SecurityGroup) string { return g.ID })
}

// GroupAttribute is a group's rules and intra-group policy.
type GroupAttribute struct {
	ID                string
	Name              string
	VpcID             string
	InnerAccessPolicy string
	Rules             []snapshot.Rule
	// Unmodelled lists rules gwdoctor cannot read (a priority that is not a
	// number); they are left out of Rules, so the group's rules are
	// incomplete and must be reported as such.
	Unmodelled []string
}

// permissionExtras are rule fields the API returns but the SDK's struct lacks.
type permissionExtras struct {
	Permissions struct {
		Permission []struct {
			PortRangeListId  string
			DestPrefixListId string
		}
	}
}

// SecurityGroupRules reads every rule of a group, ingress and egress, every page.
func (c *Client) SecurityGroupRules(ctx context.Context, groupID string) (GroupAttribute, error) {
	out := GroupAttribute{ID: groupID}
	err := c.pages(ctx, ActionDescribeSecurityGroupAttribute, func(s *slot, token string) (string, error) {
		req := ecs.CreateDescribeSecurityGroupAttributeRequest()
		c.prepare(req)
		req.SecurityGroupId = groupID
		req.Direction = "all"
		req.MaxResults = requests.NewInteger(1000)
		req.NextToken = token
		resp, err := s.ecs.DescribeSecurityGroupAttribute(req)
		if err != nil {
			return "", err
		}
		out.Name, out.VpcID = resp.SecurityGroupName, resp.VpcId
		out.InnerAccessPolicy = normPolicy(resp.InnerAccessPolicy)
		var extras permissionExtras
		_ = json.Unmarshal(resp.GetHttpContentBytes(), &extras) // the SDK decoded the same body
		for i, p := range resp.Permissions.Permission {
			r, err := normRule(p)
			if err != nil {
				out.Unmodelled = append(out.Unmodelled, fmt.Sprintf("%s (%v)", cmp.Or(p.SecurityGroupRuleId, "unnamed rule"), err))
				continue
			}
			if i < len(extras.Permissions.Permission) {
				x := extras.Permissions.Permission[i]
				r.PortRangeListID = x.PortRangeListId
				r.DestPrefixListID = cmp.Or(r.DestPrefixListID, x.DestPrefixListId)
			}
			out.Rules = append(out.Rules, r)
		}
		return resp.NextToken, nil
	})
	return out, err
}

// normRule reads one rule as snapshot v1 records it. A priority that is not
// a number is an error: guessing 1 could turn a low-ranked drop into the
// deciding rule.
func normRule(p ecs.Permission) (snapshot.Rule, error) {
	prio, err := parsePriority(p.Priority)
	if err != nil {
		return snapshot.Rule{}, err
	}
	r := snapshot.Rule{
		ID: p.SecurityGroupRuleId, Direction: normDirection(p.Direction), Policy: normPolicy(p.Policy),
		Priority: prio, Protocol: normProtocol(p.IpProtocol), PortRange: strings.TrimSpace(p.PortRange),
		SourcePortRange: strings.TrimSpace(p.SourcePortRange), DestPrefixListID: p.DestPrefixListId,
		Description: p.Description,
	}
	if r.Policy == "" {
		r.Policy = snapshot.PolicyAccept
	}
	if sp := r.SourcePortRange; sp == "-1/-1" || sp == "1/65535" {
		r.SourcePortRange = "" // every port: no limit
	}
	if r.Direction == snapshot.DirectionEgress {
		// Egress rules name the peer as Dest*.
		r.DestGroupID, r.DestCidr, r.Ipv6DestCidr = p.DestGroupId, p.DestCidrIp, p.Ipv6DestCidrIp
	} else {
		r.SourceGroupID, r.SourceCidr, r.SourcePrefixListID = p.SourceGroupId, p.SourceCidrIp, p.SourcePrefixListId
		r.Ipv6SourceCidr = p.Ipv6SourceCidrIp
		// On an inbound rule DestCidrIp is the local destination: which of
		// the ENI's addresses the rule covers.
		r.DestCidr, r.Ipv6DestCidr = p.DestCidrIp, p.Ipv6DestCidrIp
		// "If both SourceGroupId and SourceCidrIp are set, the CIDR wins."
		if r.SourceCidr != "" || r.Ipv6SourceCidr != "" {
			r.SourceGroupID = ""
		}
	}
	return r, nil
}

// Instance is an ECS instance and the ENIs it lists.
type Instance struct {
	ID         string
	Name       string
	VpcID      string
	PrivateIPs []string
	GroupIDs   []string
	ENIIDs     []string
}

// DescribeInstances reads instances by id, 100 per call.
func (c *Client) DescribeInstances(ctx context.Context, ids []string) (map[string]Instance, []Failure) {
	return c.describeInstances(ctx, uniq(ids), func(req *ecs.DescribeInstancesRequest, batch []string) {
		req.InstanceIds = jsonList(batch)
	})
}

// DescribeInstancesByIP finds the instances holding private IPs in a VPC
// (plain ECS backends of the gateway), 100 per call.
func (c *Client) DescribeInstancesByIP(ctx context.Context, vpcID string, ips []string) (map[string]Instance, []Failure) {
	return c.describeInstances(ctx, uniq(ips), func(req *ecs.DescribeInstancesRequest, batch []string) {
		req.PrivateIpAddresses = jsonList(batch)
		req.InstanceNetworkType = "vpc"
		req.VpcId = vpcID
	})
}

func (c *Client) describeInstances(ctx context.Context, keys []string, set func(*ecs.DescribeInstancesRequest, []string)) (map[string]Instance, []Failure) {
	return describeBatches(ctx, c, ActionDescribeInstances, chunks(keys, 100),
		func(s *slot, batch []string, token string) ([]Instance, string, error) {
			req := ecs.CreateDescribeInstancesRequest()
			c.prepare(req)
			set(req, batch)
			req.MaxResults = requests.NewInteger(100)
			req.NextToken = token
			resp, err := s.ecs.DescribeInstances(req)
			if err != nil {
				return nil, "", err
			}
			var out []Instance
			for _, in := range resp.Instances.Instance {
				i := Instance{ID: in.InstanceId, Name: in.InstanceName, VpcID: in.VpcAttributes.VpcId,
					PrivateIPs: in.VpcAttributes.PrivateIpAddress.IpAddress, GroupIDs: in.SecurityGroupIds.SecurityGroupId}
				for _, n := range in.NetworkInterfaces.NetworkInterface {
					i.ENIIDs = append(i.ENIIDs, n.NetworkInterfaceId)
				}
				out = append(out, i)
			}
			return out, resp.NextToken, nil
		},
		func(i Instance) string { return i.ID })
}

// NetworkInterface is an ENI with its groups, every private IP and prefix.
type NetworkInterface struct {
	ID         string
	InstanceID string
	Type       string // Primary, Secondary, Trunk, Member
	VpcID      string
	IPs        []string
	Prefixes   []string
	GroupIDs   []string
}

// Primary reports whether this is the instance's primary ENI.
func (n NetworkInterface) Primary() bool { return strings.EqualFold(n.Type, "Primary") }

// DescribeNetworkInterfaces reads ENIs by id, 100 per call.
func (c *Client) DescribeNetworkInterfaces(ctx context.Context, ids []string) (map[string]NetworkInterface, []Failure) {
	return c.describeENIs(ctx, chunks(uniq(ids), 100), func(req *ecs.DescribeNetworkInterfacesRequest, batch []string) {
		req.NetworkInterfaceId = &batch
	})
}

// NetworkInterfacesByInstance reads the ENIs attached to instances, one call each.
func (c *Client) NetworkInterfacesByInstance(ctx context.Context, instanceIDs []string) (map[string]NetworkInterface, []Failure) {
	return c.describeENIs(ctx, chunks(uniq(instanceIDs), 1), func(req *ecs.DescribeNetworkInterfacesRequest, batch []string) {
		req.InstanceId = batch[0]
	})
}

// NetworkInterfacesByIP finds the ENIs that hold private IPs (Terway pod
// IPs on member or secondary ENIs), 100 per call.
func (c *Client) NetworkInterfacesByIP(ctx context.Context, ips []string) (map[string]NetworkInterface, []Failure) {
	return c.describeENIs(ctx, chunks(uniq(ips), 100), func(req *ecs.DescribeNetworkInterfacesRequest, batch []string) {
		req.PrivateIpAddress = &batch
	})
}

func (c *Client) describeENIs(ctx context.Context, batches [][]string, set func(*ecs.DescribeNetworkInterfacesRequest, []string)) (map[string]NetworkInterface, []Failure) {
	return describeBatches(ctx, c, ActionDescribeNetworkInterfaces, batches,
		func(s *slot, batch []string, token string) ([]NetworkInterface, string, error) {
			req := ecs.CreateDescribeNetworkInterfacesRequest()
			c.prepare(req)
			set(req, batch)
			req.MaxResults = requests.NewInteger(500)
			req.NextToken = token
			resp, err := s.ecs.DescribeNetworkInterfaces(req)
			if err != nil {
				return nil, "", err
			}
			var out []NetworkInterface
			for _, n := range resp.NetworkInterfaceSets.NetworkInterfaceSet {
				e := NetworkInterface{ID: n.NetworkInterfaceId, InstanceID: n.InstanceId, Type: n.Type, VpcID: n.VpcId,
					GroupIDs: n.SecurityGroupIds.SecurityGroupId}
				if e.InstanceID == "" {
					e.InstanceID = n.Attachment.InstanceId
				}
				seen := map[string]bool{}
				for _, ip := range append([]string{n.PrivateIpAddress}, privateIPs(n)...) {
					if ip != "" && !seen[ip] {
						seen[ip] = true
						e.IPs = append(e.IPs, ip)
					}
				}
				for _, p := range n.Ipv4PrefixSets.Ipv4PrefixSet {
					if p.Ipv4Prefix != "" {
						e.Prefixes = append(e.Prefixes, p.Ipv4Prefix)
					}
				}
				out = append(out, e)
			}
			return out, resp.NextToken, nil
		},
		func(e NetworkInterface) string { return e.ID })
}

func privateIPs(n ecs.NetworkInterfaceSet) []string {
	var ips []string
	for _, p := range n.PrivateIpSets.PrivateIpSet {
		ips = append(ips, p.PrivateIpAddress)
	}
	return ips
}

// VSwitches reads each vSwitch's zone and CIDR block (the gateway's source
// addresses), in the order given.
func (c *Client) VSwitches(ctx context.Context, vpcID string, vswitchIDs []string) ([]snapshot.VSwitch, error) {
	var out []snapshot.VSwitch
	for _, id := range vswitchIDs {
		err := c.call(ctx, ActionDescribeVSwitches, func(s *slot) error {
			req := ecs.CreateDescribeVSwitchesRequest()
			c.prepare(req)
			req.VSwitchId = id
			req.VpcId = vpcID
			resp, err := s.ecs.DescribeVSwitches(req)
			if err != nil {
				return err
			}
			for _, v := range resp.VSwitches.VSwitch {
				if v.VSwitchId == id && v.CidrBlock != "" {
					out = append(out, snapshot.VSwitch{ID: id, ZoneID: v.ZoneId, Cidr: v.CidrBlock})
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nodePoolsBody is the part of DescribeClusterNodePools' ROA body gwdoctor
// reads; the SDK's response struct has no fields.
type nodePoolsBody struct {
	NodePools []struct {
		NodePoolInfo struct {
			NodePoolID string `json:"nodepool_id"`
			Name       string `json:"name"`
		} `json:"nodepool_info"`
		ScalingGroup struct {
			SecurityGroupID  string   `json:"security_group_id"`
			SecurityGroupIDs []string `json:"security_group_ids"`
		} `json:"scaling_group"`
	} `json:"nodepools"`
}

// NodePools reads the cluster's node pools and their configured groups.
func (c *Client) NodePools(ctx context.Context, clusterID string) ([]snapshot.NodePool, error) {
	var out []snapshot.NodePool
	err := c.call(ctx, ActionDescribeClusterNodePools, func(s *slot) error {
		req := cs.CreateDescribeClusterNodePoolsRequest()
		c.prepare(req)
		req.ClusterId = clusterID
		resp, err := s.cs.DescribeClusterNodePools(req)
		if err != nil {
			return err
		}
		var body nodePoolsBody
		if err := json.Unmarshal(resp.GetHttpContentBytes(), &body); err != nil {
			return fmt.Errorf("DescribeClusterNodePools: unexpected body: %v", err)
		}
		out = out[:0]
		for _, p := range body.NodePools {
			ids := p.ScalingGroup.SecurityGroupIDs
			if len(ids) == 0 && p.ScalingGroup.SecurityGroupID != "" {
				ids = []string{p.ScalingGroup.SecurityGroupID}
			}
			out = append(out, snapshot.NodePool{ID: p.NodePoolInfo.NodePoolID, Name: p.NodePoolInfo.Name, SecurityGroupIDs: uniq(ids)})
		}
		return nil
	})
	return out, err
}

// ClusterDetail is what gwdoctor reads of DescribeClusterDetail: the
// cluster's security group, which ACK Serverless and ACS give to pods whose
// annotation names none.
type ClusterDetail struct {
	ID              string
	SecurityGroupID string
	// ClusterType and Profile say what the cluster is ("ManagedKubernetes"
	// with profile "Serverless" is ACK Serverless; "Ask" older ones).
	ClusterType, Profile string
}

// clusterDetailBody is the part of DescribeClusterDetail's ROA body gwdoctor
// reads; the SDK's response struct has no fields.
type clusterDetailBody struct {
	ClusterID       string `json:"cluster_id"`
	SecurityGroupID string `json:"security_group_id"`
	ClusterType     string `json:"cluster_type"`
	Profile         string `json:"profile"`
}

// ClusterDetail reads the cluster's detail.
func (c *Client) ClusterDetail(ctx context.Context, clusterID string) (ClusterDetail, error) {
	var out ClusterDetail
	err := c.call(ctx, ActionDescribeClusterDetail, func(s *slot) error {
		req := cs.CreateDescribeClusterDetailRequest()
		c.prepare(req)
		req.ClusterId = clusterID
		resp, err := s.cs.DescribeClusterDetail(req)
		if err != nil {
			return err
		}
		var body clusterDetailBody
		if err := json.Unmarshal(resp.GetHttpContentBytes(), &body); err != nil {
			return fmt.Errorf("DescribeClusterDetail: unexpected body: %v", err)
		}
		out = ClusterDetail{ID: cmp.Or(body.ClusterID, clusterID), SecurityGroupID: strings.TrimSpace(body.SecurityGroupID),
			ClusterType: body.ClusterType, Profile: body.Profile}
		return nil
	})
	return out, err
}

// Normalisation: the APIs mix case.

func normPolicy(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "accept", "allow":
		return snapshot.PolicyAccept
	case "drop", "deny":
		return snapshot.PolicyDrop
	case "":
		return ""
	}
	return strings.ToLower(strings.TrimSpace(s))
}

func normDirection(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "egress":
		return snapshot.DirectionEgress
	default:
		return snapshot.DirectionIngress
	}
}

func normProtocol(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return snapshot.ProtocolTCP
	}
	return s
}

// parsePriority reads the API's string priority (1..100, or 110 for legacy
// system default rules).
func parsePriority(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || (n > 100 && n != 110) {
		return 0, fmt.Errorf("priority %q is not 1..100 or 110", s)
	}
	return n, nil
}

func normGroupType(s string) string {
	if strings.EqualFold(strings.TrimSpace(s), "enterprise") {
		return snapshot.GroupTypeEnterprise
	}
	return snapshot.GroupTypeNormal
}

// NormSourceType maps MSE's SourceType (K8s, K8S, ECS, VIP, DNS, MSE,
// NACOS, …) to the snapshot's source, or "" when unknown.
func NormSourceType(s string) string {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "K8S", "KUBERNETES", "ACK":
		return snapshot.SourceK8s
	case "ECS":
		return snapshot.SourceECS
	case "VIP", "FIXED", "FIXED_ADDRESS", "STATIC":
		return snapshot.SourceFixed
	case "DNS":
		return snapshot.SourceDNS
	case "MSE", "NACOS", "MSE_NACOS", "EDAS", "SAE", "ZOOKEEPER", "EUREKA", "CONSUL":
		return snapshot.SourceNacos
	}
	return ""
}

// SplitHostPort parses an MSE Ips entry: "10.0.0.5:8080" or "10.0.0.5".
func SplitHostPort(s string) (host string, port int) {
	s = strings.TrimSpace(s)
	if h, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			return h, n
		}
	}
	return s, 0
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

func failures(batches [][]string, errs []error) []Failure {
	var out []Failure
	for i, err := range errs {
		if err != nil {
			out = append(out, Failure{IDs: batches[i], Err: err})
		}
	}
	return out
}

// pages reads every page of a NextToken-paginated action: page makes one
// request with the token ("" for the first) and returns the next token. Each
// page is its own call, retried on its own; the reading stops at an empty
// token, or at one the API repeats (it would otherwise never end).
func (c *Client) pages(ctx context.Context, action string, page func(s *slot, token string) (next string, err error)) error {
	token := ""
	for {
		var next string
		err := c.call(ctx, action, func(s *slot) error {
			var err error
			next, err = page(s, token)
			return err
		})
		if err != nil || next == "" || next == token {
			return err
		}
		token = next
	}
}

// describeBatches reads batches of ids concurrently (forEach), every page of
// each: page makes one request for a batch and returns its items and the
// next token. The items of every batch land in one map by key; a batch that
// fails is a Failure naming its ids, and the other batches still count.
func describeBatches[T any](ctx context.Context, c *Client, action string, batches [][]string,
	page func(s *slot, batch []string, token string) (items []T, next string, err error),
	key func(T) string) (map[string]T, []Failure) {
	out := map[string]T{}
	var mu sync.Mutex
	errs := forEach(c, batches, func(batch []string) error {
		return c.pages(ctx, action, func(s *slot, token string) (string, error) {
			items, next, err := page(s, batch, token)
			if err != nil {
				return "", err
			}
			mu.Lock()
			for _, it := range items {
				out[key(it)] = it
			}
			mu.Unlock()
			return next, nil
		})
	})
	return out, failures(batches, errs)
}
