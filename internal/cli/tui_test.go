package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// The UI itself is tested in package tui (model, goldens, a real terminal
// under tmux); these are the command's argument and input checks, which run
// before any terminal is touched.
func TestTUIUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\ngateway:\n  id: gw-1\n  bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tui"}, "needs a snapshot FILE, --live or --demo"},
		{[]string{"tui", "--demo", "x.yaml"}, "one of a snapshot FILE, --live or --demo"},
		{[]string{"tui", "--live", "--demo"}, "one of a snapshot FILE, --live or --demo"},
		{[]string{"tui", "--live", "--gateway", ""}, "--gateway is required"},
		{[]string{"tui", "-"}, "cannot read the snapshot from standard input"},
		{[]string{"tui", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml"},
		{[]string{"tui", bad}, "bad.yaml:4"},
		{[]string{"tui", "--demo", "--probe-timeout", "0s"}, "--probe-timeout"},
		{[]string{"tui", "a", "b"}, "accepts at most 1 arg"},
		// Tests do not run on a terminal: the command says so instead of
		// drawing into a pipe.
		{[]string{"tui", "--demo"}, "tui needs a terminal"},
	} {
		code, _, errw := run(t, "", tc.args...)
		if code != ExitInput || !strings.Contains(errw, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errw, tc.want)
		}
	}
}

func TestTUIDemoSourceServesAndProbesLoopback(t *testing.T) {
	src, closeDemo := demoSource()
	defer closeDemo()
	var steps []string
	snap, err := src.Load(context.Background(), func(s string) { steps = append(steps, s) })
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || !strings.Contains(steps[1], "serving 1 healthy demo backends") {
		t.Fatalf("steps %q", steps)
	}
	states := map[string]string{}
	for _, p := range snap.Probes {
		states[p.Target] = p.State + "/" + p.From
	}
	// The healthy backend answers, the service that is down refuses, blocked endpoints are not probed.
	for target, want := range map[string]string{"127.0.10.11:8080": "open/demo-loopback", "127.0.10.15:8080": "refused/demo-loopback", "127.0.20.11:8080": ""} {
		if states[target] != want {
			t.Errorf("%s: %q, want %q", target, states[target], want)
		}
	}
	// A reload reuses the listeners (r in the UI).
	again, err := src.Load(context.Background(), func(string) {})
	if err != nil || len(again.Probes) != len(snap.Probes) {
		t.Fatalf("reload: %v, %d probes", err, len(again.Probes))
	}
	if why := demoProbeSkip(diagnose.EndpointResult{Config: "deny"}); why == "" {
		t.Error("a blocked demo endpoint may be probed")
	}
	if why := demoProbeSkip(diagnose.EndpointResult{Config: "allow"}); why != "" {
		t.Errorf("an allowed demo endpoint is skipped: %s", why)
	}
}
