package secgroup

import (
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Builders for snapshots as Go literals. The gateway is gw-1 with group
// sg-gw in vpc-a and addresses 192.168.0.0/24 unless a case says otherwise.

type ruleOpt func(*snapshot.Rule)

func rule(id, policy string, prio int, proto, ports string, opts ...ruleOpt) snapshot.Rule {
	r := snapshot.Rule{ID: id, Direction: snapshot.DirectionIngress, Policy: policy, Priority: prio, Protocol: proto, PortRange: ports}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func accept(id string, prio int, ports string, opts ...ruleOpt) snapshot.Rule {
	return rule(id, snapshot.PolicyAccept, prio, snapshot.ProtocolTCP, ports, opts...)
}

func drop(id string, prio int, ports string, opts ...ruleOpt) snapshot.Rule {
	return rule(id, snapshot.PolicyDrop, prio, snapshot.ProtocolTCP, ports, opts...)
}

func fromGroup(g string) ruleOpt { return func(r *snapshot.Rule) { r.SourceGroupID = g } }
func fromCidr(c string) ruleOpt  { return func(r *snapshot.Rule) { r.SourceCidr = c } }
func fromList(pl string) ruleOpt { return func(r *snapshot.Rule) { r.SourcePrefixListID = pl } }
func portList(pl string) ruleOpt {
	return func(r *snapshot.Rule) { r.PortRangeListID = pl; r.PortRange = "" }
}
func toCidr(c string) ruleOpt  { return func(r *snapshot.Rule) { r.DestCidr = c } }
func toGroup(g string) ruleOpt { return func(r *snapshot.Rule) { r.DestGroupID = g } }
func egress() ruleOpt          { return func(r *snapshot.Rule) { r.Direction = snapshot.DirectionEgress } }
func fromGW() ruleOpt          { return fromGroup("sg-gw") }
func proto(p string) ruleOpt   { return func(r *snapshot.Rule) { r.Protocol = p } }

func group(id, typ, vpc, inner string, rules ...snapshot.Rule) snapshot.SecurityGroup {
	return snapshot.SecurityGroup{ID: id, Type: typ, VpcID: vpc, InnerAccessPolicy: inner, Rules: rules}
}

func normal(id string, rules ...snapshot.Rule) snapshot.SecurityGroup {
	return group(id, snapshot.GroupTypeNormal, "vpc-a", snapshot.PolicyAccept, rules...)
}

func enterprise(id string, rules ...snapshot.Rule) snapshot.SecurityGroup {
	return group(id, snapshot.GroupTypeEnterprise, "vpc-a", "", rules...)
}

// snap builds a snapshot whose gateway group is the first group named sg-gw
// among groups, or a plain normal sg-gw without rules.
func snap(groups ...snapshot.SecurityGroup) *snapshot.Snapshot {
	s := &snapshot.Snapshot{
		Version: 1,
		Gateway: snapshot.Gateway{ID: "gw-1", VpcID: "vpc-a", SecurityGroupID: "sg-gw", Addresses: []string{"192.168.0.0/24"}},
	}
	hasGW := false
	for _, g := range groups {
		if g.ID == "sg-gw" {
			hasGW = true
		}
	}
	if !hasGW {
		s.SecurityGroups = append(s.SecurityGroups, normal("sg-gw"))
	}
	s.SecurityGroups = append(s.SecurityGroups, groups...)
	return s
}

func withAddrs(s *snapshot.Snapshot, addrs ...string) *snapshot.Snapshot {
	s.Gateway.Addresses = addrs
	return s
}

func withMissing(s *snapshot.Snapshot, m ...snapshot.MissingPart) *snapshot.Snapshot {
	s.Missing = append(s.Missing, m...)
	return s
}
