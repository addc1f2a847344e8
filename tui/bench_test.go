package tui

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/render"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// largeReport diagnoses a generated 10,000-endpoint snapshot with the whole
// catalog: services spreads the endpoints (1 puts all of them in one list).
func largeReport(b *testing.B, services int) (*snapshot.Snapshot, *diagnose.Report) {
	b.Helper()
	snap := gen.Large(gen.Config{Endpoints: 10_000, Nodes: 500, Groups: 100, Rules: 10_000, Services: services, Seed: 1})
	r := diagnose.Run(context.Background(), diagnose.NewView(snap), checks.All())
	r.Source = &diagnose.SourceInfo{Kind: "file", Name: "large.yaml", CapturedAt: snap.CapturedAt}
	return snap, r
}

func largeConfig(snap *snapshot.Snapshot, r *diagnose.Report) Config {
	return Config{
		Source:   Source{Kind: "file", Name: "large.yaml"},
		Snapshot: snap,
		Report:   r,
		Diagnose: func(context.Context, *snapshot.Snapshot) *diagnose.Report { return r },
		Now:      func() time.Time { return testNow },
	}
}

// BenchmarkFirstFrame is the time from creating the model with a report of
// 10,000 endpoints to the first rendered frame (issue 6: under 200 ms).
func BenchmarkFirstFrame(b *testing.B) {
	for _, services := range []int{300, 1} {
		snap, r := largeReport(b, services)
		b.Run(fmt.Sprintf("endpoints=10000/services=%d", services), func(b *testing.B) {
			for b.Loop() {
				m := New(largeConfig(snap, r))
				m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
				if len(m.View().Content) == 0 {
					b.Fatal("empty frame")
				}
			}
			b.ReportMetric(float64(len(r.Findings)), "findings")
		})
	}
}

// BenchmarkScroll is one key press moving a cursor (Update) and the frame
// drawn after it (View), in the three lists, with 10,000 endpoints.
func BenchmarkScroll(b *testing.B) {
	for _, services := range []int{300, 1} {
		snap, r := largeReport(b, services)
		for _, p := range []pane{paneServices, paneEndpoints, paneFindings} {
			b.Run(fmt.Sprintf("services=%d/%s", services, p), func(b *testing.B) {
				m := New(largeConfig(snap, r))
				m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
				m.focus = p
				down, up := keyMsg("down"), keyMsg("up")
				i := 0
				for b.Loop() {
					// Down to the end of the list and back, wrapping around.
					msg := down
					if (i/500)%2 == 1 {
						msg = up
					}
					i++
					m.Update(msg)
					_ = m.View()
				}
			})
		}
	}
}

// BenchmarkPeerTextReport is the peer: gwdoctor diagnose's text renderer
// writing the same report in full (what a non-virtualised view pays).
func BenchmarkPeerTextReport(b *testing.B) {
	for _, services := range []int{300, 1} {
		_, r := largeReport(b, services)
		b.Run(fmt.Sprintf("endpoints=10000/services=%d", services), func(b *testing.B) {
			for b.Loop() {
				if err := render.Text(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
