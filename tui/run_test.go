package tui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// syncBuffer is the program's output, read while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.buf.String(), s)
}

// runUntil runs the program, typing keys once the output shows want.
func runUntil(t *testing.T, cfg Config, want, keys string) error {
	t.Helper()
	in, typist := io.Pipe()
	out := &syncBuffer{}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for !out.contains(want) {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		typist.Write([]byte(keys))
	}()
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), cfg, in, out, tea.WithWindowSize(120, 40)) }()
	select {
	case err := <-done:
		typist.Close()
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("the program did not end; output so far has %q: %v", want, out.contains(want))
	}
	return nil
}

func TestRunQuitsCleanly(t *testing.T) {
	fd := &fakeDiagnoser{reports: []*diagnose.Report{fixtureReport(t)}}
	cfg := Config{Source: Source{Kind: "file", Name: "x.yaml"}, Snapshot: demoSnapshot(t), Diagnose: fd.diagnose, Now: func() time.Time { return testNow }}
	if err := runUntil(t, cfg, "shop/orders", "q"); err != nil {
		t.Fatalf("q: %v", err)
	}
}

func TestRunReportsALoadThatNeverSucceeded(t *testing.T) {
	cause := errors.New("mse: InvalidAccessKeyId.NotFound")
	cfg := Config{
		Source:   Source{Kind: "live", Name: "cn-hangzhou/gw-1", Load: func(context.Context, func(string)) (*snapshot.Snapshot, error) { return nil, cause }},
		Diagnose: (&fakeDiagnoser{}).diagnose,
	}
	err := runUntil(t, cfg, "InvalidAccessKeyId", "q")
	var nd *NoDataError
	if !errors.As(err, &nd) || !errors.Is(err, cause) {
		t.Fatalf("err %v, want NoDataError wrapping the load error", err)
	}
}

// sgrColour finds SGR sequences that set a colour (30–38, 40–48, 90–97,
// 100–107); 39/49 (default colour) are not colours.
var sgrColour = regexp.MustCompile(`\x1b\[([0-9:;]*;)?(3[0-8]|4[0-8]|9[0-7]|10[0-7])([;:m])`)

func TestRunWithNoColorDrawsNoColour(t *testing.T) {
	fd := &fakeDiagnoser{reports: []*diagnose.Report{fixtureReport(t)}}
	cfg := Config{Source: Source{Kind: "file", Name: "x.yaml"}, Snapshot: demoSnapshot(t), Diagnose: fd.diagnose, Now: func() time.Time { return testNow }}
	for _, tc := range []struct {
		noColor    string
		wantColour bool
	}{{"1", false}, {"yes", false}, {"", true}} {
		t.Setenv("NO_COLOR", tc.noColor)
		t.Setenv("TERM", "xterm-256color")
		t.Setenv("COLORTERM", "truecolor")
		t.Setenv("TTY_FORCE", "1") // colorprofile: treat the pipe as a terminal
		in, typist := io.Pipe()
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- Run(context.Background(), cfg, in, out, tea.WithWindowSize(120, 40)) }()
		for !out.contains("shop/orders") {
			time.Sleep(10 * time.Millisecond)
		}
		typist.Write([]byte("q"))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		out.mu.Lock()
		text := out.buf.String()
		out.mu.Unlock()
		if got := sgrColour.MatchString(text); got != tc.wantColour {
			t.Errorf("NO_COLOR=%q: colour sequences present = %v, want %v (first: %q)", tc.noColor, got, tc.wantColour, sgrColour.FindString(text))
		}
		if !strings.Contains(text, "BROKEN") {
			t.Errorf("NO_COLOR=%q: the status words are missing", tc.noColor)
		}
	}
}
