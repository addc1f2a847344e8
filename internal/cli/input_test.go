package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInputHonoursInterrupt: every command that reads input ("-", a FIFO)
// stops when the context ends (Ctrl-C), with the interrupted exit code and
// a message saying so, never parsing what it did not read ("the file is
// empty"). The reads block for ever: only the cancellation can end them.
func TestInputHonoursInterrupt(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(good, []byte(labTestSnapshot("192.168.0.0/24")), 0o644)
	fifo := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			// Release the abandoned read: a writer that opens and closes.
			if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		})
		return path
	}
	for _, c := range []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"diagnose -", func(*testing.T) []string { return []string{"diagnose", "-"} }},
		{"diagnose FIFO without writer", func(t *testing.T) []string { return []string{"diagnose", fifo(t)} }},
		{"diagnose --baseline FIFO", func(t *testing.T) []string { return []string{"diagnose", good, "--baseline", fifo(t)} }},
		{"probe -f -", func(*testing.T) []string { return []string{"probe", "-f", "-"} }},
		{"probe -f FIFO", func(t *testing.T) []string { return []string{"probe", "-f", fifo(t)} }},
		{"diff FILE -", func(*testing.T) []string { return []string{"diff", good, "-"} }},
		{"diff FIFO FILE", func(t *testing.T) []string { return []string{"diff", fifo(t), good} }},
		{"verify -", func(*testing.T) []string { return []string{"verify", "-"} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := c.args(t)
			stdin, stdinWriter := io.Pipe() // an idle terminal: nothing, no EOF
			t.Cleanup(func() { stdinWriter.Close() })
			ctx, cancel := context.WithCancel(context.Background())
			var out, errw bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- mainContext(ctx, args, stdin, &out, &errw) }()
			// Give the command time to block in its read; the result must
			// be the same if the cancel comes first.
			time.Sleep(50 * time.Millisecond)
			cancel()
			code := <-done
			if code != ExitInterrupted || !strings.Contains(errw.String(), "interrupted while reading") || strings.Contains(errw.String(), "empty") {
				t.Errorf("%v interrupted: exit %d, stderr %q; want exit %d saying it was interrupted", args, code, errw.String(), ExitInterrupted)
			}
		})
	}
}

// TestSIGINTWhileReadingFIFO drives the real signal path: gwdoctor (this
// test binary, re-executed) waits on a FIFO whose writer never writes; SIGINT
// must end it with exit 130.
func TestSIGINTWhileReadingFIFO(t *testing.T) {
	if os.Getenv(childMainEnv) != "" {
		return
	}
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childMainEnv+"=diagnose\x1f"+path)
	var errw bytes.Buffer
	cmd.Stderr = &errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Opening the FIFO for writing returns once the child has opened it
	// for reading: it is then blocked in the read, with its signal handler
	// installed.
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != ExitInterrupted || !strings.Contains(errw.String(), "interrupted while reading") {
		t.Errorf("after SIGINT: exit %d (%v), stderr %q; want %d", code, err, errw.String(), ExitInterrupted)
	}
}

// childMainEnv makes the test binary run gwdoctor's Main with the
// arguments it holds (separated by \x1f) instead of the tests.
const childMainEnv = "GWDOCTOR_CLI_TEST_MAIN"

func TestMain(m *testing.M) {
	if args := os.Getenv(childMainEnv); args != "" {
		os.Exit(Main(strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestProbeTimeoutBounded: --timeout and --probe-timeout refuse values a
// typo makes absurd, with the bound in the message.
func TestProbeTimeoutBounded(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(good, []byte(labTestSnapshot("192.168.0.0/24")), 0o644)
	for _, args := range [][]string{
		{"probe", "--timeout", "10h", "127.0.0.1:1"},
		{"probe", "--timeout", "0s", "127.0.0.1:1"},
		{"diagnose", good, "--probe", "--probe-timeout", "2m"},
		{"verify", good, "--probe", "--probe-timeout", "61s"},
	} {
		code, _, errw := run(t, "", args...)
		if code != ExitInput || !strings.Contains(errw, "timeout") || !(strings.Contains(errw, "at most 1m0s") || strings.Contains(errw, "positive")) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with the bound", args, code, errw)
		}
	}
	if err := checkProbeTimeout("--timeout", time.Minute); err != nil {
		t.Errorf("the bound itself is allowed: %v", err)
	}
}

// TestProbeFromHelpHasOneDefault: the help states the default once.
func TestProbeFromHelpHasOneDefault(t *testing.T) {
	for _, command := range []string{"diagnose", "verify", "tui"} {
		_, out, _ := run(t, "", command, "--help")
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "--probe-from") {
				line = l
			}
		}
		if strings.Count(line, "default") != 1 {
			t.Errorf("%s --help: %q; want the default stated once", command, line)
		}
	}
	for env, want := range map[string]string{"": "operator", "gwlab-": "gateway"} {
		t.Setenv(labExecEnv, env)
		f := endpointProbeFlags{timeout: time.Second, concurrency: 1}
		if _, err := f.options(); err != nil || f.from != want {
			t.Errorf("GWDOCTOR_LAB=%q: probe-from %q (%v), want %q", env, f.from, err, want)
		}
	}
}
