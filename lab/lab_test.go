package lab

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func boolp(b bool) *bool { return &b }

// handSnapshot exercises each kernel mechanism once, with expectations
// written by hand (not by the evaluator).
func handSnapshot() *snapshot.Snapshot {
	return &snapshot.Snapshot{
		Version: 1,
		Gateway: snapshot.Gateway{ID: "gw-1", VpcID: "vpc-a", SecurityGroupID: "sg-gw", Addresses: []string{"192.168.0.0/24"}},
		SecurityGroups: []snapshot.SecurityGroup{
			{ID: "sg-gw", Type: "normal", VpcID: "vpc-a", InnerAccessPolicy: "accept"},
			{ID: "sg-nodes", Type: "normal", VpcID: "vpc-a", InnerAccessPolicy: "drop", Rules: []snapshot.Rule{
				{ID: "r1", Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "8080/8080", SourceGroupID: "sg-gw"},
				{ID: "r2", Direction: "ingress", Policy: "drop", Priority: 1, Protocol: "TCP", PortRange: "8081/8081", SourceCidr: "192.168.0.0/24"},
				{ID: "r3", Direction: "ingress", Policy: "accept", Priority: 2, Protocol: "TCP", PortRange: "8081/8082", SourceCidr: "192.168.0.0/16"},
				{ID: "r4", Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "8090/8090", SourceCidr: "10.0.0.0/8"},
			}},
			{ID: "sg-pods", Type: "normal", VpcID: "vpc-a"},
			{ID: "sg-ent", Type: "enterprise", VpcID: "vpc-a", Rules: []snapshot.Rule{
				{ID: "e1", Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "1/65535", SourceGroupID: "sg-gw"},
				{ID: "e2", Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "ALL", PortRange: "-1/-1", SourceCidr: "192.168.0.1/32"},
			}},
		},
		Nodes: []snapshot.Node{
			{Name: "node-1", InstanceID: "i-1", VpcID: "vpc-a", ENIs: []snapshot.ENI{
				{ID: "eni-1", Primary: true, IPs: []string{"192.168.1.10"}, SecurityGroupIDs: []string{"sg-nodes"}},
				{ID: "eni-2", IPs: []string{"192.168.1.20", "172.20.2.5"}, SecurityGroupIDs: []string{"sg-pods"}},
			}},
			{Name: "node-2", InstanceID: "i-2", VpcID: "vpc-a", ENIs: []snapshot.ENI{
				{ID: "eni-3", Primary: true, IPs: []string{"192.168.2.10"}, SecurityGroupIDs: []string{"sg-gw"}},
			}},
			{Name: "node-3", InstanceID: "i-3", VpcID: "vpc-a", ENIs: []snapshot.ENI{
				{ID: "eni-4", Primary: true, IPs: []string{"192.168.3.10"}, SecurityGroupIDs: []string{"sg-ent"}},
			}},
		},
		Services: []snapshot.Service{{Name: "svc", Namespace: "ns", Endpoints: []snapshot.Endpoint{
			{IP: "192.168.1.10", Port: 8080},                                    // r1: group source
			{IP: "192.168.1.10", Port: 8081},                                    // r2 drop beats r3 accept
			{IP: "192.168.1.10", Port: 8082},                                    // r3: CIDR source
			{IP: "192.168.1.10", Port: 8090},                                    // r4: other CIDR: no match
			{IP: "172.20.1.7", Port: 8080, Node: "node-1", Ready: boolp(false)}, // Flannel, allowed, down
			{IP: "172.20.2.5", Port: 8080},                                      // secondary ENI, no rule
			{IP: "192.168.2.10", Port: 9999},                                    // intra-group accept
			{IP: "192.168.3.10", Port: 7000},                                    // enterprise: group ref void, CIDR ALL matches
		}}},
	}
}

func TestLabEnforcesRulesByHand(t *testing.T) {
	before := hostNetworkState(t)
	l := startLab(t, handSnapshot())
	want := map[string]string{
		"192.168.1.10:8080": "open",
		"192.168.1.10:8081": "filtered",
		"192.168.1.10:8082": "open",
		"192.168.1.10:8090": "filtered",
		"172.20.1.7:8080":   "refused",
		"172.20.2.5:8080":   "filtered",
		"192.168.2.10:9999": "open",
		"192.168.3.10:7000": "open",
	}
	checkProbes(t, l, want)

	// Apply: the enterprise group loses its CIDR rule, the node group's
	// drop moves below the accept.
	s := handSnapshot()
	s.SecurityGroups[3].Rules = s.SecurityGroups[3].Rules[:1]
	s.SecurityGroups[1].Rules[1].Priority = 3
	if err := l.Apply(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	want["192.168.3.10:7000"] = "filtered"
	want["192.168.1.10:8081"] = "open"
	checkProbes(t, l, want)

	// A new topology is refused.
	s.Services[0].Endpoints[0].Port = 8088
	if err := l.Apply(context.Background(), s); err == nil || !strings.Contains(err.Error(), "new lab") {
		t.Errorf("Apply with a moved listener: got %v, want a refusal", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if after := hostNetworkState(t); after != before {
		t.Errorf("the host's network changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func checkProbes(t *testing.T, l *Lab, want map[string]string) {
	t.Helper()
	var targets []string
	for target := range want {
		targets = append(targets, target)
	}
	results, err := l.Probe(context.Background(), targets, 300*time.Millisecond, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.State != want[r.Target] {
			t.Errorf("%s: probe says %s (%s), want %s", r.Target, r.State, r.Error, want[r.Target])
		}
	}
}

// hostNetworkState is what a lab must leave as it found: the namespaces
// this process could have made and the host's links with names a lab uses.
// Other engineers' tests may add and remove their own meanwhile; those are
// not compared.
func hostNetworkState(t *testing.T) string {
	t.Helper()
	testenv.NeedNetns(t)
	var b strings.Builder
	labs, err := Labs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range labs {
		if strings.HasPrefix(p, ProcessPrefix()) {
			fmt.Fprintf(&b, "lab %s\n", p)
		}
	}
	all, err := allNamespaces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		if strings.HasPrefix(n, ProcessPrefix()) {
			fmt.Fprintf(&b, "namespace %s\n", n)
		}
	}
	out, err := exec.Command("ip", "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link: %v: %s", err, out)
	}
	labLink := regexp.MustCompile(`^\d+: (br0|eth0|gw|n\d+|gwl[0-9a-z-]*)[@:]`)
	for _, line := range strings.Split(string(out), "\n") {
		if m := labLink.FindStringSubmatch(line); m != nil {
			fmt.Fprintf(&b, "link %s\n", m[1])
		}
	}
	return b.String()
}

func TestUpInterruptedLeavesNothing(t *testing.T) {
	testenv.NeedNetns(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := hostNetworkState(t)
	l, err := Up(ctx, handSnapshot(), Options{TeardownOnSignal: true})
	if err == nil {
		l.Close()
		t.Fatal("Up with a canceled context succeeded")
	}
	if !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("error %q should say the lab was interrupted", err)
	}
	if after := hostNetworkState(t); after != before {
		t.Errorf("an interrupted Up left:\n%s\nwas:\n%s", after, before)
	}
}
