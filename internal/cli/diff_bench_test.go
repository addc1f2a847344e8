package cli

import (
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/internal/testenv"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// BenchmarkDiffCommandLarge runs `gwdoctor diff BASELINE CURRENT -o json`
// end to end (both files parsed and validated, both diagnosed, compared,
// rendered) on gen.Default() — 100,000 endpoints, 100,000 rules — against a
// copy with an authorization deleted, 1,000 endpoints re-ported, 1,000 not
// ready and 50 ENIs losing a group. The peer is GNU diff on the same two
// YAML files: what an engineer runs by hand, which lists lines, not causes.
func BenchmarkDiffCommandLarge(b *testing.B) {
	cfg := gen.Default()
	if testing.Short() {
		cfg = gen.Config{Endpoints: 10_000, Nodes: 500, Groups: 100, Rules: 10_000, Services: 30, Seed: 1}
	}
	dir := b.TempDir()
	base, cur := filepath.Join(dir, "baseline.yaml"), filepath.Join(dir, "current.yaml")
	if err := snapshot.Save(base, gen.Large(cfg)); err != nil {
		b.Fatal(err)
	}
	s := gen.Large(cfg)
	s.CapturedAt = "2026-11-28T14:00:00Z"
	s.Gateway.Authorizations = s.Gateway.Authorizations[1:]
	n := 0
	for i := range s.Services {
		for j := range s.Services[i].Endpoints {
			ep := &s.Services[i].Endpoints[j]
			switch n % 100 {
			case 0:
				ep.Port++
			case 1:
				f := false
				ep.Ready = &f
			}
			n++
		}
	}
	for i := 0; i < 50 && i < len(s.Nodes); i++ {
		if eni := diagnose.PrimaryENI(&s.Nodes[i]); eni != nil && len(eni.SecurityGroupIDs) > 1 {
			eni.SecurityGroupIDs = eni.SecurityGroupIDs[1:]
		}
	}
	if err := snapshot.Save(cur, s); err != nil {
		b.Fatal(err)
	}
	b.Run("gwdoctor-diff", func(b *testing.B) {
		var text strings.Builder // the text a person reads, measured once, untimed
		Main([]string{"diff", base, cur}, strings.NewReader(""), &text, io.Discard)
		start := cpuTime()
		defer reportCPU(b, start)
		for b.Loop() {
			if code := Main([]string{"diff", base, cur, "-o", "json"}, strings.NewReader(""), io.Discard, io.Discard); code != ExitFindings {
				b.Fatalf("exit %d", code)
			}
		}
		b.ReportMetric(float64(strings.Count(text.String(), "\n")), "lines-out") // after the loop, or b.Loop resets it
	})
	b.Run("gnu-diff", func(b *testing.B) {
		testenv.NeedTools(b, "diff")
		var child time.Duration // the child process's CPU, not ours
		lines := 0
		for b.Loop() {
			var out strings.Builder
			cmd := exec.Command("diff", "-u", base, cur)
			cmd.Stdout = &out
			if err := cmd.Run(); err == nil {
				b.Fatal("diff found no difference")
			}
			child += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			lines = strings.Count(out.String(), "\n")
		}
		b.ReportMetric(float64(child)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		b.ReportMetric(float64(lines), "lines-out")
	})
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ms/op: steadier than wall time on a shared machine.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
