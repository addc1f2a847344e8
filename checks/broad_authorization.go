package checks

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// BroadAuthorization notes authorizations that open every port.
var BroadAuthorization = &diagnose.Check{
	Name: "broad-authorization",
	Doc: `Notes authorizations that span every port (1/65535, or protocol ALL).

The MSE FAQ suggests 1/65535 so that a changed backend port keeps working; it also lets the
gateway reach every port of every instance in the group (admin ports, debug endpoints,
databases on the same nodes). An informational note: the trade-off is the owner's to make.`,
	Codes:    []string{diagnose.CodeBroadAuthorization},
	Requires: []diagnose.Input{diagnose.InputAuthorizations},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, a := range p.View.Snapshot.Gateway.Authorizations {
			pr, err := snapshot.ParsePortRange(a.PortRange)
			proto := cmp.Or(a.Protocol, snapshot.ProtocolTCP)
			if (err != nil || !pr.Full()) && proto != snapshot.ProtocolAll {
				continue
			}
			used := f.usedPorts(a.SecurityGroupID)
			ev := []string{
				fmt.Sprintf("authorization %s: %s %s %s", orNone(a.ID), f.groupDesc(a.SecurityGroupID), proto, a.PortRange),
				fmt.Sprintf("%d node(s) carry %s: the gateway may connect to any port on them", len(f.v.NodesByGroup[a.SecurityGroupID]), a.SecurityGroupID),
			}
			steps := []string{"If a changed backend port is the risk you accept, keep it. Otherwise authorize the ports the backends use and delete this authorization with its rule."}
			var cmds []command
			if len(used) > 0 {
				ev = append(ev, "ports the snapshot's endpoints in this group use: "+joinInts(used[:min(len(used), maxListed)]))
				for i, port := range used {
					if i == 3 {
						steps = append(steps, fmt.Sprintf("(%s in use: authorize each, or a range covering them)", words.Count(len(used)-3, "more port", "more ports")))
						break
					}
					cmds = append(cmds, f.cmdMSEAdd(a.SecurityGroupID, portRangeOf(port), "gwdoctor: narrow "+orNone(a.ID)))
				}
			}
			steps = append(steps, f.stepMSEDelete(a.ID, a.SecurityGroupID, a.PortRange, true))
			cmds = append(cmds, f.cmdMSEDelete(a.ID, true))
			p.Report(diagnose.Finding{
				Code:     diagnose.CodeBroadAuthorization,
				Subjects: []string{a.SecurityGroupID, orNone(a.ID)},
				Message:  fmt.Sprintf("authorization %s opens every port of %s to the gateway (%s %s)", orNone(a.ID), a.SecurityGroupID, proto, a.PortRange),
				Evidence: ev,
				Chain: []diagnose.Link{
					{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: "gateway " + f.gwID},
					{Kind: diagnose.LinkAuthorization, ID: orNone(a.ID), Detail: proto + " " + a.PortRange},
					{Kind: diagnose.LinkBackendGroup, ID: a.SecurityGroupID},
				},
				Remediation: f.remedy(steps, cmds...),
			})
		}
		return nil
	},
}

// usedPorts are the TCP ports endpoints on ENIs carrying group use, sorted.
func (f *facts) usedPorts(group string) []int {
	var out []int
	for pp := range f.portsByGroup[group] {
		out = append(out, pp.port)
	}
	slices.Sort(out)
	return out
}

var _ = explains(Article{
	Code:    diagnose.CodeBroadAuthorization,
	Symptom: `Nothing fails. The gateway is authorized for every port of a group (1/65535).`,
	Cause: `The MSE FAQ suggests authorizing 1/65535 so that a changed backend port keeps working. It
also lets the gateway connect to every port of every instance in the group.`,
	Detection: `An authorization's port range is 1/65535 (or -1/-1 with protocol ALL).`,
	Fix: `Keep it if robustness matters more; otherwise authorize the ports in use and delete the
broad one with its rule:

  aliyun mse AddSecurityGroupRule --GatewayUniqueId gw-… --SecurityGroupId sg-… --PortRange 8080/8080
  aliyun mse DeleteSecurityGroupRule --GatewayUniqueId gw-… --Id 1001 --CascadingDelete true

Suppress the note with --suppress broad-authorization=sg-… once decided.`,
	Related: []string{diagnose.CodePortChanged},
})

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
