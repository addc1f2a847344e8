package lab

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
)

// victimEnv makes TestTeardownVictim bring a lab up and then die the way
// it names: "fail", "panic" or "sigint" (wait for the signal).
const victimEnv = "GWDOCTOR_LAB_TEARDOWN_VICTIM"

func TestTeardownVictim(t *testing.T) {
	how := os.Getenv(victimEnv)
	if how == "" {
		t.Skip("run by TestTeardownAlwaysRuns in a child process") //testenv:not-environment
	}
	l := startLab(t, handSnapshot())
	fmt.Printf("LAB %s %v\n", l.Prefix(), l.Info().HelperPIDs)
	switch how {
	case "fail":
		t.Fatal("failing on purpose")
	case "panic":
		panic("panicking on purpose")
	case "sigint":
		time.Sleep(time.Minute)
		t.Fatal("no SIGINT came")
	}
}

// TestTeardownAlwaysRuns: whatever way a test with a lab ends, the lab's
// namespaces and helpers are gone afterwards.
func TestTeardownAlwaysRuns(t *testing.T) {
	testenv.NeedNetns(t)
	for _, how := range []string{"fail", "panic", "sigint"} {
		t.Run(how, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestTeardownVictim$", "-test.count=1")
			cmd.Env = append(os.Environ(), victimEnv+"="+how)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var prefix string
			var pids []int
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				if rest, ok := strings.CutPrefix(line, "LAB "); ok {
					var list string
					fmt.Sscanf(rest, "%s %s", &prefix, &list)
					for _, f := range strings.Fields(strings.Trim(rest[len(prefix):], " []")) {
						var pid int
						fmt.Sscan(f, &pid)
						pids = append(pids, pid)
					}
					if how == "sigint" {
						cmd.Process.Signal(syscall.SIGINT)
					}
				}
			}
			err = cmd.Wait()
			if prefix == "" {
				t.Fatalf("the victim never brought its lab up (%v): %s", err, stderr.String())
			}
			t.Cleanup(func() { Down(context.Background(), prefix) })
			if err == nil {
				t.Errorf("the victim (%s) exited 0", how)
			}
			names, nerr := Namespaces(context.Background(), prefix)
			if nerr != nil {
				t.Fatal(nerr)
			}
			if len(names) > 0 {
				t.Errorf("after the victim's %s, namespaces %v are left", how, names)
			}
			if len(pids) == 0 {
				t.Errorf("the victim reported no helper processes")
			}
			deadline := time.Now().Add(2 * time.Second)
			for _, pid := range pids {
				for syscall.Kill(pid, 0) == nil && !isZombie(pid) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if syscall.Kill(pid, 0) == nil && !isZombie(pid) {
					t.Errorf("helper %d outlived the victim's %s", pid, how)
				}
			}
		})
	}
}
