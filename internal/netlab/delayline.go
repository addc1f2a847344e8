//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Addresses of the delayed link, on TUN devices inside the lab's namespaces.
var (
	DelayedClientIP = netip.MustParseAddr("10.201.0.1")
	DelayedServerIP = netip.MustParseAddr("10.201.0.2")
)

// DelayLine carries IP packets between a TUN device in the client namespace
// and one in the server namespace, holding each packet for a fixed delay in
// each direction: real latency on a kernel without netem. Traffic between
// DelayedClientIP and DelayedServerIP takes it; the veth stays undelayed.
type DelayLine struct {
	client, server *os.File
	wg             sync.WaitGroup
}

// AddDelayLine creates the delayed link with delay added in each direction
// (a round trip takes 2·delay). The pair closes it on Close.
func (p *Pair) AddDelayLine(delay time.Duration) (*DelayLine, error) {
	p.mu.Lock()
	n := len(p.lines)
	p.mu.Unlock()
	if n > 0 {
		return nil, errors.New("netlab: the pair already has a delay line")
	}
	client, err := openTUN(p.Client, "gwtun0")
	if err != nil {
		return nil, err
	}
	server, err := openTUN(p.Server, "gwtun0")
	if err != nil {
		client.Close()
		return nil, err
	}
	line := &DelayLine{client: client, server: server}
	p.mu.Lock()
	p.lines = append(p.lines, line)
	p.mu.Unlock()
	for _, step := range [][]string{
		{"-n", p.Client, "addr", "add", prefix(DelayedClientIP), "dev", "gwtun0"},
		{"-n", p.Server, "addr", "add", prefix(DelayedServerIP), "dev", "gwtun0"},
		{"-n", p.Client, "link", "set", "gwtun0", "up"},
		{"-n", p.Server, "link", "set", "gwtun0", "up"},
	} {
		if err := ip(step...); err != nil {
			return nil, err
		}
	}
	line.wg.Add(2)
	go line.forward(client, server, delay)
	go line.forward(server, client, delay)
	return line, nil
}

// Close stops the forwarding; the TUN devices vanish with their descriptors.
func (l *DelayLine) Close() {
	l.client.Close()
	l.server.Close()
	l.wg.Wait()
}

func (l *DelayLine) forward(from, to *os.File, delay time.Duration) {
	defer l.wg.Done()
	type packet struct {
		data []byte
		due  time.Time
	}
	// The delay is constant, so a FIFO keeps packets in order.
	queue := make(chan packet, 16384)
	go func() {
		defer close(queue)
		buf := make([]byte, 65536)
		for {
			n, err := from.Read(buf)
			if err != nil {
				return
			}
			queue <- packet{data: append([]byte(nil), buf[:n]...), due: time.Now().Add(delay)}
		}
	}()
	for pkt := range queue {
		time.Sleep(time.Until(pkt.due))
		to.Write(pkt.data) // a write after Close fails harmlessly
	}
}

// openTUN creates TUN device name inside namespace ns and returns its
// descriptor, usable from any thread. The device is created on a thread
// that alone enters ns and then returns to its own namespace.
func openTUN(ns, name string) (*os.File, error) {
	type result struct {
		file *os.File
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		file, restored, err := openTUNOnThread(ns, name)
		if restored {
			runtime.UnlockOSThread()
		} // else: the thread is left in ns and exits with this goroutine
		done <- result{file, err}
	}()
	r := <-done
	return r.file, r.err
}

func openTUNOnThread(ns, name string) (file *os.File, restored bool, err error) {
	home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("open own netns: %w", err)
	}
	defer unix.Close(home)
	target, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("open netns %s: %w", ns, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("enter netns %s: %w", ns, err)
	}
	fd, tunErr := createTUN(name)
	if err := unix.Setns(home, unix.CLONE_NEWNET); err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, false, fmt.Errorf("return from netns %s: %w", ns, err)
	}
	if tunErr != nil {
		return nil, true, fmt.Errorf("create TUN %s in %s: %w", name, ns, tunErr)
	}
	return os.NewFile(uintptr(fd), "tun:"+ns+"/"+name), true, nil
}

func createTUN(name string) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, err
	}
	// Non-blocking, so os.File reads go through the runtime poller and
	// Close interrupts them.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
