package probe

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSelfConnectIsNotOpen makes the connection a loopback probe can land
// on by chance (source port = target port, nothing listening: TCP
// simultaneous open) and checks that it is recognised and never called open.
func TestSelfConnectIsNotOpen(t *testing.T) {
	port := closedPort(t, "tcp4", "127.0.0.1:0")
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		t.Fatalf("self-connect: %v", err)
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	sock := &socket{fd: fd}
	if !sock.isSelfConnect(ap) {
		t.Fatalf("socket %s -> %s not recognised as connected to itself", sock.localAddr(), ap)
	}
	r := &runner{opts: Options{}.withDefaults(), sources: map[netip.Addr]string{}}
	res := &Result{Target: Target{"127.0.0.1", port}}
	r.decide(res, ap, newHostTimer(DefaultMinTimeout, DefaultTimeout), sock, connectOutcome{}, true)
	if res.State == StateOpen || res.State == "" {
		t.Errorf("self-connected attempt decided as %q (%s), want not open", res.State, res.Err)
	}
}
