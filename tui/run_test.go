package tui

import (
	"bytes"
	"context"
	"errors"
	"io"
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
