package diagnose

import "testing"

func TestDecidedBy(t *testing.T) {
	cases := []struct {
		e    EndpointResult
		want string
	}{
		{EndpointResult{DecidingRule: &RuleID{SecurityGroupID: "sg-a", RuleID: "sgr-1", Index: 3}, Reason: "rule"}, "sg-a/sgr-1"},
		{EndpointResult{DecidingRule: &RuleID{SecurityGroupID: "sg-a", Index: 3}, Reason: "rule"}, "sg-a/#3"},
		{EndpointResult{Reason: "default-deny"}, "default-deny"},
	}
	for _, c := range cases {
		if got := c.e.DecidedBy(); got != c.want {
			t.Errorf("DecidedBy() = %q, want %q", got, c.want)
		}
	}
}
