package checks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Remediation text: the console steps use the words of the MSE and ECS
// consoles (MSE FAQ "Configure security group rules for a cloud-native
// gateway"); the commands are aliyun CLI calls with the parameter names of
// the API references (MSE 2019-05-31, ECS 2014-05-26, ACK ROA), held to the
// API metadata by the command-contract test (commands_contract_test.go).
//
// Every command must run as printed: values are shell-quoted, the region is
// on every call (MSE and CS take the CLI's --region; ECS its RegionId), and a
// value the snapshot does not hold is never replaced by a <placeholder> (bash
// reads "<x>" as a redirection). Such a command is left out, and a step says
// what to look up instead. Steps never embed a command: they name the API and
// the command comes in the command list.

// command is one aliyun CLI call, or, when a value it needs is not in the
// snapshot, what to look up instead.
type command struct {
	line   string // the shell line; "" when lookup is set
	api    string // the API called, for the step that replaces a missing line
	lookup string // why no line can be written, and where to find the value
}

func unknown(api, lookup string) command { return command{api: api, lookup: lookup} }

// remedy assembles a remediation: the steps, then the commands that could
// be written, and for each that could not, a step saying what to look up.
func (f *facts) remedy(steps []string, cmds ...command) diagnose.Remediation {
	r := diagnose.Remediation{Steps: steps}
	for _, c := range cmds {
		if c.line != "" {
			if !slices.Contains(r.Commands, c.line) {
				r.Commands = append(r.Commands, c.line)
			}
			continue
		}
		if c.lookup == "" {
			continue
		}
		s := "No " + strings.TrimPrefix(c.api, "aliyun ") + " command is printed: " + c.lookup + "."
		if !slices.Contains(r.Steps, s) {
			r.Steps = append(r.Steps, s)
		}
	}
	// A step may point at "the X command below"; when no X command could be
	// printed, it points at the step that says why instead.
	for _, c := range cmds {
		if c.line != "" || c.lookup == "" {
			continue
		}
		name := c.api[strings.LastIndexByte(c.api, ' ')+1:]
		if slices.ContainsFunc(r.Commands, func(line string) bool { return commandCalls(line, name) }) {
			continue
		}
		for i, step := range r.Steps {
			r.Steps[i] = strings.ReplaceAll(step, "the "+name+" command below", "see below why no "+name+" command is printed")
		}
	}
	return r
}

// commandCalls says whether a printed command line calls api (ROA calls
// name their path, not the API).
func commandCalls(line, api string) bool {
	if api == "ModifyClusterNodePool" {
		return strings.Contains(line, "/nodepools/")
	}
	return strings.HasPrefix(line, api+" ") || strings.Contains(line, " "+api+" ")
}

// quote makes a CLI argument safe to paste into a POSIX shell.
func quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const lookupGroup = "the endpoint's network interface has no security group in the snapshot; find its group (ECS console → Elastic Network Interfaces)"

// knownID reports whether id is a real value, not empty and not a prose
// placeholder such as firstGroup's "<security-group-id>".
func knownID(id string) bool { return id != "" && !strings.ContainsAny(id, "<>") }

const lookupRegion = "the snapshot names no region; write the gateway's region (MSE console, top bar) as region: in the snapshot and run gwdoctor again"

// validPorts reports whether ports is a TCP/UDP range MSE and ECS accept
// ("START/END", 1..65535); a port list or an empty range is not one.
func validPorts(ports string) bool {
	pr, err := snapshot.ParsePortRange(ports)
	return err == nil && !pr.All && strings.TrimSpace(ports) == ports
}

func lookupPorts(ports string) string {
	if ports == "" || strings.HasPrefix(ports, "port list") {
		return "the rule's ports come from a port list the snapshot does not expand; read its entries (ECS console → Port Lists) and enter that range"
	}
	return fmt.Sprintf("%q is not a port range the API accepts (START/END, 1..65535)", ports)
}

// stepMSEAdd is the console step that authorizes group for ports.
func (f *facts) stepMSEAdd(group, ports string) string {
	return fmt.Sprintf("MSE console → Cloud-native Gateway → Gateways → %s → Security Group Authorization → Add Security Group Authorization: select security group %s and enter port range %s, then confirm.", f.gwID, group, ports)
}

// grantInputsMissing is the command to print instead of a grant for group
// on ports when the snapshot lacks the region, the group or a port range.
func (f *facts) grantInputsMissing(api, group, ports string) (command, bool) {
	switch {
	case f.region == "":
		return unknown(api, lookupRegion), true
	case !knownID(group):
		return unknown(api, lookupGroup), true
	case !validPorts(ports):
		return unknown(api, lookupPorts(ports)), true
	}
	return command{}, false
}

// cmdMSEAdd authorizes group for ports (MSE then writes the inbound rule
// into group, source = the gateway's group).
func (f *facts) cmdMSEAdd(group, ports, why string) command {
	const api = "aliyun mse AddSecurityGroupRule"
	if missing, ok := f.grantInputsMissing(api, group, ports); ok {
		return missing
	}
	return command{line: fmt.Sprintf("aliyun mse AddSecurityGroupRule --region %s --GatewayUniqueId %s --SecurityGroupId %s --PortRange %s --Description %s",
		quote(f.region), quote(f.gwID), quote(group), quote(ports), quote(why))}
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

// cmdMSEDelete deletes an authorization; DeleteSecurityGroupRule's Id is an
// integer (Long), so an id that is not one cannot be sent.
func (f *facts) cmdMSEDelete(id string, cascade bool) command {
	const api = "aliyun mse DeleteSecurityGroupRule"
	if f.region == "" {
		return unknown(api, lookupRegion)
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return unknown(api, "the authorization has no numeric id in the snapshot; read its Id in the gateway's Security Group Authorization list (API ListSecurityGroupRule)")
	}
	s := fmt.Sprintf("aliyun mse DeleteSecurityGroupRule --region %s --GatewayUniqueId %s --Id %s", quote(f.region), quote(f.gwID), id)
	if cascade {
		s += " --CascadingDelete true"
	}
	return command{line: s}
}

// permission renders one Permissions.N entry of AuthorizeSecurityGroup
// (the top-level IpProtocol, PortRange, … are deprecated).
func permission(n int, kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " --Permissions.%d.%s %s", n, kv[i], quote(kv[i+1]))
	}
	return b.String()
}

// cmdECSAuthorizeGroup adds an inbound accept from the gateway's group.
func (f *facts) cmdECSAuthorizeGroup(group, ports, why string) command {
	const api = "aliyun ecs AuthorizeSecurityGroup"
	if missing, ok := f.grantInputsMissing(api, group, ports); ok {
		return missing
	}
	return command{line: fmt.Sprintf("aliyun ecs AuthorizeSecurityGroup --RegionId %s --SecurityGroupId %s", quote(f.region), quote(group)) +
		permission(1, "IpProtocol", "TCP", "PortRange", ports, "SourceGroupId", f.gwGroup, "Policy", "accept", "Priority", "1", "Description", why)}
}

// cmdECSAuthorizeCidrs adds inbound accepts from the gateway's addresses
// (one permission per address, one call), for groups that cannot reference
// the gateway's group.
func (f *facts) cmdECSAuthorizeCidrs(group, ports, why string) command {
	const api = "aliyun ecs AuthorizeSecurityGroup"
	addrs := f.v.Snapshot.Gateway.Addresses
	switch {
	case f.region == "":
		return unknown(api, lookupRegion)
	case !knownID(group):
		return unknown(api, lookupGroup)
	case len(addrs) == 0:
		return unknown(api, "the snapshot holds no gateway addresses; read the gateway's vSwitch CIDRs (MSE GetGateway Vswitch and Vswitch2, then the VPC console's vSwitches)")
	case !validPorts(ports):
		return unknown(api, lookupPorts(ports))
	}
	line := fmt.Sprintf("aliyun ecs AuthorizeSecurityGroup --RegionId %s --SecurityGroupId %s", quote(f.region), quote(group))
	for i, a := range addrs {
		line += permission(i+1, "IpProtocol", "TCP", "PortRange", ports, "SourceCidrIp", a, "Policy", "accept", "Priority", "1", "Description", why)
	}
	return command{line: line}
}

// cmdECSRevoke deletes a rule: inbound rules through RevokeSecurityGroup,
// outbound ones through RevokeSecurityGroupEgress.
func (f *facts) cmdECSRevoke(group, ruleID, direction string) command {
	api := "aliyun ecs RevokeSecurityGroup"
	if direction == snapshot.DirectionEgress {
		api += "Egress"
	}
	if c, ok := f.ruleCallUnknown(api, ruleID); !ok {
		return c
	}
	return command{line: fmt.Sprintf("%s --RegionId %s --SecurityGroupId %s --SecurityGroupRuleId.1 %s", api, quote(f.region), quote(group), quote(ruleID))}
}

// cmdECSModifyPriority changes a rule's priority: ModifySecurityGroupRule
// for inbound rules, ModifySecurityGroupEgressRule for outbound ones.
func (f *facts) cmdECSModifyPriority(group, ruleID, direction string, priority int) command {
	api := "aliyun ecs ModifySecurityGroupRule"
	if direction == snapshot.DirectionEgress {
		api = "aliyun ecs ModifySecurityGroupEgressRule"
	}
	if c, ok := f.ruleCallUnknown(api, ruleID); !ok {
		return c
	}
	return command{line: fmt.Sprintf("%s --RegionId %s --SecurityGroupId %s --SecurityGroupRuleId %s --Priority %d", api, quote(f.region), quote(group), quote(ruleID), priority)}
}

func (f *facts) ruleCallUnknown(api, ruleID string) (command, bool) {
	switch {
	case f.region == "":
		return unknown(api, lookupRegion), false
	case ruleID == "":
		return unknown(api, "the rule has no id in the snapshot; read its SecurityGroupRuleId (ECS console → the group → Manage Rules, or the DescribeSecurityGroupAttribute command)"), false
	}
	return command{}, true
}

// cmdECSDescribeRules reads a group's rules of one direction (to find rule ids).
func (f *facts) cmdECSDescribeRules(group, direction string) command {
	const api = "aliyun ecs DescribeSecurityGroupAttribute"
	if f.region == "" {
		return unknown(api, lookupRegion)
	}
	dir := "ingress"
	if direction == snapshot.DirectionEgress {
		dir = "egress"
	}
	return command{line: fmt.Sprintf("%s --RegionId %s --SecurityGroupId %s --Direction %s", api, quote(f.region), quote(group), dir)}
}

// cmdENIGroups sets an ENI's groups (the call replaces the whole list).
func (f *facts) cmdENIGroups(eni string, groups []string) command {
	const api = "aliyun ecs ModifyNetworkInterfaceAttribute"
	if f.region == "" {
		return unknown(api, lookupRegion)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s --RegionId %s --NetworkInterfaceId %s", api, quote(f.region), quote(eni))
	for i, g := range groups {
		fmt.Fprintf(&b, " --SecurityGroupId.%d %s", i+1, quote(g))
	}
	return command{line: b.String()}
}

// cmdNodePoolGroups sets a node pool's groups (ACK ModifyClusterNodePool, a
// ROA call: the cluster id is part of the path).
func (f *facts) cmdNodePoolGroups(pool string, groups []string) command {
	const api = "aliyun cs ModifyClusterNodePool"
	cluster := f.v.Snapshot.ClusterID()
	switch {
	case f.region == "":
		return unknown(api, lookupRegion)
	case cluster == "":
		return unknown(api, "the snapshot names no ACK cluster; write its id (ACK console → Clusters → Cluster ID) as cluster: {id: …} in the snapshot, or capture with gwdoctor snapshot --live --cluster-id")
	}
	q := make([]string, len(groups))
	for i, g := range groups {
		q[i] = strconv.Quote(g)
	}
	body := fmt.Sprintf(`{"scaling_group":{"security_group_ids":[%s]}}`, strings.Join(q, ","))
	return command{line: fmt.Sprintf("aliyun cs PUT %s --region %s --header 'Content-Type=application/json' --body %s",
		quote("/clusters/"+cluster+"/nodepools/"+pool), quote(f.region), quote(body))}
}

// cmdPrefixList reads a prefix list's entries.
func (f *facts) cmdPrefixList(id string) command {
	const api = "aliyun ecs DescribePrefixListAttributes"
	if f.region == "" {
		return unknown(api, lookupRegion)
	}
	return command{line: fmt.Sprintf("%s --RegionId %s --PrefixListId %s", api, quote(f.region), quote(id))}
}

// cmdNetworkACLs lists the VPC's network ACLs.
func (f *facts) cmdNetworkACLs() command {
	const api = "aliyun vpc DescribeNetworkAcls"
	if f.region == "" {
		return unknown(api, lookupRegion)
	}
	return command{line: fmt.Sprintf("%s --RegionId %s", api, quote(f.region))}
}

func (f *facts) stepECSRule(group string) string {
	return fmt.Sprintf("ECS console → Network & Security → Security Groups → %s → Manage Rules → Inbound", group)
}

func why(service string) string { return "gwdoctor: MSE gateway to " + service }

// grantAccess is how to grant the gateway access to group on ports: an MSE
// authorization (a rule sourced from the gateway's group) when both groups
// are basic; when either is enterprise — which can neither reference nor be
// referenced — inbound accepts from the gateway's addresses instead. The
// first step says what to do, the rest why; note, when not "", is added to
// the first step's parenthesis.
func (f *facts) grantAccess(group, ports, service, note string) (steps []string, cmds []command) {
	if g := f.v.Groups[group]; g != nil && f.enterpriseInvolved(g) {
		if note != "" {
			note += "; "
		}
		step := fmt.Sprintf("%s → Add Rule: action Allow, protocol TCP, port %s, source = the gateway's vSwitch CIDR(s) %s, priority 1 (%sthe AuthorizeSecurityGroup command below).",
			f.stepECSRule(group), ports, strings.Join(orPlaceholder(f.v.Snapshot.Gateway.Addresses, "the gateway's vSwitch CIDRs (not in the snapshot)"), ", "), note)
		return []string{step, fmt.Sprintf("An MSE authorization would not work: it adds a rule sourced from the gateway's group %s, and a group reference where either side is an enterprise group never matches (%s is %s, the gateway's group %s).",
				f.gwGroup, group, groupType(g), orUnknownType(f.gwType))},
			[]command{f.cmdECSAuthorizeCidrs(group, ports, why(service))}
	}
	if note != "" {
		note += "; "
	}
	step := f.stepMSEAdd(group, ports) + " (" + note + "the AddSecurityGroupRule command below)."
	return []string{step}, []command{f.cmdMSEAdd(group, ports, why(service))}
}

// remedyGrant is grantAccess followed by more steps, as a remediation.
func (f *facts) remedyGrant(group, ports, service, note string, more ...string) diagnose.Remediation {
	steps, cmds := f.grantAccess(group, ports, service, note)
	return f.remedy(append(steps, more...), cmds...)
}

func orUnknownType(t string) string {
	if t == "" {
		return "of unknown type"
	}
	return t
}

// cmdECSAuthorizeEgress adds egress accepts from group to each destination
// IP (one Permissions.N entry each; AuthorizeSecurityGroupEgress takes up to
// 100).
func (f *facts) cmdECSAuthorizeEgress(group, proto, ports string, dests []string, desc string) command {
	const api = "aliyun ecs AuthorizeSecurityGroupEgress"
	switch {
	case f.region == "":
		return unknown(api, lookupRegion)
	case !validPorts(ports):
		return unknown(api, lookupPorts(ports))
	}
	line := fmt.Sprintf("%s --RegionId %s --SecurityGroupId %s", api, quote(f.region), quote(group))
	for i, d := range dests {
		field, bits := "DestCidrIp", "/32"
		if strings.Contains(d, ":") {
			field, bits = "Ipv6DestCidrIp", "/128"
		}
		line += permission(i+1, "Policy", "accept", "Priority", "1", "IpProtocol", strings.ToUpper(proto), "PortRange", ports, field, d+bits, "Description", desc)
	}
	return command{line: line}
}
