package aliyun

import (
	"context"
	"strconv"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/mse"
)

// RAM actions of gwdoctor fix --apply: the only writes gwdoctor makes, kept
// apart from the read-only Actions so the read policy stays read-only.
const (
	ActionAddSecurityGroupRule    = "mse:AddSecurityGroupRule"
	ActionDeleteSecurityGroupRule = "mse:DeleteSecurityGroupRule"
	ActionAuthorizeSecurityGroup  = "ecs:AuthorizeSecurityGroup"
	ActionRevokeSecurityGroup     = "ecs:RevokeSecurityGroup"
)

// FixActions are the RAM actions fix --apply calls: it only adds.
var FixActions = []string{ActionAddSecurityGroupRule, ActionAuthorizeSecurityGroup}

// UndoActions are the RAM actions the calls of a fix undo file need.
var UndoActions = []string{ActionDeleteSecurityGroupRule, ActionRevokeSecurityGroup}

// WriteActions is every write gwdoctor knows: FixActions and UndoActions.
var WriteActions = append(append([]string(nil), FixActions...), UndoActions...)

// Permission is one rule of AuthorizeSecurityGroup / RevokeSecurityGroup
// (Permissions.N.*; the top-level fields are deprecated).
type Permission struct {
	IpProtocol, PortRange, SourceGroupID, SourceCidrIP, Policy, Priority, Description string
}

// throttled: a throttled write was not executed, so retrying it is safe. A
// timeout or a 5xx may have been executed: an MSE authorization has no
// client token, so such a write is not retried (the caller re-reads).
func throttled(e *APIError) bool {
	return strings.HasPrefix(strings.ToLower(e.Code), "throttling") || e.HTTPStatus == 429
}

// AddSecurityGroupRule authorizes group for ports on the gateway (MSE then
// writes the inbound rule into group) and returns the authorization's id.
func (c *Client) AddSecurityGroupRule(ctx context.Context, gatewayID, group, ports, description string) (string, error) {
	var id string
	err := c.callWith(ctx, ActionAddSecurityGroupRule, throttled, func(s *slot) error {
		req := mse.CreateAddSecurityGroupRuleRequest()
		c.prepare(req)
		req.GatewayUniqueId, req.SecurityGroupId, req.PortRange, req.Description = gatewayID, group, ports, description
		resp, err := s.mse.AddSecurityGroupRule(req)
		if err != nil {
			return err
		}
		if err := mseFailure(resp.Success, resp.Code, resp.HttpStatusCode, resp.Message); err != nil {
			return err
		}
		id = resp.Data
		return nil
	})
	return id, err
}

// DeleteSecurityGroupRule deletes an authorization; cascade deletes the
// inbound rule MSE wrote with it too.
func (c *Client) DeleteSecurityGroupRule(ctx context.Context, gatewayID, id string, cascade bool) error {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return &APIError{Action: ActionDeleteSecurityGroupRule, Code: "InvalidParameter", Message: "the authorization id " + strconv.Quote(id) + " is not an integer"}
	}
	return c.callWith(ctx, ActionDeleteSecurityGroupRule, throttled, func(s *slot) error {
		req := mse.CreateDeleteSecurityGroupRuleRequest()
		c.prepare(req)
		req.GatewayUniqueId, req.Id, req.CascadingDelete = gatewayID, requests.Integer(id), requests.NewBoolean(cascade)
		resp, err := s.mse.DeleteSecurityGroupRule(req)
		if err != nil {
			return err
		}
		return mseFailure(resp.Success, resp.Code, resp.HttpStatusCode, resp.Message)
	})
}

// AuthorizeSecurityGroup adds inbound rules to group. The client token makes
// a repeat of the same call a no-op, so transient failures are retried.
func (c *Client) AuthorizeSecurityGroup(ctx context.Context, group string, perms []Permission, clientToken string) error {
	return c.call(ctx, ActionAuthorizeSecurityGroup, func(s *slot) error {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		c.prepare(req)
		req.RegionId, req.SecurityGroupId, req.ClientToken = c.cfg.Region, group, clientToken
		ps := make([]ecs.AuthorizeSecurityGroupPermissions, len(perms))
		for i, p := range perms {
			ps[i] = ecs.AuthorizeSecurityGroupPermissions{IpProtocol: p.IpProtocol, PortRange: p.PortRange, SourceGroupId: p.SourceGroupID,
				SourceCidrIp: p.SourceCidrIP, Policy: p.Policy, Priority: p.Priority, Description: p.Description}
		}
		req.Permissions = &ps
		_, err := s.ecs.AuthorizeSecurityGroup(req)
		return err
	})
}

// RevokeSecurityGroup deletes the inbound rules of group matching perms.
func (c *Client) RevokeSecurityGroup(ctx context.Context, group string, perms []Permission) error {
	return c.callWith(ctx, ActionRevokeSecurityGroup, throttled, func(s *slot) error {
		req := ecs.CreateRevokeSecurityGroupRequest()
		c.prepare(req)
		req.RegionId, req.SecurityGroupId = c.cfg.Region, group
		ps := make([]ecs.RevokeSecurityGroupPermissions, len(perms))
		for i, p := range perms {
			ps[i] = ecs.RevokeSecurityGroupPermissions{IpProtocol: p.IpProtocol, PortRange: p.PortRange, SourceGroupId: p.SourceGroupID,
				SourceCidrIp: p.SourceCidrIP, Policy: p.Policy, Priority: p.Priority}
		}
		req.Permissions = &ps
		_, err := s.ecs.RevokeSecurityGroup(req)
		return err
	})
}

// WriteRAMPolicy returns the RAM policy of fix --apply's writes alone
// (FixActions); attach it beside the read-only policy (RAMPolicy), and only
// where gwdoctor may change the account.
func WriteRAMPolicy() string { return policyDocument(FixActions) }
