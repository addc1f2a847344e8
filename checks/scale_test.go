package checks

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/gen"
)

// Report-size bounds (DESIGN.md "Findings at scale"): a finding's size does
// not grow with the estate, and an endpoint row's size does not either.
const (
	maxFindingBytes = 6 << 10
	maxRowBytes     = 512
)

// TestReportSizeIsBoundedOnABadDay diagnoses issue 12's bad-day shape with
// 500 authorizations (every node of an unauthorized group is a wrong-node
// endpoint whose finding could name all 500 and their nodes) and checks the
// bytes of every finding and row against fixed bounds: the report is
// O(endpoints + findings), never O(findings × authorizations).
func TestReportSizeIsBoundedOnABadDay(t *testing.T) {
	for _, groups := range []int{100, 1000} { // 50 and 500 authorizations: the bound must not move
		s := gen.BadDay(gen.BadDayConfig{Endpoints: 3000, Services: 30, Nodes: 1000, Groups: groups, Rules: 10, Seed: 3})
		if len(s.Gateway.Authorizations) != groups/2 {
			t.Fatalf("%d authorizations, want %d", len(s.Gateway.Authorizations), groups/2)
		}
		r := diagnose.Run(context.Background(), diagnose.NewView(s), All())
		if r.Summary.Blocked < 900 || len(r.Findings) < 100 {
			t.Fatalf("groups %d: %d blocked, %d findings: the estate is not having its bad day", groups, r.Summary.Blocked, len(r.Findings))
		}
		wrongNode := 0
		for i := range r.Findings {
			f := &r.Findings[i]
			b, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > maxFindingBytes {
				t.Errorf("groups %d: finding %s is %d bytes (bound %d): %s", groups, f.ID, len(b), maxFindingBytes, f.Message)
			}
			if f.Code == diagnose.CodeWrongNode {
				wrongNode++
			}
		}
		if wrongNode == 0 {
			t.Fatalf("groups %d: no wrong-node finding: the test exercises nothing", groups)
		}
		for i := range r.Endpoints {
			b, _ := json.Marshal(&r.Endpoints[i])
			if len(b) > maxRowBytes {
				t.Errorf("groups %d: row %d is %d bytes (bound %d)", groups, i, len(b), maxRowBytes)
			}
		}
		total, _ := json.Marshal(r)
		if bound := maxRowBytes*len(r.Endpoints) + maxFindingBytes*len(r.Findings); len(total) > bound {
			t.Errorf("groups %d: report %d bytes > %d", groups, len(total), bound)
		}
		t.Logf("groups %d: %d endpoints, %d findings, %d bytes (%d per finding and row)", groups, len(r.Endpoints), len(r.Findings), len(total), len(total)/(len(r.Endpoints)+len(r.Findings)))
	}
}
