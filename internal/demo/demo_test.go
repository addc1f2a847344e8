package demo

import (
	"net"
	"testing"
	"time"
)

func TestSnapshotIsValid(t *testing.T) {
	s, err := Snapshot()
	if err != nil {
		t.Fatalf("embedded demo scenario does not load: %v", err)
	}
	if len(s.Services) != 7 {
		t.Errorf("demo has %d services, want 7", len(s.Services))
	}
}

// Two demos at once (a terminal UI and a CLI run) must both serve.
func TestListenTwiceOnTheSameAddress(t *testing.T) {
	addr := "127.0.0.1:0"
	first, err := Listen([]string{addr})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	bound := first.lns[0].Addr().String()
	second, err := Listen([]string{bound})
	if err != nil {
		t.Fatalf("second demo could not share %s: %v", bound, err)
	}
	c, err := net.DialTimeout("tcp", bound, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", bound, err)
	}
	c.Close()
	second.Close()
	c, err = net.DialTimeout("tcp", bound, 2*time.Second)
	if err != nil {
		t.Fatalf("the first demo stopped serving when the second closed: %v", err)
	}
	c.Close()
}
