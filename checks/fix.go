package checks

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Remediation text: the console steps use the words of the MSE and ECS
// consoles (MSE FAQ "Configure security group rules for a cloud-native
// gateway"); the commands are aliyun CLI calls with the parameter names of
// the API references (MSE 2019-05-31, ECS 2014-05-26, ACK ROA). Values the
// snapshot does not hold appear as <placeholders>.

// quote makes a CLI argument safe to paste into a POSIX shell.
func quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (f *facts) regionArg() string { return quote(cmp.Or(f.region, "<region-id>")) }

// stepMSEAdd is the console step that authorizes group for ports.
func (f *facts) stepMSEAdd(group, ports string) string {
	return fmt.Sprintf("MSE console → Cloud-native Gateway → Gateways → %s → Security Group Authorization → Add Security Group Authorization: select security group %s and enter port range %s, then confirm.", f.gwID, group, ports)
}

func (f *facts) cmdMSEAdd(group, ports, why string) string {
	return fmt.Sprintf("aliyun mse AddSecurityGroupRule --GatewayUniqueId %s --SecurityGroupId %s --PortRange %s --Description %s",
		quote(f.gwID), quote(group), quote(ports), quote(why))
}

// authIDArg is the authorization id as DeleteSecurityGroupRule wants it (an integer).
func authIDArg(id string) string {
	if _, err := strconv.Atoi(id); err == nil {
		return id
	}
	return "<authorization-id>"
}

func (f *facts) stepMSEDelete(id, group, ports string, cascade bool) string {
	s := fmt.Sprintf("MSE console → Cloud-native Gateway → Gateways → %s → Security Group Authorization → find authorization %s (%s, %s) → Delete", f.gwID, orNone(id), group, ports)
	if cascade {
		s += ", and tick the option to also delete the inbound rule from the security group (cascading delete)."
	} else {
		s += "."
	}
	return s
}

func (f *facts) cmdMSEDelete(id string, cascade bool) string {
	s := fmt.Sprintf("aliyun mse DeleteSecurityGroupRule --GatewayUniqueId %s --Id %s", quote(f.gwID), authIDArg(id))
	if cascade {
		s += " --CascadingDelete true"
	}
	return s
}

// cmdECSAuthorizeGroup adds an inbound accept from the gateway's group.
func (f *facts) cmdECSAuthorizeGroup(group, ports, why string) string {
	return fmt.Sprintf("aliyun ecs AuthorizeSecurityGroup --RegionId %s --SecurityGroupId %s --IpProtocol tcp --PortRange %s --SourceGroupId %s --Policy accept --Priority 1 --Description %s",
		f.regionArg(), quote(group), quote(ports), quote(f.gwGroup), quote(why))
}

// cmdECSAuthorizeCidrs adds inbound accepts from the gateway's addresses
// (one call per address), for groups that cannot reference the gateway's group.
func (f *facts) cmdECSAuthorizeCidrs(group, ports, why string) []string {
	addrs := f.v.Snapshot.Gateway.Addresses
	if len(addrs) == 0 {
		addrs = []string{"<gateway-vswitch-cidr>"}
	}
	var out []string
	for _, a := range addrs {
		out = append(out, fmt.Sprintf("aliyun ecs AuthorizeSecurityGroup --RegionId %s --SecurityGroupId %s --IpProtocol tcp --PortRange %s --SourceCidrIp %s --Policy accept --Priority 1 --Description %s",
			f.regionArg(), quote(group), quote(ports), quote(a), quote(why)))
	}
	return out
}

func (f *facts) cmdECSRevoke(group, ruleID string) string {
	return fmt.Sprintf("aliyun ecs RevokeSecurityGroup --RegionId %s --SecurityGroupId %s --SecurityGroupRuleId.1 %s",
		f.regionArg(), quote(group), quote(cmp.Or(ruleID, "<security-group-rule-id>")))
}

func (f *facts) cmdECSModifyPriority(group, ruleID string, priority int) string {
	return fmt.Sprintf("aliyun ecs ModifySecurityGroupRule --RegionId %s --SecurityGroupId %s --SecurityGroupRuleId %s --Priority %d",
		f.regionArg(), quote(group), quote(cmp.Or(ruleID, "<security-group-rule-id>")), priority)
}

// cmdENIGroups sets an ENI's groups (the call replaces the whole list).
func (f *facts) cmdENIGroups(eni string, groups []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "aliyun ecs ModifyNetworkInterfaceAttribute --RegionId %s --NetworkInterfaceId %s", f.regionArg(), quote(eni))
	for i, g := range groups {
		fmt.Fprintf(&b, " --SecurityGroupId.%d %s", i+1, quote(g))
	}
	return b.String()
}

// cmdNodePoolGroups sets a node pool's groups (ACK ModifyClusterNodePool).
func cmdNodePoolGroups(pool string, groups []string) string {
	q := make([]string, len(groups))
	for i, g := range groups {
		q[i] = strconv.Quote(g)
	}
	body := fmt.Sprintf(`{"scaling_group":{"security_group_ids":[%s]}}`, strings.Join(q, ","))
	return fmt.Sprintf("aliyun cs PUT /clusters/<cluster-id>/nodepools/%s --header 'Content-Type=application/json' --body %s", quote(pool), quote(body))
}

func (f *facts) stepECSRule(group string) string {
	return fmt.Sprintf("ECS console → Network & Security → Security Groups → %s → Manage Rules → Inbound", group)
}

func why(service string) string { return "gwdoctor: MSE gateway to " + service }

// grantAccess is how to grant the gateway access to group on ports: an MSE
// authorization (a rule sourced from the gateway's group) when both groups
// are basic; when either is enterprise — which can neither reference nor be
// referenced — inbound accepts from the gateway's addresses instead. The
// first step says what to do, the rest why; note, when not "", is appended
// to the first step.
func (f *facts) grantAccess(group, ports, service, note string) (steps, cmds []string) {
	if g := f.v.Groups[group]; g != nil && f.enterpriseInvolved(g) {
		step := fmt.Sprintf("%s → Add Rule: action Allow, protocol TCP, port %s, source = the gateway's vSwitch CIDR(s) %s, priority 1%s.",
			f.stepECSRule(group), ports, strings.Join(orPlaceholder(f.v.Snapshot.Gateway.Addresses, "<gateway vSwitch CIDR>"), ", "), note)
		return []string{step, fmt.Sprintf("An MSE authorization would not work: it adds a rule sourced from the gateway's group %s, and a group reference where either side is an enterprise group never matches (%s is %s, the gateway's group %s).",
				f.gwGroup, group, groupType(g), orUnknownType(f.gwType))},
			f.cmdECSAuthorizeCidrs(group, ports, why(service))
	}
	step := f.stepMSEAdd(group, ports)
	if note != "" {
		step += note + "."
	}
	return []string{step}, []string{f.cmdMSEAdd(group, ports, why(service))}
}

func orUnknownType(t string) string {
	if t == "" {
		return "of unknown type"
	}
	return t
}
