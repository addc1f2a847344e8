//go:build linux

package probe

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// socket is one connection attempt: a non-blocking connect whose outcome is
// read straight from the socket (SO_ERROR, getpeername), waiting in the Go
// runtime's poller only when it is not known at once.
//
// Measured need (BenchmarkRunLoopback, bench/probe-bench.sh scenario c):
// net.Dialer costs a context, an AfterFunc, keep-alive and name syscalls and
// a goroutine per attempt; on loopback and local addresses the handshake is
// already decided when connect returns, so most probes finish here without
// a goroutine, a timer or the poller.
type socket struct {
	fd      int
	file    *os.File // set once the socket waits in the poller
	rc      syscall.RawConn
	started time.Time
}

// connectOutcome is what an attempt ended in: connected (err nil) or the
// connect error.
type connectOutcome struct {
	err error
	rtt time.Duration
}

// startConnect begins an attempt. done reports that the outcome is already
// known (outcome); otherwise wait for it.
//
// A connection to a local address whose port lies in the ephemeral range
// can be given that same port as its source and then "connects" to itself
// (TCP simultaneous open) although nothing listens; such an attempt is
// thrown away and made again, as net.Dialer does.
func startConnect(ap netip.AddrPort, source netip.Addr) (s *socket, outcome connectOutcome, done bool) {
	for range 3 {
		s, outcome, done = connectOnce(ap, source)
		if !done || outcome.err != nil || !s.isSelfConnect(ap) {
			return s, outcome, done
		}
		s.close()
	}
	return nil, connectOutcome{err: errSelfConnect}, true
}

var errSelfConnect = errors.New("connect: the connection kept connecting to itself (source port = target port)")

func (s *socket) isSelfConnect(ap netip.AddrPort) bool {
	local, err := netip.ParseAddrPort(s.localAddr())
	return err == nil && local.Port() == ap.Port() && local.Addr().WithZone("") == ap.Addr().Unmap().WithZone("")
}

func connectOnce(ap netip.AddrPort, source netip.Addr) (s *socket, outcome connectOutcome, done bool) {
	sa, family, err := sockaddr(ap)
	if err != nil {
		return nil, connectOutcome{err: err}, true
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, connectOutcome{err: os.NewSyscallError("socket", err)}, true
	}
	s = &socket{fd: fd}
	if source.IsValid() {
		// SO_REUSEADDR lets bind pick a port still in TIME_WAIT from an
		// earlier probe, so long runs with --source do not run out of ports.
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		src, _, err := sockaddr(netip.AddrPortFrom(source, 0))
		if err == nil {
			err = unix.Bind(fd, src)
		}
		if err != nil {
			unix.Close(fd)
			return nil, connectOutcome{err: os.NewSyscallError("bind", err)}, true
		}
	}
	s.started = time.Now()
	err = unix.Connect(fd, sa)
	switch {
	case err == nil:
		return s, connectOutcome{rtt: time.Since(s.started)}, true
	case err != unix.EINPROGRESS && err != unix.EINTR:
		unix.Close(fd)
		return nil, connectOutcome{err: os.NewSyscallError("connect", err), rtt: time.Since(s.started)}, true
	}
	if outcome, done := s.check(); done {
		if outcome.err != nil {
			unix.Close(fd)
			return nil, outcome, true
		}
		return s, outcome, true
	}
	// Register with the poller now, before any goroutine waits, so that
	// abort always has something to interrupt.
	s.file = os.NewFile(uintptr(fd), "probe")
	if s.rc, err = s.file.SyscallConn(); err != nil {
		s.file.Close()
		return nil, connectOutcome{err: err}, true
	}
	return s, connectOutcome{}, false
}

// check reads the socket's state without blocking.
func (s *socket) check() (connectOutcome, bool) {
	return checkFD(s.fd, s.started)
}

func checkFD(fd int, started time.Time) (connectOutcome, bool) {
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	rtt := time.Since(started)
	switch {
	case err != nil:
		return connectOutcome{err: os.NewSyscallError("getsockopt", err), rtt: rtt}, true
	case soerr != 0:
		return connectOutcome{err: os.NewSyscallError("connect", syscall.Errno(soerr)), rtt: rtt}, true
	}
	if _, err := unix.Getpeername(fd); err == nil {
		return connectOutcome{rtt: rtt}, true
	}
	return connectOutcome{}, false // still connecting
}

// wait blocks until the attempt is decided or abort is called (then it
// returns errAborted). Only for sockets startConnect left undecided.
func (s *socket) wait() connectOutcome {
	var outcome connectOutcome
	err := s.rc.Write(func(fd uintptr) bool {
		var done bool
		outcome, done = checkFD(int(fd), s.started)
		return done
	})
	if err != nil {
		return connectOutcome{err: errAborted}
	}
	return outcome
}

// abort makes a pending wait return errAborted.
func (s *socket) abort() {
	if s.file != nil {
		s.file.SetWriteDeadline(time.Unix(1, 0))
	}
}

// localAddr is the connection's local ip:port.
func (s *socket) localAddr() string {
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		return ""
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)).String()
	case *unix.SockaddrInet6:
		addr := netip.AddrFrom16(sa.Addr)
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				addr = addr.WithZone(ifi.Name)
			}
		}
		return netip.AddrPortFrom(addr.Unmap(), uint16(sa.Port)).String()
	}
	return ""
}

// close closes the socket (a FIN for an open connection).
func (s *socket) close() {
	if s.file != nil {
		s.file.Close()
		return
	}
	unix.Close(s.fd)
}

func sockaddr(ap netip.AddrPort) (unix.Sockaddr, int, error) {
	addr := ap.Addr()
	if addr.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: addr.As4()}, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: addr.As16()}
	if zone := addr.Zone(); zone != "" {
		if index, err := strconv.Atoi(zone); err == nil {
			sa.ZoneId = uint32(index)
		} else if ifi, err := net.InterfaceByName(zone); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else {
			return nil, 0, &net.AddrError{Err: "unknown zone (no such interface)", Addr: addr.String()}
		}
	}
	return sa, unix.AF_INET6, nil
}
