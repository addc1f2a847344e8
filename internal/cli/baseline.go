package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// loadBaseline loads the --baseline snapshot; nil without one. (Callers
// reject "-" for both before reading standard input.)
func loadBaseline(ctx context.Context, path string, stdin io.Reader) (*snapshot.Snapshot, error) {
	if path == "" {
		return nil, nil
	}
	base, err := loadSnapshot(ctx, path, stdin)
	if err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	return base, nil
}

// diagnoseAgainst runs the catalog over snap with base as its baseline
// (View.Baseline, for checks that need one) and over base alone, then
// annotates the report's findings new / present / fixed and records the
// endpoints that stopped or started serving.
func diagnoseAgainst(ctx context.Context, snap *snapshot.Snapshot, src *diagnose.SourceInfo, base *snapshot.Snapshot, baseName string) *diagnose.Report {
	catalog := checks.All()
	bv := diagnose.NewView(base)
	baseReport := diagnose.Run(ctx, bv, catalog)
	v := diagnose.NewView(snap)
	v.Baseline = bv
	report := diagnose.Run(ctx, v, catalog)
	report.Source = src
	report.CompareBaseline(baseReport, &diagnose.SourceInfo{Kind: "file", Name: baseName, CapturedAt: base.CapturedAt}, catalog)
	return report
}

// warnOtherGateway warns when the baseline is of another gateway: the
// comparison then says little (a recreated gateway, or the wrong file).
func warnOtherGateway(w io.Writer, base, cur *snapshot.Snapshot) {
	if base.Gateway.ID != cur.Gateway.ID {
		fmt.Fprintf(w, "gwdoctor: warning: the baseline is of gateway %s, the current state of gateway %s: is it the right file?\n", base.Gateway.ID, cur.Gateway.ID)
	}
}
