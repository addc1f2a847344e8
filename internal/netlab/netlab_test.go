//go:build linux

package netlab

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
)

func TestMain(m *testing.M) {
	MainHelper()
	os.Exit(m.Run())
}

func exists(ns string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", ns))
	return err == nil
}

func TestPairCloseRemovesEverything(t *testing.T) {
	testenv.NeedNetns(t)
	p, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	if !exists(p.Client) || !exists(p.Server) {
		t.Fatalf("namespaces %s, %s not created", p.Client, p.Server)
	}
	listener, err := p.Listen(p.Server, "0.0.0.0:20001")
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	if _, err := p.AddDelayLine(0); err != nil {
		p.Close()
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if exists(p.Client) || exists(p.Server) {
		t.Errorf("namespaces left after Close")
	}
	if listener.cmd.ProcessState == nil {
		t.Errorf("listen helper still running after Close")
	}
}

func TestSweepStale(t *testing.T) {
	testenv.NeedNetns(t)
	// A pid that cannot be alive: above the kernel's pid_max (4194304).
	const stale = "gwdp-99999999-1-c"
	if out, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if exists(stale) {
			exec.Command("ip", "netns", "del", stale).Run()
		}
	})
	p, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if exists(stale) {
		t.Errorf("stale lab namespace %s not swept", stale)
	}
}
