package fakecloud

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/internal/apimeta"
)

// The write APIs gwdoctor fix calls, as the services behave as far as their
// references say: MSE AddSecurityGroupRule adds the authorization and writes
// the inbound rule (source = the gateway's group) into the backend group;
// DeleteSecurityGroupRule with CascadingDelete removes that rule too; ECS
// AuthorizeSecurityGroup adds Permissions.N rules (a ClientToken seen before
// is a no-op, an identical rule is InvalidPermission.Duplicate, a managed
// group is InvalidOperation.ResourceManagedByCloudProduct);
// RevokeSecurityGroup removes rules by id or by exact content.

// commonParams are the RPC parameters the SDK adds to every request.
var commonParams = []string{"Action", "Version", "Format", "AccessKeyId", "SecurityToken", "Signature", "SignatureMethod",
	"SignatureVersion", "SignatureNonce", "SignatureType", "Timestamp", "RegionId"}

// Violations lists the write requests that broke the API metadata.
func (s *AliyunServer) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// checkMeta holds a request to the API metadata; it reports whether the
// request may be served.
func (s *AliyunServer) checkMeta(w http.ResponseWriter, r *http.Request, product, action string) bool {
	if s.Meta == nil {
		return true
	}
	a, ok := s.Meta.Lookup(product, action)
	var problems []string
	if !ok {
		problems = append(problems, "no API "+product+" "+action+" in the metadata")
	} else {
		for _, key := range sortedFormKeys(r) {
			if slices.Contains(commonParams, key) {
				if _, err := a.Param(key); err != nil {
					continue // a common parameter the API does not list
				}
			}
			p, err := a.Param(key)
			switch {
			case err != nil:
				problems = append(problems, err.Error())
			case p.Deprecated:
				problems = append(problems, key+" is deprecated")
			default:
				if err := apimeta.CheckValue(p, r.Form.Get(key)); err != nil {
					problems = append(problems, err.Error())
				}
			}
		}
		for _, p := range a.Params {
			if p.Required && r.Form.Get(p.Name) == "" {
				problems = append(problems, "required parameter "+p.Name+" is missing")
			}
		}
	}
	if len(problems) == 0 {
		return true
	}
	msg := product + " " + action + ": " + strings.Join(problems, "; ")
	s.mu.Lock()
	s.violations = append(s.violations, msg)
	s.mu.Unlock()
	badParam(w, msg)
	return false
}

func sortedFormKeys(r *http.Request) []string {
	keys := make([]string, 0, len(r.Form))
	for k := range r.Form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *AliyunServer) write(w http.ResponseWriter, r *http.Request) {
	action := r.Form.Get("Action")
	if !s.checkMeta(w, r, productOf(action), action) {
		return
	}
	s.state.Lock()
	defer s.state.Unlock()
	switch action {
	case "AddSecurityGroupRule":
		s.addAuthorization(w, r)
	case "DeleteSecurityGroupRule":
		s.deleteAuthorization(w, r)
	case "AuthorizeSecurityGroup":
		s.authorizeGroup(w, r)
	case "RevokeSecurityGroup":
		s.revokeGroup(w, r)
	}
}

func (s *AliyunServer) newRuleID() string {
	s.nextRuleID++
	return fmt.Sprintf("sgr-fake-%d", s.nextRuleID)
}

func (s *AliyunServer) addAuthorization(w http.ResponseWriter, r *http.Request) {
	c, ok := s.gateway(w, r.Form.Get("GatewayUniqueId"))
	if !ok {
		return
	}
	group, ports := r.Form.Get("SecurityGroupId"), r.Form.Get("PortRange")
	g := s.Cloud.Groups[group] // groups are the account's, shared by every gateway
	if g == nil {
		writeJSON(w, 404, map[string]any{"Code": "InvalidParameter.SecurityGroupId", "Message": "security group " + group + " not found", "RequestId": reqID()})
		return
	}
	for _, a := range c.Authorizations {
		if a.SecurityGroupId == group && a.PortRange == ports {
			writeJSON(w, 400, map[string]any{"Code": "Duplicate.SecurityGroupRule", "Message": "the security group is already authorized for this port range", "RequestId": reqID()})
			return
		}
	}
	if s.nextAuthID == 0 {
		s.nextAuthID = 5000
	}
	s.nextAuthID++
	id := strconv.Itoa(s.nextAuthID)
	c.Authorizations = append(c.Authorizations, Authorization{Id: id, SecurityGroupId: group, PortRange: ports, IpProtocol: "TCP", Description: r.Form.Get("Description")})
	g.Rules = append(g.Rules, Permission{SecurityGroupRuleId: s.newRuleID(), Direction: "ingress", Policy: "Accept", Priority: "1", IpProtocol: "TCP",
		PortRange: ports, SourceGroupId: c.GatewayGroup, NicType: "intranet", Description: "mse gateway " + c.GatewayID})
	writeJSON(w, 200, mseOK(id))
}

func (s *AliyunServer) deleteAuthorization(w http.ResponseWriter, r *http.Request) {
	c, ok := s.gateway(w, r.Form.Get("GatewayUniqueId"))
	if !ok {
		return
	}
	id := r.Form.Get("Id")
	i := slices.IndexFunc(c.Authorizations, func(a Authorization) bool { return a.Id == id })
	if i < 0 {
		writeJSON(w, 404, map[string]any{"Code": "NotFound.SecurityGroupRule", "Message": "authorization " + id + " not found", "RequestId": reqID()})
		return
	}
	a := c.Authorizations[i]
	c.Authorizations = slices.Delete(c.Authorizations, i, i+1)
	if r.Form.Get("CascadingDelete") == "true" {
		if g := s.Cloud.Groups[a.SecurityGroupId]; g != nil {
			g.Rules = slices.DeleteFunc(g.Rules, func(p Permission) bool {
				return strings.EqualFold(p.Direction, "ingress") && p.SourceGroupId == c.GatewayGroup && p.PortRange == a.PortRange
			})
		}
	}
	writeJSON(w, 200, mseOK(nil))
}

// permissions reads Permissions.N.* into rules.
func permissions(r *http.Request) []Permission {
	var out []Permission
	for n := 1; ; n++ {
		get := func(k string) string { return r.Form.Get(fmt.Sprintf("Permissions.%d.%s", n, k)) }
		p := Permission{Direction: "ingress", Policy: get("Policy"), Priority: get("Priority"), IpProtocol: get("IpProtocol"), PortRange: get("PortRange"),
			SourceGroupId: get("SourceGroupId"), SourceCidrIp: get("SourceCidrIp"), Description: get("Description")}
		if p.IpProtocol == "" && p.PortRange == "" && p.SourceGroupId == "" && p.SourceCidrIp == "" {
			return out
		}
		if p.Policy == "" {
			p.Policy = "accept"
		}
		if p.Priority == "" {
			p.Priority = "1"
		}
		out = append(out, p)
	}
}

func sameRule(a, b Permission) bool {
	return strings.EqualFold(a.Direction, b.Direction) && strings.EqualFold(a.Policy, b.Policy) && a.Priority == b.Priority &&
		strings.EqualFold(a.IpProtocol, b.IpProtocol) && a.PortRange == b.PortRange && a.SourceGroupId == b.SourceGroupId && a.SourceCidrIp == b.SourceCidrIp
}

func (s *AliyunServer) groupForWrite(w http.ResponseWriter, r *http.Request) *Group {
	g := s.Cloud.Groups[r.Form.Get("SecurityGroupId")]
	switch {
	case g == nil:
		writeJSON(w, 404, map[string]any{"Code": "InvalidSecurityGroupId.NotFound", "Message": "The specified SecurityGroupId does not exist.", "RequestId": reqID()})
	case g.ServiceManaged:
		writeJSON(w, 403, map[string]any{"Code": "InvalidOperation.ResourceManagedByCloudProduct", "Message": "The security group is managed by a cloud product and cannot be modified.", "RequestId": reqID()})
		return nil
	}
	return g
}

func (s *AliyunServer) authorizeGroup(w http.ResponseWriter, r *http.Request) {
	g := s.groupForWrite(w, r)
	if g == nil {
		return
	}
	if tok := r.Form.Get("ClientToken"); tok != "" {
		if s.tokens[tok] {
			writeJSON(w, 200, map[string]any{"RequestId": reqID()}) // the same call again: nothing more happens
			return
		}
		if s.tokens == nil {
			s.tokens = map[string]bool{}
		}
		defer func() { s.tokens[tok] = true }()
	}
	ps := permissions(r)
	if len(ps) == 0 {
		badParam(w, "no Permissions.N given")
		return
	}
	for _, p := range ps {
		if slices.ContainsFunc(g.Rules, func(q Permission) bool { return sameRule(p, q) }) {
			writeJSON(w, 400, map[string]any{"Code": "InvalidPermission.Duplicate", "Message": "The specified rule exists.", "RequestId": reqID()})
			return
		}
	}
	for _, p := range ps {
		p.SecurityGroupRuleId = s.newRuleID()
		p.NicType = "intranet"
		g.Rules = append(g.Rules, p)
	}
	writeJSON(w, 200, map[string]any{"RequestId": reqID()})
}

func (s *AliyunServer) revokeGroup(w http.ResponseWriter, r *http.Request) {
	g := s.groupForWrite(w, r)
	if g == nil {
		return
	}
	ids := repeated(r, "SecurityGroupRuleId")
	ps := permissions(r)
	g.Rules = slices.DeleteFunc(g.Rules, func(q Permission) bool {
		return slices.Contains(ids, q.SecurityGroupRuleId) || slices.ContainsFunc(ps, func(p Permission) bool { return sameRule(p, q) })
	})
	writeJSON(w, 200, map[string]any{"RequestId": reqID()})
}
