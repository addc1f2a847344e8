package lab

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

func TestPlanPlacesEveryAddress(t *testing.T) {
	p, err := makePlan(handSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	if got := p.gateway; len(got) != 1 || got[0] != netip.MustParseAddr("192.168.0.1") {
		t.Errorf("gateway addresses %v, want [192.168.0.1] (first host of 192.168.0.0/24)", got)
	}
	if got := p.snap.Gateway.Addresses; len(got) != 1 || got[0] != "192.168.0.0/24" {
		t.Errorf("the emulated snapshot's gateway addresses %v must stay as written", got)
	}
	want := map[string]string{ // endpoint → node/ENI
		"192.168.1.10:8080": "node-1/eni-1",
		"172.20.1.7:8080":   "node-1/eni-1", // Flannel: the node's primary ENI
		"172.20.2.5:8080":   "node-1/eni-2", // Terway secondary ENI
		"192.168.3.10:7000": "node-3/eni-4",
	}
	for _, e := range p.endpoints {
		if w, ok := want[e.Target()]; ok && e.Node+"/"+e.ENI != w {
			t.Errorf("%s placed on %s/%s, want %s", e.Target(), e.Node, e.ENI, w)
		}
		if e.Target() == "172.20.1.7:8080" && e.Listening {
			t.Errorf("a not-ready endpoint must have no listener")
		}
	}
	if !containsAddr(p.nodes[0].addrs, netip.MustParseAddr("172.20.1.7")) {
		t.Errorf("node-1 must hold the Flannel pod IP routed to it: %v", p.nodes[0].addrs)
	}
}

func TestPlanInventsAGatewayAddressAndSaysSo(t *testing.T) {
	s := handSnapshot()
	s.Gateway.Addresses = nil
	p, err := makePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.gateway) != 1 || !inventedGatewayBase.Contains(p.gateway[0]) {
		t.Fatalf("gateway %v, want one address in %s", p.gateway, inventedGatewayBase)
	}
	if got := p.snap.Gateway.Addresses; len(got) != 1 || got[0] != p.gateway[0].String() {
		t.Errorf("the emulated snapshot must carry the invented address: %v", got)
	}
	if len(s.Gateway.Addresses) != 0 {
		t.Errorf("the input snapshot was modified")
	}
	if len(p.notes) != 1 || !strings.Contains(p.notes[0], "empty") {
		t.Errorf("notes %q: want one saying the addresses were empty", p.notes)
	}
}

func TestPlanRefusesWhatItCannotEmulate(t *testing.T) {
	s := handSnapshot()
	s.Gateway.Addresses = []string{"2001:db8::/64", "0.0.0.0/0"}
	s.Nodes[1].ENIs[0].IPs = append(s.Nodes[1].ENIs[0].IPs, "192.168.1.10") // held twice
	s.Services[0].Endpoints = append(s.Services[0].Endpoints, snapshot.Endpoint{IP: "fd00::1", Port: 80}, snapshot.Endpoint{IP: "10.9.9.9", Port: 0})
	_, err := makePlan(s)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"gateway.addresses[0]: 2001:db8::/64 is IPv6", "gateway.addresses[1]: 0.0.0.0/0 is wider than /8",
		"address 192.168.1.10 is held by both", "endpoints[8]: ip: fd00::1 is IPv6", "endpoints[9]: port 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestPlanMarksUnplaceableEndpoints(t *testing.T) {
	s := handSnapshot()
	s.Services[0].Endpoints = append(s.Services[0].Endpoints, snapshot.Endpoint{IP: "172.30.0.9", Port: 80, Node: "no-such-node"})
	p, err := makePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	last := p.endpoints[len(p.endpoints)-1]
	if last.Comparable() || last.Listening || !strings.Contains(last.NotComparable, "cannot place") {
		t.Errorf("unplaceable endpoint: %+v", last)
	}
}

func TestFreeAddrIn(t *testing.T) {
	used := map[netip.Addr]string{netip.MustParseAddr("10.0.0.1"): "node"}
	for _, c := range []struct{ prefix, want string }{
		{"10.0.0.0/24", "10.0.0.2"}, // .1 is taken
		{"10.0.0.7/32", "10.0.0.7"},
		{"10.0.1.0/31", "10.0.1.0"},
	} {
		got, ok := freeAddrIn(netip.MustParsePrefix(c.prefix), used)
		if !ok || got.String() != c.want {
			t.Errorf("freeAddrIn(%s) = %v %v, want %s", c.prefix, got, ok, c.want)
		}
	}
	if _, ok := freeAddrIn(netip.MustParsePrefix("10.0.0.1/32"), used); ok {
		t.Error("a taken /32 has no free address")
	}
}

func TestNormalizePrefixesDropsOverlaps(t *testing.T) {
	in := []netip.Prefix{netip.MustParsePrefix("10.3.1.20/32"), netip.MustParsePrefix("10.3.1.16/28"), netip.MustParsePrefix("10.1.1.10/32"), netip.MustParsePrefix("10.1.1.10/32")}
	got := joinPrefixes(normalizePrefixes(in))
	if got != "10.1.1.10, 10.3.1.16/28" {
		t.Errorf("got %s", got)
	}
}
