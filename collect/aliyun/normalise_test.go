package aliyun

import (
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

func TestNormRule(t *testing.T) {
	tests := []struct {
		in   ecs.Permission
		want snapshot.Rule
	}{
		{ecs.Permission{SecurityGroupRuleId: "a", Direction: "Ingress", Policy: "Accept", Priority: "1", IpProtocol: "tcp", PortRange: " 80/80 ", SourceGroupId: "sg-gw"},
			snapshot.Rule{ID: "a", Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "80/80", SourceGroupID: "sg-gw"}},
		{ecs.Permission{Direction: "ingress", Policy: "Drop", Priority: "110", IpProtocol: "ALL", PortRange: "-1/-1", SourceCidrIp: "10.0.0.0/8", SourceGroupId: "sg-x"},
			// "If both SourceGroupId and SourceCidrIp are set, the CIDR wins."
			snapshot.Rule{Direction: "ingress", Policy: "drop", Priority: 110, Protocol: "ALL", PortRange: "-1/-1", SourceCidr: "10.0.0.0/8"}},
		{ecs.Permission{Direction: "egress", Policy: "", Priority: "7", IpProtocol: "", PortRange: "443/443", DestCidrIp: "0.0.0.0/0", DestGroupId: "sg-d"},
			snapshot.Rule{Direction: "egress", Policy: "accept", Priority: 7, Protocol: "TCP", PortRange: "443/443", DestCidr: "0.0.0.0/0", DestGroupID: "sg-d"}},
		{ecs.Permission{Direction: "ingress", Policy: "accept", Priority: "2", IpProtocol: "icmpv6", PortRange: "-1/-1", SourcePrefixListId: "pl-1"},
			snapshot.Rule{Direction: "ingress", Policy: "accept", Priority: 2, Protocol: "ICMPV6", PortRange: "-1/-1", SourcePrefixListID: "pl-1"}},
		// Issue 11: the fields the model used to drop.
		{ecs.Permission{Direction: "ingress", Policy: "accept", Priority: "1", IpProtocol: "TCP", PortRange: "80/80", Ipv6SourceCidrIp: "2001:db8::/32", SourceGroupId: "sg-x",
			Ipv6DestCidrIp: "2001:db8:9::1/128", SourcePortRange: "1/1024", DestPrefixListId: "pl-2"},
			snapshot.Rule{Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "80/80", Ipv6SourceCidr: "2001:db8::/32",
				Ipv6DestCidr: "2001:db8:9::1/128", SourcePortRange: "1/1024", DestPrefixListID: "pl-2"}},
		{ecs.Permission{Direction: "ingress", Policy: "accept", Priority: "1", IpProtocol: "TCP", PortRange: "80/80", SourceGroupId: "sg-gw", DestCidrIp: "10.0.0.5/32", SourcePortRange: "-1/-1"},
			snapshot.Rule{Direction: "ingress", Policy: "accept", Priority: 1, Protocol: "TCP", PortRange: "80/80", SourceGroupID: "sg-gw", DestCidr: "10.0.0.5/32"}},
		{ecs.Permission{Direction: "egress", Policy: "drop", Priority: "3", IpProtocol: "TCP", PortRange: "80/80", Ipv6DestCidrIp: "::/0", SourcePortRange: "1/1024"},
			snapshot.Rule{Direction: "egress", Policy: "drop", Priority: 3, Protocol: "TCP", PortRange: "80/80", Ipv6DestCidr: "::/0", SourcePortRange: "1/1024"}},
	}
	for _, tt := range tests {
		got, err := normRule(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("normRule(%+v)\n got %+v, %v\nwant %+v", tt.in, got, err, tt.want)
		}
	}
	// A priority that is not a number is a collection error, never 1.
	for _, prio := range []string{"", "abc", "0", "101", "-1", "1.5"} {
		if _, err := normRule(ecs.Permission{Direction: "ingress", Priority: prio, IpProtocol: "TCP", PortRange: "80/80", SourceGroupId: "sg-gw"}); err == nil {
			t.Errorf("priority %q read without error", prio)
		}
	}
}

func TestNormSourceType(t *testing.T) {
	for in, want := range map[string]string{"K8s": "k8s", "K8S": "k8s", "k8s": "k8s", "ECS": "ecs", "VIP": "fixed",
		"DNS": "dns", "MSE": "nacos", "NACOS": "nacos", "something-new": ""} {
		if got := NormSourceType(in); got != want {
			t.Errorf("NormSourceType(%q) = %q, want %q", in, got, want)
		}
	}
	if normGroupType("Enterprise") != "enterprise" || normGroupType("normal") != "normal" || normGroupType("") != "normal" {
		t.Error("normGroupType")
	}
}

func TestSplitHostPort(t *testing.T) {
	for in, want := range map[string]struct {
		host string
		port int
	}{"10.0.0.5:8080": {"10.0.0.5", 8080}, "10.0.0.5": {"10.0.0.5", 0}, "api.example.com:443": {"api.example.com", 443}, "[fd00::1]:80": {"fd00::1", 80}} {
		h, p := SplitHostPort(in)
		if h != want.host || p != want.port {
			t.Errorf("SplitHostPort(%q) = %q, %d", in, h, p)
		}
	}
}

func TestNewRejectsBadEndpoints(t *testing.T) {
	creds := Credentials{AccessKeyID: "k", AccessKeySecret: "s"}
	for _, ep := range []string{"127.0.0.1:8080", "ftp://x", "http://h/path", "http://"} {
		if _, err := New(Config{Region: "cn-hangzhou", Endpoint: ep, Credentials: creds}); err == nil {
			t.Errorf("endpoint %q accepted", ep)
		}
	}
	if _, err := New(Config{Endpoint: "http://127.0.0.1:1", Credentials: creds}); err == nil {
		t.Error("no region accepted")
	}
	if _, err := New(Config{Region: "cn-hangzhou", Endpoint: "https://ecs-vpc.cn-hangzhou.aliyuncs.com/", Credentials: creds}); err != nil {
		t.Error(err)
	}
}

func TestAPIErrorText(t *testing.T) {
	e := &APIError{Action: ActionDescribeInstances, Code: "Forbidden.RAM", Message: "User not authorized", HTTPStatus: 403, RequestID: "R1", Attempts: 1}
	want := "ecs:DescribeInstances: Forbidden.RAM: User not authorized (HTTP 403, request id R1); the RAM policy must allow ecs:DescribeInstances"
	if e.Error() != want || !e.PermissionDenied() || e.retryable() {
		t.Errorf("%s", e.Error())
	}
	th := &APIError{Action: ActionDescribeInstances, Code: "Throttling.User", HTTPStatus: 400}
	if !th.retryable() || th.PermissionDenied() {
		t.Error("throttling not retryable")
	}
	if !(&APIError{HTTPStatus: 503}).retryable() || (&APIError{Code: "InvalidParameter", HTTPStatus: 400}).retryable() {
		t.Error("5xx / 4xx retry decision")
	}
}

func TestNewRefusesSDKDebug(t *testing.T) {
	t.Setenv("DEBUG", "http,sdk")
	_, err := New(Config{Region: "cn-hangzhou", Credentials: Credentials{AccessKeyID: "k", AccessKeySecret: "s"}})
	if err == nil || !strings.Contains(err.Error(), "unset DEBUG") {
		t.Fatalf("err = %v", err)
	}
}
