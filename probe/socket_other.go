//go:build !linux

package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// socket is one connection attempt, through net.Dialer where raw sockets
// are not available (see socket_linux.go).
type socket struct {
	conn    net.Conn
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan connectOutcome
	started time.Time
}

type connectOutcome struct {
	err error
	rtt time.Duration
}

func startConnect(ap netip.AddrPort, source netip.Addr) (*socket, connectOutcome, bool) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &socket{ctx: ctx, cancel: cancel, done: make(chan connectOutcome, 1), started: time.Now()}
	d := net.Dialer{KeepAlive: -1}
	if source.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(source, 0))
	}
	go func() {
		conn, err := d.DialContext(ctx, "tcp", ap.String())
		s.conn = conn
		s.done <- connectOutcome{err: err, rtt: time.Since(s.started)}
	}()
	return s, connectOutcome{}, false
}

func (s *socket) wait() connectOutcome {
	out := <-s.done
	if out.err != nil && s.ctx.Err() != nil {
		out.err = errAborted
	}
	return out
}

// check cannot look at the socket without waiting here.
func (s *socket) check() (connectOutcome, bool) { return connectOutcome{}, false }

// isSelfConnect is false: net.Dialer already retries self-connects.
func (s *socket) isSelfConnect(netip.AddrPort) bool { return false }

var errSelfConnect = errors.New("connect: the connection connected to itself")

func (s *socket) abort() { s.cancel() }

func (s *socket) localAddr() string {
	if s.conn == nil {
		return ""
	}
	return s.conn.LocalAddr().String()
}

func (s *socket) close() {
	if s.conn != nil {
		s.conn.Close()
	}
	s.cancel()
}
