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
that could decide uses an unexpanded prefix or port list, or when a CIDR rule
covers only some of the gateway's addresses. Unknown is never healthy: the run
exits 3 when nothing worse was found. A configuration that denies while a
probe connects is unknown too, but reported as contradictory-evidence.`,
	Codes:    []string{diagnose.CodeVerdictUnknown},
	Requires: []diagnose.Input{diagnose.InputEndpoints},
	Run: func(p *diagnose.Pass) error {
		for _, ep := range p.View.Endpoints {
			if ep.Verdict != diagnose.VerdictUnknown {
				continue
			}
			if contradiction(ep) != notContradicted {
				continue // contradictory-evidence explains it
			}
			why := strings.Join(ep.Decision.Notes, "; ")
			if why == "" {
				why = "the data cannot decide"
			}
			ev := []string{"configuration verdict: " + ep.Decision.Verdict.String()}
			ev = append(ev, ep.Decision.Notes...)
			if l := probeLine(ep); l != "" {
				ev = append(ev, l)
			}
			// Said where it matters: why the gateway's own view did not decide.
			if l := healthLine(ep); l != "" {
				ev = append(ev, l)
			}
			p.Report(diagnose.Finding{
				Code:     diagnose.CodeVerdictUnknown,
				Subjects: []string{ep.Label()},
				Services: []string{ep.ServiceKey},
				Message:  fmt.Sprintf("reachability of %s is unknown: %s", ep.Target(), why),
				Evidence: ev,
				Remediation: diagnose.Remediation{Steps: []string{
					"Collect the missing data (see the evidence), or probe the endpoint from the gateway's network (gwdoctor diagnose --probe --probe-from gateway).",
				}},
			})
		}
		return nil
	},
}

var _ = explains(Article{
	Code:    diagnose.CodeVerdictUnknown,
	Symptom: `gwdoctor reports an endpoint as unknown and exits 3 (inconclusive) when nothing worse was found.`,
	Cause: `The data cannot decide: the endpoint's IP is on no known ENI and its node is unknown; a group
on its ENI (or its rules) could not be collected; a rule that could decide uses a prefix or
port list whose entries are unknown; a CIDR rule covers only some of the gateway's addresses,
or the gateway's addresses are unknown.`,
	Detection: `The evaluator answers unknown whenever a rule that may or may not match could change the
outcome, and endpoint resolution fails when no ENI can be found. Unknown is never reported as
reachable.`,
	Fix: `Collect what is missing (the evidence names it: RAM permissions for the failed API, the
gateway's vSwitch CIDRs in gateway.addresses, the node of the endpoint), or probe from the
gateway's network: gwdoctor diagnose FILE --probe --probe-from gateway.`,
	Related: []string{diagnose.CodeCheckSkipped, diagnose.CodeInvalidRule, diagnose.CodeContradictory},
})
