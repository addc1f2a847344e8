//go:build unix

package demo

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort lets several demos (a terminal UI and a CLI run, or parallel
// tests) serve the same fixed demo addresses at once instead of failing with
// "address already in use".
func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}
