//go:build linux

package netlab

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Listen starts, inside ns, a helper that accepts (and at once closes)
// connections on every port given as "ip:port" or "ip:from-to" (IPv6 in
// brackets: "[fd00:200::2]:80").
func (p *Pair) Listen(ns string, specs ...string) (*Process, error) {
	return p.StartHelper(ns, "listen", specs...)
}

func listenHelper(specs []string, ready func()) error {
	var listeners []net.Listener
	for _, spec := range specs {
		i := strings.LastIndexByte(spec, ':')
		host, ports, ok := strings.Trim(spec[:max(i, 0)], "[]"), spec[i+1:], i > 0
		if !ok {
			return fmt.Errorf("listen spec %q: want ip:port or ip:from-to", spec)
		}
		from, to, err := portRange(ports)
		if err != nil {
			return fmt.Errorf("listen spec %q: %v", spec, err)
		}
		for port := from; port <= to; port++ {
			// tcp4/tcp6, so 0.0.0.0 and [::] are separate (no dual stack).
			network := "tcp4"
			if strings.Contains(host, ":") {
				network = "tcp6"
			}
			ln, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return err
			}
			listeners = append(listeners, ln)
		}
	}
	for _, ln := range listeners {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	ready()
	WaitForParent()
	return nil
}

func portRange(s string) (from, to int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if from, err = strconv.Atoi(a); err != nil {
		return 0, 0, err
	}
	to = from
	if isRange {
		if to, err = strconv.Atoi(b); err != nil {
			return 0, 0, err
		}
	}
	if from < 1 || to > 65535 || to < from {
		return 0, 0, fmt.Errorf("bad port range %q", s)
	}
	return from, to, nil
}
