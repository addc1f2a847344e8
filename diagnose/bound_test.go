package diagnose

import (
	"strings"
	"testing"
)

func TestBoundedList(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e", "f", "g"}
	if got := BoundedList(items, 3); got != "a, b, c and 4 more" {
		t.Errorf("got %q", got)
	}
	if got := BoundedList(items[:3], 3); got != "a, b, c" {
		t.Errorf("got %q", got)
	}
}

// TestBoundCapsWhatACheckEmits: whatever a check reports, Pass.Report's
// bound keeps lists and texts within the fixed limits, and says how much it cut.
func TestBoundCapsWhatACheckEmits(t *testing.T) {
	long := strings.Repeat("sg-0001, ", 500)
	f := Finding{Message: long, Subjects: make([]string, 600), Evidence: make([]string, 500), Remediation: Remediation{Steps: make([]string, 30), Commands: make([]string, 30)}, Chain: make([]Link, 40)}
	for i := range f.Evidence {
		f.Evidence[i] = long
	}
	f.bound()
	if len(f.Message) > MaxText+32 || !strings.Contains(f.Message, "more bytes)") {
		t.Errorf("message %d bytes: %q", len(f.Message), f.Message[len(f.Message)-40:])
	}
	if len(f.Subjects) != MaxSubjects || f.Subjects[MaxSubjects-1] != "… and 577 more subjects" {
		t.Errorf("subjects %d, last %q", len(f.Subjects), f.Subjects[len(f.Subjects)-1])
	}
	if len(f.Evidence) != MaxEvidence || !strings.HasPrefix(f.Evidence[MaxEvidence-1], "… and 477 more") {
		t.Errorf("evidence %d, last %q", len(f.Evidence), f.Evidence[len(f.Evidence)-1])
	}
	for _, e := range f.Evidence {
		if len(e) > MaxText+32 {
			t.Errorf("evidence line of %d bytes", len(e))
		}
	}
	if len(f.Remediation.Steps) != MaxSteps || len(f.Remediation.Commands) != MaxSteps || len(f.Chain) != MaxChain {
		t.Errorf("steps %d commands %d chain %d", len(f.Remediation.Steps), len(f.Remediation.Commands), len(f.Chain))
	}
	// Cutting never splits a multi-byte character.
	s := cutText(strings.Repeat("→", MaxText))
	if !strings.HasPrefix(s, "→") || strings.ContainsRune(s, '\uFFFD') {
		t.Errorf("cut text not valid: %q", s[:10])
	}
}

func TestKeepOnlyBrokenAndFilterKeepRowsConsistent(t *testing.T) {
	r := &Report{
		Endpoints: []EndpointResult{
			{Service: "a/x", IP: "10.0.0.1", Port: 80, Ready: true, Verdict: VerdictReachable},
			{Service: "a/x", IP: "10.0.0.2", Port: 80, Ready: true, Verdict: VerdictBlocked, FindingIDs: []string{"GWD102-1", "GWD302-1"}},
			{Service: "a/x", IP: "10.0.0.3", Port: 80, Ready: true, Verdict: VerdictUnknown, FindingIDs: []string{"GWD002-1"}},
		},
		Findings: []Finding{
			{ID: "GWD102-1", Code: CodeWrongNode, Severity: Sev(Error), Services: []string{"a/x"}},
			{ID: "GWD302-1", Code: CodeBroadAuthorization, Severity: Sev(Info), Services: []string{"a/x"}},
			{ID: "GWD002-1", Code: CodeVerdictUnknown, Severity: Sev(Warning), Services: []string{"a/x"}},
		},
	}
	r.finish()
	sup, err := ParseSuppression("broad-authorization")
	if err != nil {
		t.Fatal(err)
	}
	r.ApplyFilter(nil, []Suppression{sup})
	if got := r.Endpoints[1].FindingIDs; len(got) != 1 || got[0] != "GWD102-1" {
		t.Errorf("row still points at the suppressed finding: %v", got)
	}
	r.KeepOnlyBroken()
	if len(r.Endpoints) != 2 || r.Summary.Endpoints != 3 || r.Summary.Reachable != 1 || !r.Filter.OnlyBroken || r.Filter.HiddenEndpoints != 1 {
		t.Errorf("rows %d, summary %+v, filter %+v", len(r.Endpoints), r.Summary, r.Filter)
	}
	if r.Causes.Explained != 1 || r.Causes.ByCode[0].Code != CodeWrongNode {
		t.Errorf("causes %+v", r.Causes)
	}
}
