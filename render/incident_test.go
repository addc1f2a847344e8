package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// TestTextReadsLikeAnIncidentSummary: the causes line on top, the worst
// service first, and in a service the finding explaining most endpoints first.
func TestTextReadsLikeAnIncidentSummary(t *testing.T) {
	r := &diagnose.Report{
		Endpoints: []diagnose.EndpointResult{
			{Service: "a/ok", IP: "10.0.0.1", Port: 80, Ready: true, Verdict: diagnose.VerdictReachable},
			{Service: "b/broken", IP: "10.0.0.2", Port: 80, Ready: true, Verdict: diagnose.VerdictBlocked, FindingIDs: []string{"few"}},
			{Service: "b/broken", IP: "10.0.0.3", Port: 80, Ready: true, Verdict: diagnose.VerdictBlocked, FindingIDs: []string{"many"}},
			{Service: "b/broken", IP: "10.0.0.4", Port: 80, Ready: true, Verdict: diagnose.VerdictBlocked, FindingIDs: []string{"many"}},
		},
		Findings: []diagnose.Finding{
			{ID: "few", Code: diagnose.CodeMissingAuthorization, Check: "missing-authorization", Severity: diagnose.Sev(diagnose.Error), Services: []string{"b/broken"}, Message: "FEW", Affected: &diagnose.Affected{Count: 1}},
			{ID: "many", Code: diagnose.CodeWrongNode, Check: "wrong-node", Severity: diagnose.Sev(diagnose.Error), Services: []string{"b/broken"}, Message: "MANY", Affected: &diagnose.Affected{Count: 2}},
		},
		Causes: &diagnose.Causes{Explained: 3, ByCode: []diagnose.CauseSummary{
			{Code: diagnose.CodeWrongNode, Check: "wrong-node", Endpoints: 2, Services: 1, Findings: 1},
			{Code: diagnose.CodeMissingAuthorization, Check: "missing-authorization", Endpoints: 1, Services: 1, Findings: 1}}},
	}
	for _, format := range []Format{FormatText, FormatMarkdown} {
		var b bytes.Buffer
		if err := Write(&b, r, format); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		order := []string{"2 causes explain 3 blocked endpoints", "GWD102 wrong-node: 2 endpoints in 1 service", "b/broken", "MANY", "FEW", "a/ok"}
		last := -1
		for _, s := range order {
			i := strings.Index(out, s)
			if i < 0 || i < last {
				t.Fatalf("%s: %q missing or out of order (want %q in that order):\n%s", format, s, order, out)
			}
			last = i
		}
	}
}
