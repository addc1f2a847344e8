package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/probe"
)

func runMain(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// loopbackPorts returns a listening (accepting) and a closed port on 127.0.0.1.
func loopbackPorts(t *testing.T) (open, closed int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gone, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed = gone.Addr().(*net.TCPAddr).Port
	gone.Close()
	return ln.Addr().(*net.TCPAddr).Port, closed
}

func TestProbeCommandAllOpen(t *testing.T) {
	open, _ := loopbackPorts(t)
	target := fmt.Sprintf("127.0.0.1:%d", open)
	code, out, errOut := runMain(t, "", "probe", target)
	if code != ExitOK {
		t.Fatalf("exit %d, want 0; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr not empty when it is not a terminal: %q", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !regexp.MustCompile(`^TARGET +ADDRESS +STATE +RTT +ATTEMPTS +ERROR$`).MatchString(lines[0]) {
		t.Fatalf("want header, one row, summary; got:\n%s", out)
	}
	row := regexp.MustCompile(`^` + regexp.QuoteMeta(target) + ` +` + regexp.QuoteMeta(target) + ` +open +[0-9.]+(µs|ms) +1 *$`)
	if !row.MatchString(lines[1]) {
		t.Errorf("row %q does not show the open target with its RTT", lines[1])
	}
	if !regexp.MustCompile(`^1 target in [0-9.]+(µs|ms|s): 1 open \(from 127\.0\.0\.1\)$`).MatchString(lines[2]) {
		t.Errorf("summary %q", lines[2])
	}
}

func TestProbeCommandRefusedExitsOne(t *testing.T) {
	open, closed := loopbackPorts(t)
	file := filepath.Join(t.TempDir(), "targets.txt")
	content := fmt.Sprintf("# backends\n127.0.0.1:%d  # closed\n127.0.0.1:%d\n", closed, open)
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// The open target appears twice (file and argument): probed once.
	code, out, _ := runMain(t, "", "probe", "-f", file, fmt.Sprintf("127.0.0.1:%d", open), "-o", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1 (a target is not open); output:\n%s", code, out)
	}
	var doc struct {
		SchemaVersion int            `json:"schemaVersion"`
		Summary       map[string]int `json:"summary"`
		Results       []struct {
			Target, Address, Source, State, Phase, Error string
			RTTMs                                        float64
			Attempts, Port                               int
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if doc.SchemaVersion != 1 || doc.Summary["targets"] != 2 || doc.Summary["open"] != 1 || doc.Summary["refused"] != 1 || len(doc.Results) != 2 {
		t.Fatalf("summary %v, %d results; want 2 targets: 1 open, 1 refused", doc.Summary, len(doc.Results))
	}
	// Results come in input order: the arguments, then the files.
	opened, refused := doc.Results[0], doc.Results[1]
	if refused.State != "refused" || refused.Port != closed || !strings.Contains(refused.Error, "connection refused") || refused.Phase != "connect" {
		t.Errorf("first result %+v, want the closed port refused", refused)
	}
	if opened.State != "open" || opened.RTTMs <= 0 || !strings.HasPrefix(opened.Source, "127.0.0.1:") || opened.Attempts != 1 {
		t.Errorf("second result %+v, want the open port with RTT and source", opened)
	}
}

func TestProbeCommandTargetsFromStdin(t *testing.T) {
	open, _ := loopbackPorts(t)
	code, out, errOut := runMain(t, fmt.Sprintf("127.0.0.1:%d\n", open), "probe", "-f", "-")
	if code != ExitOK || !strings.Contains(out, " open ") {
		t.Errorf("exit %d; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestProbeCommandInputErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("10.0.0.1:80\n10.0.0.2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no targets", []string{"probe"}, []string{"no targets"}},
		{"missing port", []string{"probe", "10.0.0.1"}, []string{`argument 1 "10.0.0.1": missing port`}},
		{"every bad argument", []string{"probe", "h:0", "ok:1", "[::1]"}, []string{`argument 1 "h:0"`, `argument 3 "[::1]"`}},
		{"bad file line", []string{"probe", "-f", bad}, []string{bad + `:2: "10.0.0.2": missing port`}},
		{"missing file", []string{"probe", "-f", "/nonexistent/targets.txt"}, []string{"/nonexistent/targets.txt", "no such file"}},
		{"too many", []string{"probe", "127.0.0.1:1-100", "--max-targets", "99"}, []string{"refusing to probe 100 targets", "--max-targets 99"}},
		{"bad flags", []string{"probe", "127.0.0.1:1", "--timeout", "0s", "--concurrency", "0", "--retries", "-1", "-o", "yaml"},
			[]string{"--timeout 0s", "--concurrency 0", "--retries -1", `--output "yaml"`}},
		{"min above max", []string{"probe", "127.0.0.1:1", "--min-timeout", "2s"}, []string{"--min-timeout 2s: exceeds --timeout 1s"}},
		{"bad source", []string{"probe", "127.0.0.1:1", "--source", "10.0.0.300"}, []string{`--source "10.0.0.300": not an IP address`}},
		{"foreign source", []string{"probe", "127.0.0.1:1", "--source", "192.0.2.1"}, []string{"--source 192.0.2.1: not an address of this machine"}},
		{"unknown flag", []string{"probe", "127.0.0.1:1", "--bogus"}, []string{"unknown flag: --bogus"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runMain(t, "", tc.args...)
			if code != ExitInput {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout not empty on bad input: %q", out)
			}
			for _, want := range tc.want {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr %q lacks %q", errOut, want)
				}
			}
		})
	}
}

func TestProbeSummaryLine(t *testing.T) {
	if got := formatRTT(412345); got != "0.41ms" {
		t.Errorf("formatRTT(0.412ms) = %q", got)
	}
	if got := formatRTT(42_000); got != "42µs" {
		t.Errorf("formatRTT(42µs) = %q", got)
	}
	if got := formatRTT(152_400_000); got != "152ms" {
		t.Errorf("formatRTT(152.4ms) = %q", got)
	}
}

func TestProbeProgressLine(t *testing.T) {
	var buf bytes.Buffer
	if p := newProgressLine(&buf, 3); p.w != nil {
		t.Fatal("progress enabled on a writer that is not a terminal")
	}
	p := &progressLine{w: &buf, total: 3, counts: map[probe.State]int{}}
	p.start()
	p.add(probe.Result{State: probe.StateOpen})
	p.add(probe.Result{State: probe.StateFiltered})
	p.draw()
	p.stop()
	out := buf.String()
	if !regexp.MustCompile(`\r\x1b\[Kprobing 2/3 · 1 open · 1 filtered · \d+\.\ds`).MatchString(out) || !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("progress output %q: want a redrawn counts line, erased at the end", out)
	}
}
