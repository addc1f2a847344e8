package checks

import (
	"fmt"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// VerdictUnknown reports every endpoint whose reachability the data cannot
// decide, with the reason. It is never reported as healthy.
var VerdictUnknown = &diagnose.Check{
	Name: "verdict-unknown",
	Doc: `Reports endpoints whose reachability cannot be decided from the data.

An endpoint is unknown when its ENI cannot be found (the IP is on no ENI and
its node is unknown), when a group on its ENI was not collected, when a rule
that could decide uses an unexpanded prefix or port list, when a CIDR rule
covers only some of the gateway's addresses, or when a probe contradicts the
configuration. Unknown is never healthy: the run exits 3 when nothing worse
was found.`,
	Codes:    []string{diagnose.CodeVerdictUnknown},
	Requires: []diagnose.Input{diagnose.InputEndpoints},
	Run: func(p *diagnose.Pass) error {
		for _, ep := range p.View.Endpoints {
			if ep.Verdict != diagnose.VerdictUnknown {
				continue
			}
			why := strings.Join(ep.Decision.Notes, "; ")
			if ep.Probe != nil && ep.Decision.Verdict.String() == "deny" && ep.Probe.State == "open" {
				why = fmt.Sprintf("configuration denies but a probe from %s connected", orUnknown(ep.Probe.From))
			}
			if why == "" {
				why = "the data cannot decide"
			}
			p.Report(diagnose.Finding{
				Code:     diagnose.CodeVerdictUnknown,
				Subjects: []string{ep.Label()},
				Services: []string{ep.ServiceKey},
				Message:  fmt.Sprintf("reachability of %s is unknown: %s", ep.Target(), why),
				Evidence: append([]string{"configuration verdict: " + ep.Decision.Verdict.String()}, ep.Decision.Notes...),
				Remediation: diagnose.Remediation{Steps: []string{
					"Collect the missing data (see the evidence), or probe the endpoint from the gateway's network (gwdoctor diagnose --probe).",
				}},
			})
		}
		return nil
	},
}

func orUnknown(s string) string {
	if s == "" {
		return "an unnamed vantage point"
	}
	return s
}
