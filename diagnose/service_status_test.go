package diagnose

import "testing"

func TestServiceHealthStatus(t *testing.T) {
	finding := func(code string, sev Severity, status string) *Finding {
		return &Finding{Code: code, Severity: Sev(sev), Status: status}
	}
	cases := []struct {
		name     string
		verdicts []string
		findings []*Finding
		want     string
	}{
		{"no endpoints: the gateway has nothing to route to", nil, nil, ServiceBroken},
		{"no endpoints, info note only", nil, []*Finding{finding(CodeCheckSkipped, Info, "")}, ServiceBroken},
		{"all reachable", []string{VerdictReachable, VerdictReachable}, nil, ServiceOK},
		{"one blocked", []string{VerdictReachable, VerdictBlocked}, nil, ServiceBroken},
		{"blocked beats unknown", []string{VerdictUnknown, VerdictBlocked}, nil, ServiceBroken},
		{"unknown is never OK", []string{VerdictReachable, VerdictUnknown}, nil, ServiceUnknown},
		{"an unrecognised verdict counts as unknown", []string{"maybe"}, nil, ServiceUnknown},
		{"error finding", []string{VerdictReachable}, []*Finding{finding(CodeWrongNode, Error, "")}, ServiceBroken},
		{"error beats unknown", []string{VerdictUnknown}, []*Finding{finding(CodeWrongNode, Error, "")}, ServiceBroken},
		{"unknown beats warning", []string{VerdictUnknown}, []*Finding{finding(CodeMultipleGroups, Warning, "")}, ServiceUnknown},
		{"warning finding", []string{VerdictReachable}, []*Finding{finding(CodeMultipleGroups, Warning, "")}, ServiceWarning},
		{"warning beats no endpoints", nil, []*Finding{finding(CodeMultipleGroups, Warning, "")}, ServiceWarning},
		{"verdict-unknown finding does not count", []string{VerdictReachable}, []*Finding{finding(CodeVerdictUnknown, Warning, "")}, ServiceOK},
		{"fixed finding does not count", []string{VerdictReachable}, []*Finding{finding(CodeWrongNode, Error, StatusFixed)}, ServiceOK},
		{"unverified finding does not count", []string{VerdictReachable}, []*Finding{finding(CodeWrongNode, Error, StatusUnverified)}, ServiceOK},
		{"present finding counts", []string{VerdictReachable}, []*Finding{finding(CodeWrongNode, Error, StatusPresent)}, ServiceBroken},
	}
	for _, c := range cases {
		var h ServiceHealth
		for _, v := range c.verdicts {
			h.AddEndpoint(v)
		}
		for _, f := range c.findings {
			h.AddFinding(f)
		}
		if got := h.Status(); got != c.want {
			t.Errorf("%s: Status() = %s, want %s", c.name, got, c.want)
		}
		if h.Endpoints != len(c.verdicts) || h.Reachable+h.Blocked+h.Unknown != h.Endpoints {
			t.Errorf("%s: counts %+v do not add up to %d endpoints", c.name, h, len(c.verdicts))
		}
	}
}
