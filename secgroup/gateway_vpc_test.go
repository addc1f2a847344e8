package secgroup

import (
	"net/netip"
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Found by the lab's differential test (lab/testdata/egress-gateway-vpc-from-gateway.yaml):
// the gateway's group names no VPC, the gateway is in vpc-b. As a source
// the group was taken to be in vpc-b, as the owner of an egress rule naming
// a vpc-a group it was not, so a cross-VPC destination-group drop decided.
func TestGatewayGroupVPCFromGatewayOnBothSidesOfAReference(t *testing.T) {
	s := &snapshot.Snapshot{
		Version: 1,
		Gateway: snapshot.Gateway{ID: "gw", VpcID: "vpc-b", SecurityGroupID: "sg-gw", Addresses: []string{"10.0.0.5"}},
		SecurityGroups: []snapshot.SecurityGroup{
			{ID: "sg-gw", Type: "normal", Rules: []snapshot.Rule{
				{ID: "e", Direction: "egress", Policy: "drop", Priority: 1, Protocol: "TCP", PortRange: "8081/8082", DestGroupID: "sg-a"},
			}},
			{ID: "sg-a", Type: "normal", VpcID: "vpc-a", InnerAccessPolicy: "drop", Rules: []snapshot.Rule{
				{ID: "in", Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "8000/9000", SourceCidr: "0.0.0.0/0"},
				{ID: "gw", Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "30000/30000", SourceGroupID: "sg-gw"},
			}},
		},
	}
	e := New(s)
	q := Query{GroupIDs: []string{"sg-a"}, Protocol: "TCP", Port: 8081, Dest: netip.MustParseAddr("10.2.2.6")}
	if d := e.Evaluate(q); d.Verdict != Allow {
		t.Errorf("egress drop naming a group of another VPC: %s (%v), want allow: the reference cannot work", d.Verdict, d.Notes)
	}
	q.Port = 30000
	if d := e.Evaluate(q); d.Verdict != Deny {
		t.Errorf("source-group accept across VPCs: %s, want deny (default)", d.Verdict)
	}
}

// A snapshot that could not read the gateway has no gateway group: every
// verdict is unknown, never a deny (or allow) from rules that may name it.
func TestUnknownGatewayGroupDecidesNothing(t *testing.T) {
	s := &snapshot.Snapshot{
		Version: 1,
		Gateway: snapshot.Gateway{ID: "gw-1"},
		SecurityGroups: []snapshot.SecurityGroup{
			{ID: "sg-a", Type: "normal", Rules: []snapshot.Rule{{Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "8080/8080", SourceGroupID: "sg-gw"}}},
			{ID: "sg-b", Type: "normal"},
		},
		Missing: []snapshot.MissingPart{{Part: snapshot.PartGateway, Error: "denied"}},
	}
	e := New(s)
	for _, groups := range [][]string{{"sg-a"}, {"sg-b"}} {
		q := Query{GroupIDs: groups, Protocol: "TCP", Port: 8080}
		if d := e.Evaluate(q); d.Verdict != Unknown || len(d.Notes) == 0 {
			t.Errorf("%v: Evaluate = %v %v, want unknown with a note", groups, d.Verdict, d.Notes)
		}
		if x := e.Explain(q); x.Verdict != Unknown {
			t.Errorf("%v: Explain = %v, want unknown", groups, x.Verdict)
		}
	}
}
