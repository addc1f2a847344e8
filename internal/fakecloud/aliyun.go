// Package fakecloud serves a fake Alibaba Cloud (MSE and ECS RPC JSON, ACK
// ROA JSON) and a fake Kubernetes API from one in-memory World, on loopback,
// speaking the wire formats the real SDK and client-go expect. Tests and
// benchmarks of live collection use it; nothing here reaches a network.
package fakecloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/apimeta"
)

// Group is an ECS security group as the fake serves it.
type Group struct {
	ID, Name, Type, VpcID, InnerAccessPolicy string
	ServiceManaged                           bool
	Rules                                    []Permission
}

// Permission is a rule in DescribeSecurityGroupAttribute's wire form
// (strings, API case).
type Permission struct {
	SecurityGroupRuleId, Direction, Policy, Priority, IpProtocol, PortRange  string
	SourceGroupId, SourceCidrIp, SourcePrefixListId, DestGroupId, DestCidrIp string
	NicType, Description                                                     string
	DestPrefixListId                                                         string `json:",omitempty"`
	PortRangeListId                                                          string `json:",omitempty"`
	Ipv6SourceCidrIp, Ipv6DestCidrIp, SourcePortRange                        string `json:",omitempty"`
}

// Instance is an ECS instance.
type Instance struct {
	ID, Name, VpcID string
	PrivateIP       string
	GroupIDs        []string
	ENIIDs          []string
}

// ENI is an elastic network interface.
type ENI struct {
	ID, InstanceID, Type, VpcID string
	IPs                         []string // first is the primary private IP
	Prefixes                    []string
	GroupIDs                    []string
}

// Authorization is a row of MSE ListSecurityGroupRule.
type Authorization struct {
	Id, SecurityGroupId, PortRange, IpProtocol, Description string
}

// GatewayService is a row of MSE ListGatewayService.
type GatewayService struct {
	Name, Namespace, SourceType, ServiceProtocol string
	SourceId, ServicePort                        int64
	Ports                                        []int
	Ips                                          []string
	HealthStatus                                 string
	// HealthCheck is served only when set, so a test can omit it as an
	// older API answer would.
	HealthCheck        *bool
	UnhealthyEndpoints []string
}

// NodePool is an ACK node pool.
type NodePool struct {
	ID, Name string
	GroupIDs []string
}

// Cloud is the Alibaba Cloud side of a World.
type Cloud struct {
	GatewayID, GatewayName, GatewayVpc, GatewayGroup string
	VSwitches                                        map[string]string // id → CIDR
	VSwitchZones                                     map[string]string // id → zone, optional
	GatewayVSwitches                                 []string
	Authorizations                                   []Authorization
	Services                                         []GatewayService
	ClusterID                                        string
	// ClusterGroup is the cluster's security group (DescribeClusterDetail).
	ClusterGroup string
	Groups       map[string]*Group
	Instances    map[string]*Instance
	ENIs         map[string]*ENI
	NodePools    []NodePool
	// MoreGateways are further gateways in the region: ListGateway lists
	// them after this one, and the gateway-scoped MSE calls (GetGateway,
	// ListSecurityGroupRule, ListGatewayService, ListServiceSource) answer
	// from their gateway fields; ECS and ACK calls answer from this Cloud's
	// resources, shared by every gateway.
	MoreGateways []*Cloud
}

// Faults makes the fake misbehave, per RAM action ("ecs:DescribeInstances").
type Faults struct {
	mu sync.Mutex
	// Deny answers HTTP 403 with an access-denied code (Forbidden.RAM for
	// ECS and ACK, NoPermission for MSE).
	Deny map[string]bool
	// Throttle answers the first N calls of the action with HTTP 400
	// Throttling.User, then succeeds.
	Throttle map[string]int
	// ServerError answers the first N calls with HTTP 503 ServiceUnavailable.
	ServerError map[string]int
	// FailAfter lets the first N calls of the action through and answers
	// every later one with HTTP 500 InternalError (a failure mid-plan).
	FailAfter map[string]int
}

// AliyunServer is a running fake Alibaba Cloud endpoint.
type AliyunServer struct {
	*httptest.Server
	Cloud   *Cloud
	Faults  *Faults
	Latency time.Duration
	// latencyOverride is SetLatency's value (nanoseconds; 0: use Latency).
	latencyOverride atomic.Int64
	// RulePageSize caps DescribeSecurityGroupAttribute pages (0: MaxResults).
	RulePageSize int

	// Meta, when set, holds every write request to the API metadata
	// (parameter names, deprecations, types, required parameters): a
	// request that breaks it is refused with InvalidParameter and recorded
	// in Violations.
	Meta apimeta.Catalog

	mu         sync.Mutex
	calls      map[string]int
	seen       []http.Header
	query      []string
	violations []string
	tokens     map[string]bool // ECS ClientTokens already served
	nextAuthID int
	nextRuleID int
	// state guards Cloud: requests read it, Mutate changes it.
	state sync.RWMutex
}

// Mutate changes the fake's account while it serves (a scripted change
// between two collections); no request sees it half done.
func (s *AliyunServer) Mutate(change func(c *Cloud)) {
	s.state.Lock()
	defer s.state.Unlock()
	change(s.Cloud)
}

// NewAliyun starts a fake endpoint for c.
func NewAliyun(c *Cloud) *AliyunServer {
	s := &AliyunServer{Cloud: c, Faults: &Faults{}, calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Calls returns the number of calls per RAM action.
func (s *AliyunServer) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// TotalCalls is the number of calls answered.
func (s *AliyunServer) TotalCalls() int {
	n := 0
	for _, v := range s.Calls() {
		n += v
	}
	return n
}

// RawQueries returns every raw query string and form body received, for
// tests that check what the client sent.
func (s *AliyunServer) RawQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.query...)
}

func (f *Faults) take(m map[string]int, action string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m[action] > 0 {
		m[action]--
		return true
	}
	return false
}

// SetLatency changes the added latency while the server is serving (the
// Latency field may only be set before the first request).
func (s *AliyunServer) SetLatency(d time.Duration) { s.latencyOverride.Store(int64(d)) }

func (s *AliyunServer) latency() time.Duration {
	if d := s.latencyOverride.Load(); d != 0 {
		return time.Duration(d)
	}
	return s.Latency
}

func (s *AliyunServer) serve(w http.ResponseWriter, r *http.Request) {
	if latency := s.latency(); latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return // the client gave up
		}
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, map[string]any{"Code": "InvalidParameter", "Message": err.Error(), "RequestId": reqID()})
		return
	}
	var action string
	roa := strings.HasPrefix(r.URL.Path, "/clusters/")
	if roa {
		action = "cs:DescribeClusterNodePools"
		if !strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/nodepools") {
			action = "cs:DescribeClusterDetail"
		}
	} else {
		action = productOf(r.Form.Get("Action")) + ":" + r.Form.Get("Action")
	}
	s.mu.Lock()
	s.calls[action]++
	nth := s.calls[action]
	s.query = append(s.query, r.URL.RawQuery+"&"+r.Form.Encode())
	s.mu.Unlock()

	if r.Form.Get("Signature") == "" && r.Header.Get("Authorization") == "" {
		writeJSON(w, 400, map[string]any{"Code": "MissingSignature", "Message": "unsigned request", "RequestId": reqID()})
		return
	}
	f := s.Faults
	f.mu.Lock()
	denied := f.Deny[action]
	limit, limited := f.FailAfter[action]
	f.mu.Unlock()
	switch {
	case denied:
		code := "Forbidden.RAM"
		if strings.HasPrefix(action, "mse:") {
			code = "NoPermission"
		}
		msg := fmt.Sprintf("User not authorized to operate on the specified resource, or this API doesn't support RAM. Action: %s", action)
		if roa {
			writeJSON(w, 403, map[string]any{"code": code, "message": msg, "requestId": reqID(), "status": 403})
		} else {
			writeJSON(w, 403, map[string]any{"Code": code, "Message": msg, "RequestId": reqID(), "HostId": r.Host})
		}
		return
	case f.take(f.Throttle, action):
		writeJSON(w, 400, map[string]any{"Code": "Throttling.User", "Message": "Request was denied due to user flow control.", "RequestId": reqID(), "HostId": r.Host})
		return
	case limited && nth > limit:
		writeJSON(w, 500, map[string]any{"Code": "InternalError", "Message": "The request processing has failed due to some unknown error.", "RequestId": reqID()})
		return
	case f.take(f.ServerError, action):
		writeJSON(w, 503, map[string]any{"Code": "ServiceUnavailable", "Message": "The request has failed due to a temporary failure of the server.", "RequestId": reqID()})
		return
	}
	switch r.Form.Get("Action") {
	case "AddSecurityGroupRule", "DeleteSecurityGroupRule", "AuthorizeSecurityGroup", "RevokeSecurityGroup":
		s.write(w, r) // under the state's write lock
		return
	}
	s.state.RLock()
	defer s.state.RUnlock()
	if roa {
		if action == "cs:DescribeClusterDetail" {
			s.clusterDetail(w, r)
			return
		}
		s.nodePools(w, r)
		return
	}
	switch r.Form.Get("Action") {
	case "ListGateway":
		s.listGateways(w, r)
	case "GetGateway":
		s.getGateway(w, r)
	case "ListSecurityGroupRule":
		s.listAuthorizations(w, r)
	case "ListGatewayService":
		s.listServices(w, r)
	case "ListServiceSource":
		s.listSources(w, r)
	case "DescribeSecurityGroups":
		s.describeGroups(w, r)
	case "DescribeSecurityGroupAttribute":
		s.describeGroupAttribute(w, r)
	case "DescribeInstances":
		s.describeInstances(w, r)
	case "DescribeNetworkInterfaces":
		s.describeENIs(w, r)
	case "DescribeVSwitches":
		s.describeVSwitches(w, r)
	default:
		writeJSON(w, 404, map[string]any{"Code": "InvalidAction.NotFound", "Message": "Specified api is not found, please check your url and method.", "RequestId": reqID()})
	}
}

func productOf(action string) string {
	switch action {
	case "GetGateway", "ListSecurityGroupRule", "ListGatewayService", "ListServiceSource", "ListGateway", "AddSecurityGroupRule", "DeleteSecurityGroupRule":
		return "mse"
	}
	return "ecs"
}

var reqSeq struct {
	sync.Mutex
	n int
}

func reqID() string {
	reqSeq.Lock()
	defer reqSeq.Unlock()
	reqSeq.n++
	return fmt.Sprintf("5B1E2C3D-0000-4000-8000-%012d", reqSeq.n)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func mseOK(data any) map[string]any {
	return map[string]any{"RequestId": reqID(), "HttpStatusCode": 200, "Code": 200, "Success": true, "Message": "", "Data": data}
}

// gateways is every gateway of the region, this Cloud's first.
func (s *AliyunServer) gateways() []*Cloud {
	return append([]*Cloud{s.Cloud}, s.Cloud.MoreGateways...)
}

// gateway finds the gateway id names, or answers NotFound.Gateway.
func (s *AliyunServer) gateway(w http.ResponseWriter, id string) (*Cloud, bool) {
	for _, c := range s.gateways() {
		if c.GatewayID == id {
			return c, true
		}
	}
	writeJSON(w, 404, map[string]any{"Code": "NotFound.Gateway", "Message": "gateway " + id + " not found", "RequestId": reqID()})
	return nil, false
}

// listGateways answers ListGateway: Data.Result paged by PageNumber and
// PageSize, as ListGatewayService is.
func (s *AliyunServer) listGateways(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.Form.Get("PageNumber"))
	size, _ := strconv.Atoi(r.Form.Get("PageSize"))
	if page < 1 {
		page = 1
	}
	if size < 1 {
		size = 10
	}
	all := s.gateways()
	lo, hi := min((page-1)*size, len(all)), min(page*size, len(all))
	rows := []map[string]any{}
	for i, c := range all[lo:hi] {
		rows = append(rows, map[string]any{"Id": lo + i + 1, "GatewayUniqueId": c.GatewayID, "Name": c.GatewayName, "VpcId": c.GatewayVpc,
			"Region": "cn-hangzhou", "Status": 2, "StatusDesc": "Running", "GatewayType": "Ingress", "Replica": 2, "Spec": "MSE_GTW_2_4_200_c"})
	}
	writeJSON(w, 200, mseOK(map[string]any{"TotalSize": len(all), "PageNumber": page, "PageSize": size, "Result": rows}))
}

func (s *AliyunServer) getGateway(w http.ResponseWriter, r *http.Request) {
	c, ok := s.gateway(w, r.Form.Get("GatewayUniqueId"))
	if !ok {
		return
	}
	d := map[string]any{"GatewayUniqueId": c.GatewayID, "Name": c.GatewayName, "Vpc": c.GatewayVpc,
		"SecurityGroup": c.GatewayGroup, "Status": 2, "StatusDesc": "Running", "Replica": 2, "Spec": "MSE_GTW_2_4_200_c"}
	if len(c.GatewayVSwitches) > 0 {
		d["Vswitch"] = c.GatewayVSwitches[0]
	}
	if len(c.GatewayVSwitches) > 1 {
		d["Vswitch2"] = c.GatewayVSwitches[1]
	}
	writeJSON(w, 200, mseOK(d))
}

func (s *AliyunServer) listAuthorizations(w http.ResponseWriter, r *http.Request) {
	c, ok := s.gateway(w, r.Form.Get("GatewayUniqueId"))
	if !ok {
		return
	}
	rows := []map[string]any{}
	for _, a := range c.Authorizations {
		rows = append(rows, map[string]any{"Id": a.Id, "SecurityGroupId": a.SecurityGroupId, "PortRange": a.PortRange,
			"IpProtocol": a.IpProtocol, "Description": a.Description, "GatewayUniqueId": c.GatewayID,
			"GmtCreate": "2026-11-01 10:00:00", "GmtModified": "2026-11-01 10:00:00"})
	}
	writeJSON(w, 200, mseOK(rows))
}

func (s *AliyunServer) listServices(w http.ResponseWriter, r *http.Request) {
	var filter struct{ GatewayUniqueId string }
	if err := json.Unmarshal([]byte(r.Form.Get("FilterParams")), &filter); err != nil {
		writeJSON(w, 400, map[string]any{"Code": "InvalidParameter", "Message": "FilterParams must be a JSON object", "RequestId": reqID()})
		return
	}
	c, ok := s.gateway(w, filter.GatewayUniqueId)
	if !ok {
		return
	}
	page, _ := strconv.Atoi(r.Form.Get("PageNumber"))
	size, _ := strconv.Atoi(r.Form.Get("PageSize"))
	if page < 1 {
		page = 1
	}
	if size < 1 {
		size = 10
	}
	all := c.Services
	lo, hi := min((page-1)*size, len(all)), min(page*size, len(all))
	rows := []map[string]any{}
	for _, sv := range all[lo:hi] {
		row := map[string]any{"Name": sv.Name, "Namespace": sv.Namespace, "SourceType": sv.SourceType,
			"ServiceProtocol": sv.ServiceProtocol, "ServicePort": sv.ServicePort, "Ports": sv.Ports, "Ips": sv.Ips,
			"HealthStatus": sv.HealthStatus, "SourceId": sv.SourceId, "GatewayUniqueId": c.GatewayID}
		if sv.HealthCheck != nil {
			row["HealthCheck"] = *sv.HealthCheck
		}
		if sv.UnhealthyEndpoints != nil {
			row["UnhealthyEndpoints"] = sv.UnhealthyEndpoints
		}
		rows = append(rows, row)
	}
	writeJSON(w, 200, mseOK(map[string]any{"TotalSize": len(all), "PageNumber": page, "PageSize": size, "Result": rows}))
}

func (s *AliyunServer) listSources(w http.ResponseWriter, r *http.Request) {
	c, ok := s.gateway(w, r.Form.Get("GatewayUniqueId"))
	if !ok {
		return
	}
	rows := []map[string]any{}
	if c.ClusterID != "" {
		rows = append(rows, map[string]any{"Id": 1, "Type": "K8S", "Source": "K8S", "Name": "ack-prod", "Address": c.ClusterID,
			"GatewayUniqueId": c.GatewayID})
	}
	writeJSON(w, 200, mseOK(rows))
}

// jsonIDs parses an ECS JSON-array parameter.
func jsonIDs(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var ids []string
	err := json.Unmarshal([]byte(v), &ids)
	return ids, err
}

// repeated reads Name.1, Name.2, … parameters.
func repeated(r *http.Request, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v := r.Form.Get(name + "." + strconv.Itoa(i))
		if v == "" {
			return out
		}
		out = append(out, v)
	}
}

func badParam(w http.ResponseWriter, msg string) {
	writeJSON(w, 400, map[string]any{"Code": "InvalidParameter", "Message": msg, "RequestId": reqID()})
}

// page cuts items by NextToken (an offset) and MaxResults.
func page[T any](w http.ResponseWriter, r *http.Request, items []T, maxCap int) ([]T, string, bool) {
	max, _ := strconv.Atoi(r.Form.Get("MaxResults"))
	if max <= 0 {
		max = 10
	}
	if max > maxCap {
		badParam(w, fmt.Sprintf("MaxResults must be at most %d", maxCap))
		return nil, "", false
	}
	off := 0
	if t := r.Form.Get("NextToken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			writeJSON(w, 400, map[string]any{"Code": "InvalidNextToken.Malformed", "Message": "The specified parameter NextToken is not valid.", "RequestId": reqID()})
			return nil, "", false
		}
		off = n
	}
	off = min(off, len(items))
	end := min(off+max, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[off:end], next, true
}

func (s *AliyunServer) describeGroups(w http.ResponseWriter, r *http.Request) {
	ids, err := jsonIDs(r.Form.Get("SecurityGroupIds"))
	if err != nil || len(ids) > 100 {
		badParam(w, "SecurityGroupIds must be a JSON array of at most 100 ids")
		return
	}
	var groups []*Group
	for _, id := range ids {
		if g := s.Cloud.Groups[id]; g != nil {
			groups = append(groups, g)
		}
	}
	items, next, ok := page(w, r, groups, 100)
	if !ok {
		return
	}
	rows := []map[string]any{}
	for _, g := range items {
		rows = append(rows, map[string]any{"SecurityGroupId": g.ID, "SecurityGroupName": g.Name, "SecurityGroupType": g.Type,
			"VpcId": g.VpcID, "ServiceManaged": g.ServiceManaged, "RuleCount": len(g.Rules), "Description": ""})
	}
	writeJSON(w, 200, map[string]any{"RequestId": reqID(), "RegionId": "cn-hangzhou", "NextToken": next,
		"SecurityGroups": map[string]any{"SecurityGroup": rows}})
}

func (s *AliyunServer) describeGroupAttribute(w http.ResponseWriter, r *http.Request) {
	g := s.Cloud.Groups[r.Form.Get("SecurityGroupId")]
	if g == nil {
		writeJSON(w, 404, map[string]any{"Code": "InvalidSecurityGroupId.NotFound", "Message": "The specified SecurityGroupId does not exist.", "RequestId": reqID()})
		return
	}
	dir := strings.ToLower(r.Form.Get("Direction"))
	var rules []Permission
	for _, p := range g.Rules {
		if dir == "" || dir == "all" || strings.EqualFold(p.Direction, dir) {
			rules = append(rules, p)
		}
	}
	if s.RulePageSize > 0 && r.Form.Get("MaxResults") != "" {
		r.Form.Set("MaxResults", strconv.Itoa(min(s.RulePageSize, atoi(r.Form.Get("MaxResults")))))
	}
	items, next, ok := page(w, r, rules, 1000)
	if !ok {
		return
	}
	if r.Form.Get("MaxResults") == "" {
		items, next = rules, "" // without MaxResults the API answers every rule
	}
	if items == nil {
		items = []Permission{}
	}
	writeJSON(w, 200, map[string]any{"RequestId": reqID(), "RegionId": "cn-hangzhou", "SecurityGroupId": g.ID,
		"SecurityGroupName": g.Name, "VpcId": g.VpcID, "InnerAccessPolicy": g.InnerAccessPolicy, "Description": "",
		"NextToken": next, "Permissions": map[string]any{"Permission": items}})
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func (s *AliyunServer) describeInstances(w http.ResponseWriter, r *http.Request) {
	ids, err1 := jsonIDs(r.Form.Get("InstanceIds"))
	ips, err2 := jsonIDs(r.Form.Get("PrivateIpAddresses"))
	if err1 != nil || err2 != nil || len(ids) > 100 || len(ips) > 100 {
		badParam(w, "InstanceIds and PrivateIpAddresses must be JSON arrays of at most 100")
		return
	}
	var found []*Instance
	if len(ids) > 0 {
		for _, id := range ids {
			if in := s.Cloud.Instances[id]; in != nil {
				found = append(found, in)
			}
		}
	} else if len(ips) > 0 {
		want := map[string]bool{}
		for _, ip := range ips {
			want[ip] = true
		}
		for _, in := range sortedInstances(s.Cloud.Instances) {
			if want[in.PrivateIP] && (r.Form.Get("VpcId") == "" || r.Form.Get("VpcId") == in.VpcID) {
				found = append(found, in)
			}
		}
	}
	items, next, ok := page(w, r, found, 100)
	if !ok {
		return
	}
	rows := []map[string]any{}
	for _, in := range items {
		var nics []map[string]any
		for _, id := range in.ENIIDs {
			e := s.Cloud.ENIs[id]
			if e == nil {
				continue
			}
			nics = append(nics, map[string]any{"NetworkInterfaceId": e.ID, "Type": e.Type, "PrimaryIpAddress": e.IPs[0]})
		}
		rows = append(rows, map[string]any{"InstanceId": in.ID, "InstanceName": in.Name, "Status": "Running", "RegionId": "cn-hangzhou",
			"InstanceNetworkType": "vpc",
			"VpcAttributes":       map[string]any{"VpcId": in.VpcID, "PrivateIpAddress": map[string]any{"IpAddress": []string{in.PrivateIP}}},
			"SecurityGroupIds":    map[string]any{"SecurityGroupId": in.GroupIDs},
			"NetworkInterfaces":   map[string]any{"NetworkInterface": nics}})
	}
	writeJSON(w, 200, map[string]any{"RequestId": reqID(), "NextToken": next, "TotalCount": len(found), "Instances": map[string]any{"Instance": rows}})
}

func sortedInstances(m map[string]*Instance) []*Instance {
	out := make([]*Instance, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *AliyunServer) describeENIs(w http.ResponseWriter, r *http.Request) {
	ids := repeated(r, "NetworkInterfaceId")
	ips := repeated(r, "PrivateIpAddress")
	inst := r.Form.Get("InstanceId")
	if len(ids) > 100 || len(ips) > 100 {
		badParam(w, "at most 100 NetworkInterfaceId or PrivateIpAddress values")
		return
	}
	var found []*ENI
	all := make([]*ENI, 0, len(s.Cloud.ENIs))
	for _, e := range s.Cloud.ENIs {
		all = append(all, e)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	wantID, wantIP := set(ids), set(ips)
	for _, e := range all {
		match := true
		if len(ids) > 0 && !wantID[e.ID] {
			match = false
		}
		if inst != "" && e.InstanceID != inst {
			match = false
		}
		if len(ips) > 0 {
			hit := false
			for _, ip := range e.IPs {
				hit = hit || wantIP[ip]
			}
			match = match && hit
		}
		if match {
			found = append(found, e)
		}
	}
	items, next, ok := page(w, r, found, 500)
	if !ok {
		return
	}
	rows := []map[string]any{}
	for _, e := range items {
		var ipsets []map[string]any
		for i, ip := range e.IPs {
			ipsets = append(ipsets, map[string]any{"PrivateIpAddress": ip, "Primary": i == 0})
		}
		var prefixes []map[string]any
		for _, p := range e.Prefixes {
			prefixes = append(prefixes, map[string]any{"Ipv4Prefix": p})
		}
		rows = append(rows, map[string]any{"NetworkInterfaceId": e.ID, "InstanceId": e.InstanceID, "Type": e.Type, "VpcId": e.VpcID,
			"Status": "InUse", "PrivateIpAddress": e.IPs[0],
			"PrivateIpSets":    map[string]any{"PrivateIpSet": ipsets},
			"Ipv4PrefixSets":   map[string]any{"Ipv4PrefixSet": prefixes},
			"SecurityGroupIds": map[string]any{"SecurityGroupId": e.GroupIDs},
			"Attachment":       map[string]any{"InstanceId": e.InstanceID}})
	}
	writeJSON(w, 200, map[string]any{"RequestId": reqID(), "NextToken": next, "TotalCount": len(found),
		"NetworkInterfaceSets": map[string]any{"NetworkInterfaceSet": rows}})
}

func set(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}

func (s *AliyunServer) describeVSwitches(w http.ResponseWriter, r *http.Request) {
	id := r.Form.Get("VSwitchId")
	rows := []map[string]any{}
	if cidr, ok := s.Cloud.VSwitches[id]; ok {
		rows = append(rows, map[string]any{"VSwitchId": id, "VpcId": s.Cloud.GatewayVpc, "CidrBlock": cidr, "ZoneId": s.Cloud.VSwitchZones[id], "Status": "Available"})
	}
	writeJSON(w, 200, map[string]any{"RequestId": reqID(), "TotalCount": len(rows), "PageNumber": 1, "PageSize": 10,
		"VSwitches": map[string]any{"VSwitch": rows}})
}

func (s *AliyunServer) clusterDetail(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 2 || r.Method != http.MethodGet {
		writeJSON(w, 404, map[string]any{"code": "NotFound", "message": "no such path " + r.URL.Path, "requestId": reqID()})
		return
	}
	if parts[1] != s.Cloud.ClusterID {
		writeJSON(w, 404, map[string]any{"code": "ErrorClusterNotFound", "message": "cluster " + parts[1] + " not found", "requestId": reqID(), "status": 404})
		return
	}
	writeJSON(w, 200, map[string]any{"cluster_id": s.Cloud.ClusterID, "name": "prod", "cluster_type": "ManagedKubernetes", "profile": "Default",
		"region_id": "cn-hangzhou", "vpc_id": s.Cloud.GatewayVpc, "security_group_id": s.Cloud.ClusterGroup, "state": "running"})
}

func (s *AliyunServer) nodePools(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 3 || parts[2] != "nodepools" || r.Method != http.MethodGet {
		writeJSON(w, 404, map[string]any{"code": "NotFound", "message": "no such path " + r.URL.Path, "requestId": reqID()})
		return
	}
	if parts[1] != s.Cloud.ClusterID {
		writeJSON(w, 404, map[string]any{"code": "ErrorClusterNotFound", "message": "cluster " + parts[1] + " not found", "requestId": reqID(), "status": 404})
		return
	}
	pools := []map[string]any{}
	for _, p := range s.Cloud.NodePools {
		pools = append(pools, map[string]any{
			"nodepool_info": map[string]any{"nodepool_id": p.ID, "name": p.Name, "type": "ess", "is_default": p.Name == "default"},
			"scaling_group": map[string]any{"security_group_ids": p.GroupIDs, "vswitch_ids": []string{"vsw-nodes"}},
			"status":        map[string]any{"state": "active", "total_nodes": 3},
		})
	}
	writeJSON(w, 200, map[string]any{"nodepools": pools})
}
