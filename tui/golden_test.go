package tui

import (
	"context"

	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// plain renders the view through the NoTTY colour profile, as a terminal
// without colour or attributes would show it: the goldens are what a user
// reads with everything but the characters stripped.
func plain(t *testing.T, m *Model) string {
	t.Helper()
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.NoTTY}
	if _, err := w.WriteString(m.View().Content); err != nil {
		t.Fatal(err)
	}
	// Trailing spaces carry no information and make diffs noisy.
	lines := strings.Split(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden (go test ./tui -run Golden -update rewrites it after review)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestGoldenViews renders the screens a user goes through, at 80×24 and 120×40.
func TestGoldenViews(t *testing.T) {
	scenes := []struct {
		name string
		play func(t *testing.T, m *Model)
	}{
		{"start", func(t *testing.T, m *Model) {}},
		{"wrong-node-finding", func(t *testing.T, m *Model) {
			selectService(t, m, "shop/orders")
			press(m, "enter")
		}},
		{"wrong-node-detail", func(t *testing.T, m *Model) {
			selectService(t, m, "shop/orders")
			press(m, "enter", "enter")
		}},
		{"endpoint-detail", func(t *testing.T, m *Model) {
			selectService(t, m, "shop/reviews")
			press(m, "tab", "enter")
		}},
		{"help", func(t *testing.T, m *Model) { press(m, "?") }},
		{"filter", func(t *testing.T, m *Model) {
			press(m, "/")
			typeText(m, "pay")
		}},
		{"errors-only", func(t *testing.T, m *Model) { press(m, "s", "s") }},
		{"gateway-wide", func(t *testing.T, m *Model) { press(m, "end") }},
		{"after-reload", func(t *testing.T, m *Model) {
			m.cfg.Diagnose = (&fakeDiagnoser{reports: []*diagnose.Report{fixedReport(t)}}).diagnose
			selectService(t, m, "shop/orders")
			press(m, "r")
			drain(t, m)
			press(m, "enter", "down")
		}},
		{"probing", func(t *testing.T, m *Model) {
			fp := &fakeProber{hold: make(chan struct{})}
			m.cfg.Probe = fp.probe
			selectService(t, m, "shop/cart")
			press(m, "P")
			for len(m.pending) != 6 {
				next(t, m)
			}
			m.spinner.Spinner.Frames = []string{"*"} // a fixed frame
			t.Cleanup(func() { close(fp.hold); drain(t, m) })
		}},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, sc := range scenes {
			name := fmt.Sprintf("%s-%dx%d", sc.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				m, _ := newTestModel(t, testOpts{w: size[0], h: size[1]})
				sc.play(t, m)
				checkGolden(t, name, plain(t, m))
			})
		}
	}
}

func TestGoldenLoading(t *testing.T) {
	m, _ := newTestModel(t, testOpts{noReport: true, w: 80, h: 24, load: slowLoad(t)})
	m.Init()
	next(t, m)
	next(t, m)
	m.spinner.Spinner.Frames = []string{"*"}
	checkGolden(t, "loading-80x24", plain(t, m))
	drain(t, m)
}

func slowLoad(t *testing.T) func(context.Context, func(string)) (*snapshot.Snapshot, error) {
	return func(_ context.Context, progress func(string)) (*snapshot.Snapshot, error) {
		progress("listing security groups (page 2 of 3)")
		return demoSnapshot(t), nil
	}
}
