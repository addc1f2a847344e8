package lab

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// Safety net: whatever a failed test left behind goes now, and fails the run.
	if os.Geteuid() == 0 {
		labs, _ := Labs(context.Background())
		for _, p := range labs {
			if strings.HasPrefix(p, ProcessPrefix()) {
				fmt.Fprintf(os.Stderr, "lab tests left lab %s behind: removing it\n", p)
				Down(context.Background(), p)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// startLab brings s up for a test, with a prober, and tears it down when
// the test ends, whatever way it ends (failure, panic, SIGINT).
func startLab(t testing.TB, s *snapshot.Snapshot) *Lab {
	t.Helper()
	testenv.NeedNetns(t)
	l, err := Up(context.Background(), s, Options{Prober: true, TeardownOnSignal: true, HelperLog: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("tearing the lab down: %v", err)
		}
	})
	return l
}
