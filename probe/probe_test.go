//go:build unix

package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
)

// listenLoopback returns an accepting listener on 127.0.0.1 and its port.
func listenLoopback(t testing.TB, network, addr string) int {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
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
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort returns a port that was bound and released, so nothing listens.
func closedPort(t testing.TB, network, addr string) int {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// silentPort returns a loopback port whose listener never accepts and whose
// accept queue is already full, so the kernel drops further SYNs: a port
// that does not answer, without privileges.
func silentPort(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*unix.SockaddrInet4).Port
	// Backlog 0 holds one connection; fill it.
	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return port
}

func TestRunLoopbackOpenAndRefused(t *testing.T) {
	open := listenLoopback(t, "tcp4", "127.0.0.1:0")
	refused := closedPort(t, "tcp4", "127.0.0.1:0")
	targets := []Target{{"127.0.0.1", refused}, {"127.0.0.1", open}}
	var mu sync.Mutex
	var seen []Result
	results := Run(context.Background(), targets, Options{OnResult: func(r Result) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
	}})
	if len(results) != 2 {
		t.Fatalf("got %d results, want 2", len(results))
	}
	ref, opn := results[0], results[1]
	if ref.Target != targets[0] || opn.Target != targets[1] {
		t.Fatalf("results out of input order: %v, %v", ref.Target, opn.Target)
	}
	if ref.State != StateRefused || ref.Phase != PhaseConnect || ref.Attempts != 1 ||
		!strings.Contains(ref.Err, "connection refused") || ref.RTT <= 0 || ref.Source != "127.0.0.1" {
		t.Errorf("closed port: %+v, want refused in 1 attempt from 127.0.0.1 with RTT and reason", ref)
	}
	if opn.State != StateOpen || opn.Err != "" || opn.RTT <= 0 || opn.Attempts != 1 ||
		opn.Address != fmt.Sprintf("127.0.0.1:%d", open) || !strings.HasPrefix(opn.Source, "127.0.0.1:") {
		t.Errorf("listening port: %+v, want open with address, source ip:port and RTT", opn)
	}
	if len(seen) != 2 {
		t.Errorf("OnResult called %d times, want 2", len(seen))
	}
}

func TestRunLoopbackIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		testenv.Skip(t, fmt.Sprintf("no IPv6 loopback here: %v", err))
	}
	ln.Close()
	open := listenLoopback(t, "tcp6", "[::1]:0")
	refused := closedPort(t, "tcp6", "[::1]:0")
	results := Run(context.Background(), []Target{{"::1", open}, {"::1", refused}}, Options{})
	if results[0].State != StateOpen || results[0].Address != fmt.Sprintf("[::1]:%d", open) {
		t.Errorf("[::1]:%d: %+v, want open", open, results[0])
	}
	if results[1].State != StateRefused {
		t.Errorf("[::1]:%d: %+v, want refused", refused, results[1])
	}
}

func TestRunResolvesEachHostOnce(t *testing.T) {
	open := listenLoopback(t, "tcp4", "127.0.0.1:0")
	refused := closedPort(t, "tcp4", "127.0.0.1:0")
	var mu sync.Mutex
	lookups := map[string]int{}
	defer func(orig func(context.Context, string, string) ([]netip.Addr, error)) { lookupNetIP = orig }(lookupNetIP)
	lookupNetIP = func(_ context.Context, network, host string) ([]netip.Addr, error) {
		mu.Lock()
		lookups[host]++
		mu.Unlock()
		if host == "backend.test" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	targets := []Target{{"backend.test", open}, {"backend.test", refused}, {"gone.test", 80}, {"gone.test", 81}}
	results := Run(context.Background(), targets, Options{})
	if lookups["backend.test"] != 1 || lookups["gone.test"] != 1 {
		t.Errorf("lookups = %v, want each host once", lookups)
	}
	if results[0].State != StateOpen || results[0].Address != fmt.Sprintf("127.0.0.1:%d", open) {
		t.Errorf("backend.test:%d = %+v, want open at 127.0.0.1", open, results[0])
	}
	if results[1].State != StateRefused {
		t.Errorf("backend.test:%d = %+v, want refused", refused, results[1])
	}
	for _, r := range results[2:] {
		if r.State != StateError || r.Phase != PhaseResolve || !strings.Contains(r.Err, "no such host") || r.Attempts != 0 {
			t.Errorf("%s = %+v, want a resolve-phase error naming the cause, no attempts", r.Target, r)
		}
	}
}

func TestRunSilentPortIsFilteredAfterEveryAttempt(t *testing.T) {
	open := listenLoopback(t, "tcp4", "127.0.0.1:0")
	silent := silentPort(t)
	targets := []Target{{"127.0.0.1", open}, {"127.0.0.1", silent}}
	// The open port teaches the host's RTT (well under a millisecond), so
	// the silent port is judged on the 20ms floor, not on the 30s timeout.
	start := time.Now()
	results := Run(context.Background(), targets, Options{Timeout: 30 * time.Second, MinTimeout: 20 * time.Millisecond, Retries: 2})
	elapsed := time.Since(start)
	if results[0].State != StateOpen {
		t.Fatalf("open port: %+v", results[0])
	}
	r := results[1]
	if r.State != StateFiltered || r.Attempts != 3 || r.RTT != 0 || !strings.HasPrefix(r.Err, "no answer to 3 SYNs") ||
		!strings.Contains(r.Err, "the host answers other ports") {
		t.Errorf("silent port: %+v, want filtered after 3 attempts with the wait explained", r)
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %v: the silent port waited for the configured timeout, not the host's adaptive one", elapsed)
	}
}

func TestRunCanceled(t *testing.T) {
	open := listenLoopback(t, "tcp4", "127.0.0.1:0")
	silent := silentPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []Result)
	go func() {
		done <- Run(ctx, []Target{{"127.0.0.1", silent}, {"127.0.0.1", open}}, Options{Timeout: time.Hour})
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	results := <-done
	if r := results[0]; r.State != StateError || r.Err != "canceled" {
		t.Errorf("in-flight silent port after cancel: %+v, want error \"canceled\", never filtered", r)
	}

	results = Run(ctx, []Target{{"127.0.0.1", open}}, Options{})
	if r := results[0]; r.State != StateError || r.Err != "canceled" || r.Attempts != 0 {
		t.Errorf("target of an already canceled run: %+v, want error \"canceled\" without attempts", r)
	}
}

func TestRunSourceAddress(t *testing.T) {
	open := listenLoopback(t, "tcp4", "127.0.0.1:0")
	results := Run(context.Background(), []Target{{"127.0.0.1", open}}, Options{Source: netip.MustParseAddr("127.0.0.2")})
	if r := results[0]; r.State != StateOpen || !strings.HasPrefix(r.Source, "127.0.0.2:") {
		t.Errorf("with source 127.0.0.2: %+v, want open from 127.0.0.2", r)
	}
	// 192.0.2.1 (TEST-NET-1) is on no interface: bind fails, nothing is sent.
	results = Run(context.Background(), []Target{{"127.0.0.1", open}, {"::1", open}}, Options{Source: netip.MustParseAddr("192.0.2.1")})
	if r := results[0]; r.State != StateError || !strings.Contains(r.Err, "cannot assign requested address") {
		t.Errorf("with a source on no interface: %+v, want an error saying so", r)
	}
	if r := results[1]; r.State != StateError || !strings.Contains(r.Err, "different IP families") || r.Attempts != 0 {
		t.Errorf("IPv4 source, IPv6 target: %+v, want an error without attempts", r)
	}
}

func TestRunRejectsInvalidTargets(t *testing.T) {
	results := Run(context.Background(), []Target{{"127.0.0.1", 0}, {"127.0.0.1", 70000}}, Options{})
	for _, r := range results {
		if r.State != StateError || !strings.Contains(r.Err, "out of range") || r.Attempts != 0 {
			t.Errorf("%+v: want an error without any attempt", r)
		}
	}
}

func TestClassify(t *testing.T) {
	dialErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	for _, tc := range []struct {
		err   error
		state State
		msg   string
	}{
		{dialErr(syscall.ECONNREFUSED), StateRefused, "connect: connection refused"},
		{dialErr(syscall.EHOSTUNREACH), StateUnreachable, "connect: no route to host"},
		{dialErr(syscall.ENETUNREACH), StateUnreachable, "connect: network is unreachable"},
		{dialErr(syscall.EHOSTDOWN), StateUnreachable, "connect: host is down"},
		{dialErr(syscall.ETIMEDOUT), StateFiltered, "connect: connection timed out"},
		{dialErr(syscall.EADDRNOTAVAIL), StateError, "connect: cannot assign requested address"},
		{dialErr(syscall.EPERM), StateError, "connect: operation not permitted"},
		{errors.New("something odd"), StateError, "something odd"},
	} {
		state, msg := classify(tc.err)
		if state != tc.state || msg != tc.msg {
			t.Errorf("classify(%v) = %s, %q; want %s, %q", tc.err, state, msg, tc.state, tc.msg)
		}
	}
}

func TestHostTimer(t *testing.T) {
	const ms = time.Millisecond
	h := newHostTimer(100*ms, time.Second)
	if got, _ := h.current(); got != time.Second {
		t.Fatalf("before any answer: %v, want the configured maximum", got)
	}
	_, changed := h.current()
	h.observe(200 * time.Microsecond)
	select {
	case <-changed:
	default:
		t.Error("first sample did not wake the waiters")
	}
	if got, _ := h.current(); got != 100*ms {
		t.Errorf("LAN host: %v, want the 100ms floor", got)
	}
	h.observe(1500 * ms) // may be an answer to the kernel's retransmitted SYN: ignored (Karn)
	if got, _ := h.current(); got != 100*ms {
		t.Errorf("after a >1s sample: %v, want it ignored", got)
	}

	far := newHostTimer(100*ms, time.Second)
	for range 20 {
		far.observe(300 * ms)
	}
	got, _ := far.current()
	if got < 600*ms || got > time.Second {
		t.Errorf("300ms host: %v, want between 2·RTT and the maximum", got)
	}
	slow := newHostTimer(10*ms, 5*time.Second)
	for range 50 {
		slow.observe(20 * ms)
	}
	slow.observe(400 * ms)
	if got, _ := slow.current(); got < 600*ms {
		t.Errorf("after one 400ms answer: %v, want at least 1.5× the slowest answer", got)
	}
}

func TestDispatchOrder(t *testing.T) {
	var targets []Target
	for p := 1; p <= 6; p++ {
		targets = append(targets, Target{"10.0.0.1", p})
	}
	targets = append(targets, Target{"10.0.0.2", 1}, Target{"10.0.0.2", 2})
	addrs := map[string]resolved{
		"10.0.0.1": {addr: netip.MustParseAddr("10.0.0.1")},
		"10.0.0.2": {addr: netip.MustParseAddr("10.0.0.2")},
	}
	order := dispatchOrder(targets, addrs)
	seen := map[int]bool{}
	for _, i := range order {
		seen[i] = true
	}
	if len(order) != len(targets) || len(seen) != len(targets) {
		t.Fatalf("order %v is not a permutation of %d targets", order, len(targets))
	}
	// The second host must not wait behind all of the first host's ports.
	if targets[order[1]].Host != "10.0.0.2" {
		t.Errorf("order %v does not interleave hosts", order)
	}
	if again := dispatchOrder(targets, addrs); fmt.Sprint(again) != fmt.Sprint(order) {
		t.Errorf("order not deterministic: %v then %v", order, again)
	}
}

func TestRecord(t *testing.T) {
	r := Result{Target: Target{"fd00::5", 8080}, Address: "[fd00::5]:8080", Source: "[fd00::1]:40000",
		State: StateOpen, RTT: 1234567 * time.Nanosecond, Attempts: 2, Phase: PhaseConnect}
	at := time.Date(2026, 11, 28, 10, 0, 5, 0, time.FixedZone("CST", 8*3600))
	p := r.Record("operator", at)
	if p.Target != "[fd00::5]:8080" || p.State != "open" || p.From != "operator" || p.RTTMs != 1.234 ||
		p.At != "2026-11-28T02:00:05Z" || p.Address != r.Address || p.Source != r.Source || p.Attempts != 2 || p.Error != "" {
		t.Errorf("Record = %+v", p)
	}
	f := Result{Target: Target{"10.0.0.1", 80}, State: StateFiltered, Attempts: 2, Err: "no answer"}.Record("gateway", time.Time{})
	if f.RTTMs != 0 || f.At != "" || f.Error != "no answer" || f.State != "filtered" {
		t.Errorf("Record of filtered = %+v", f)
	}
}
