package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// Listeners are TCP listeners standing in for the demo's healthy backends,
// so the demo's probes are live: a probe of one of them completes a real
// handshake; a probe of a demo address with no listener is really refused.
type Listeners struct {
	lns []net.Listener
	wg  sync.WaitGroup
}

// Listen opens a listener on every ip:port address (loopback addresses in
// the demo) and accepts and closes connections until Close. If any address
// cannot be bound (127.0.0.0/8 beyond 127.0.0.1 is not routed on every OS),
// it closes what it opened and returns every failure.
func Listen(addrs []string) (*Listeners, error) {
	l := &Listeners{}
	var errs []error
	lc := net.ListenConfig{Control: reusePort}
	for _, a := range addrs {
		ln, err := lc.Listen(context.Background(), "tcp", a)
		if err != nil {
			errs = append(errs, fmt.Errorf("listen on %s: %w", a, err))
			continue
		}
		l.lns = append(l.lns, ln)
	}
	if len(errs) > 0 {
		l.Close()
		return nil, errors.Join(errs...)
	}
	for _, ln := range l.lns {
		l.wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		})
	}
	return l, nil
}

// Close stops every listener and waits for their accept loops.
func (l *Listeners) Close() {
	for _, ln := range l.lns {
		ln.Close()
	}
	l.wg.Wait()
}
