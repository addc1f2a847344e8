package checks

import (
	"fmt"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// VPCMismatch reports blocked backends in another VPC than the gateway.
var VPCMismatch = &diagnose.Check{
	Name: "vpc-mismatch",
	Doc: `Reports blocked backends whose node or security group is in another VPC than the gateway.

Source-group rules work only between groups in one VPC, and a security group only applies
to instances in its VPC; an authorization cannot reach a backend in another VPC, and a CIDR
rule allowing the gateway's addresses does not route it there either: such an endpoint is
blocked whatever its rules say (the snapshot models no peering or CEN path). Fires for an
endpoint whose node (ECS instance) or a group on its ENI is in a VPC other than the gateway's
(gateway.vpcId, or its group's VPC), unless a drop rule explains the block first.`,
	Codes:    []string{diagnose.CodeVPCMismatch},
	Requires: causeInputs,
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, cs := range f.causeGroups(diagnose.CodeVPCMismatch) {
			c := cs[0]
			ep := c.ep
			var what, other, broken string
			if len(c.groups) > 0 {
				g := c.groups[0]
				what, other, broken = "group "+g, f.v.Groups[g].VpcID, diagnose.LinkBackendGroup
			} else {
				what, other, broken = backendNoun(ep), ep.Node.VpcID, diagnose.LinkNode
			}
			specific := []string{
				fmt.Sprintf("the gateway %s is in %s; %s is in %s", f.gwID, f.gwVPC, what, other),
				"source-group rules (what an authorization creates) only work between groups in one VPC",
			}
			var cidrGrants []string
			for _, g := range ep.GroupIDs {
				if f.hasCIDRGrant(g) {
					cidrGrants = append(cidrGrants, g)
				}
			}
			if len(cidrGrants) > 0 {
				specific = append(specific, strings.Join(cidrGrants, ", ")+" already allow(s) the gateway's addresses by CIDR; that does not make the backend reachable: the gateway sends inside "+f.gwVPC+" and the snapshot records no peering or CEN path to "+other)
			}
			msg := fmt.Sprintf("%s %s blocked on %s %d: %s is in %s, the gateway in %s", who(cs), isAre(cs), protocol(ep), ep.Endpoint.Port, what, other, f.gwVPC)
			fd := f.endpointFinding(cs, diagnose.CodeVPCMismatch, nil, msg, specific, append([]string{other}, c.groups...)...)
			fd.Chain = f.chain(ep, f.authIDsFor(f.firstGroup(ep.GroupIDs)), "", "", "", broken, "in "+other+", gateway in "+f.gwVPC)
			group := f.firstGroup(ep.GroupIDs)
			ports := portRangeOf(ep.Endpoint.Port)
			steps := []string{
				"Run the backend in the gateway's VPC " + f.gwVPC + " (the gateway reaches pods directly), or add it to the gateway as a service in a way that crosses VPCs (e.g. through an SLB/NLB in " + f.gwVPC + ").",
			}
			var cmds []command
			if len(cidrGrants) > 0 {
				steps = append(steps, "If the VPCs are to be connected, connect them (CEN or VPC peering) with routes both ways: "+strings.Join(cidrGrants, ", ")+" already allow(s) the gateway's addresses.")
			} else {
				steps = append(steps, fmt.Sprintf("If the VPCs are connected (CEN or VPC peering) and routes exist, allow the gateway by address instead of by group: %s → Add Rule: Allow TCP %s from %s.", f.stepECSRule(group), ports, strings.Join(orPlaceholder(f.v.Snapshot.Gateway.Addresses, "the gateway's vSwitch CIDRs (not in the snapshot)"), ", ")))
				cmds = append(cmds, f.cmdECSAuthorizeCidrs(group, ports, why(ep.ServiceKey)))
			}
			fd.Remediation = f.remedy(steps, cmds...)
			p.Report(fd)
		}
		return nil
	},
}

var _ = explains(Article{
	Code: diagnose.CodeVPCMismatch,
	Symptom: `The gateway cannot reach a backend (HTTP 503 "upstream connect error or disconnect/reset
before headers"); adding a security-group authorization does not help or is refused.`,
	Cause: `The backend's ECS instance or its security group is in another VPC than the gateway. A
security group applies only within its VPC and source-group rules reference groups of the
same VPC only, so the authorization's rule cannot match traffic from the gateway.`,
	Detection: `For an endpoint the groups deny, the node's vpcId or the vpcId of a group on its ENI differs
from the gateway's VPC (gateway.vpcId, or the gateway group's VPC).`,
	Fix: `Run the backend in the gateway's VPC, or expose it through a load balancer in that VPC. If
the VPCs are connected (CEN, peering) allow the gateway's vSwitch CIDR instead of its group:

  aliyun ecs AuthorizeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-… \
    --IpProtocol tcp --PortRange 8080/8080 --SourceCidrIp 192.168.0.0/24 --Policy accept --Priority 1`,
	Related: []string{diagnose.CodeGroupTypeMismatch, diagnose.CodeTrafficFiltered},
})
