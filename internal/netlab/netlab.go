//go:build linux

// Package netlab builds throwaway Linux network labs for tests and
// benchmarks: two network namespaces joined by a veth pair, nftables rules
// inside them, helper processes running inside a namespace, and a userspace
// delay line that adds real latency between the namespaces over TUN devices
// (for kernels without netem).
//
// Everything it creates is named "gwdp-<pid>-<n>-…" and removed by Close;
// labs left behind by a killed process are swept on the next NewPair.
//
// Code that must run inside a namespace runs in a helper process: the
// current executable re-executed under "ip netns exec". setns(2) moves only
// the calling thread, and Go schedules goroutines (and the sockets they
// open) on any thread, so a concurrent program such as the prober cannot be
// confined to a namespace from within; a whole process can.
package netlab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Addresses of the veth link between the namespaces. They exist only inside
// the lab's namespaces.
var (
	ClientIP  = netip.MustParseAddr("10.200.0.1")
	ServerIP  = netip.MustParseAddr("10.200.0.2")
	ClientIP6 = netip.MustParseAddr("fd00:200::1")
	ServerIP6 = netip.MustParseAddr("fd00:200::2")
)

const (
	vethPrefix  = 24
	vethPrefix6 = 64
)

// Pair is a client and a server namespace joined by a veth pair.
type Pair struct {
	Client, Server string // namespace names

	mu      sync.Mutex
	helpers []*Process
	lines   []*DelayLine
	closed  bool
}

var labCount atomic.Int64

// NewPair creates the two namespaces and the veth link between them, with
// loopback up in both. Close removes them.
func NewPair() (*Pair, error) {
	sweepStale()
	n := labCount.Add(1)
	base := fmt.Sprintf("gwdp-%d-%d", os.Getpid(), n)
	p := &Pair{Client: base + "-c", Server: base + "-s"}
	steps := [][]string{
		{"netns", "add", p.Client},
		{"netns", "add", p.Server},
		{"-n", p.Client, "link", "set", "lo", "up"},
		{"-n", p.Server, "link", "set", "lo", "up"},
		{"-n", p.Client, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", p.Server},
		{"-n", p.Client, "addr", "add", prefix(ClientIP), "dev", "veth0"},
		{"-n", p.Server, "addr", "add", prefix(ServerIP), "dev", "veth1"},
		// nodad: usable at once, without waiting for duplicate detection.
		{"-n", p.Client, "addr", "add", netip.PrefixFrom(ClientIP6, vethPrefix6).String(), "dev", "veth0", "nodad"},
		{"-n", p.Server, "addr", "add", netip.PrefixFrom(ServerIP6, vethPrefix6).String(), "dev", "veth1", "nodad"},
		{"-n", p.Client, "link", "set", "veth0", "up"},
		{"-n", p.Server, "link", "set", "veth1", "up"},
	}
	for _, step := range steps {
		if err := ip(step...); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

func prefix(a netip.Addr) string { return netip.PrefixFrom(a, vethPrefix).String() }

// AddServerAddress adds another address to the server's veth (another
// "host" on the same link).
func (p *Pair) AddServerAddress(a netip.Addr) error {
	return ip("-n", p.Server, "addr", "add", prefix(a), "dev", "veth1")
}

// Nft loads an nftables ruleset (nft -f syntax) into namespace ns.
func (p *Pair) Nft(ns, ruleset string) error {
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %v: %s\nruleset:\n%s", ns, err, bytes.TrimSpace(out), ruleset)
	}
	return nil
}

// Close stops the helpers and delay lines and deletes both namespaces (which
// deletes the veth and TUN devices in them). It reports every failure.
func (p *Pair) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	helpers, lines := p.helpers, p.lines
	p.mu.Unlock()
	var errs []error
	for _, h := range helpers {
		h.Stop()
	}
	for _, l := range lines {
		l.Close()
	}
	for _, ns := range []string{p.Client, p.Server} {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			if err := ip("netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Exec runs a program inside namespace ns and returns its standard output.
func Exec(ns string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s in %s: %w: %s", name, ns, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// sweepStale deletes namespaces of labs whose process no longer exists
// (killed before it could clean up).
func sweepStale() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "gwdp-")
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			ip("netns", "del", e.Name())
		}
	}
}

// Helpers: functions of the current executable run in a namespace.

const (
	helperEnv     = "GWDOCTOR_NETLAB_HELPER"
	helperArgsEnv = "GWDOCTOR_NETLAB_ARGS"
)

// HelperFunc runs inside a namespace. A long-running helper calls ready once
// it serves, then WaitForParent; its standard output goes to the parent.
type HelperFunc func(args []string, ready func()) error

var helpers = map[string]HelperFunc{"listen": listenHelper}

// RegisterHelper makes fn runnable in a namespace under name. Call it before
// MainHelper, e.g. from an init function or TestMain.
func RegisterHelper(name string, fn HelperFunc) { helpers[name] = fn }

// MainHelper runs the requested helper and exits when this process was
// started as one; otherwise it returns at once. Call it first in TestMain or
// main.
func MainHelper() {
	name := os.Getenv(helperEnv)
	if name == "" {
		return
	}
	fn, ok := helpers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "netlab: unknown helper %q\n", name)
		os.Exit(2)
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv(helperArgsEnv)), &args); err != nil {
		fmt.Fprintf(os.Stderr, "netlab: helper arguments: %v\n", err)
		os.Exit(2)
	}
	if err := fn(args, func() { fmt.Println("ready") }); err != nil {
		fmt.Fprintf(os.Stderr, "netlab helper %s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// WaitForParent blocks until the parent closes the helper's standard input
// (Stop, or the parent died), so a helper never outlives its lab.
func WaitForParent() { io.Copy(io.Discard, os.Stdin) }

func helperCommand(ns, name string, args []string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	encoded, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", "netns", "exec", ns, self)
	cmd.Env = append(os.Environ(), helperEnv+"="+name, helperArgsEnv+"="+string(encoded))
	return cmd, nil
}

// RunHelper runs helper name to completion inside ns and returns its output.
func (p *Pair) RunHelper(ns, name string, args ...string) ([]byte, error) {
	cmd, err := helperCommand(ns, name, args)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helper %s in %s: %v: %s", name, ns, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// Process is a running helper.
type Process struct {
	cmd   *exec.Cmd
	stdin io.Closer
	once  sync.Once
}

// StartHelper starts helper name inside ns and waits until it is ready. The
// pair stops it on Close.
func (p *Pair) StartHelper(ns, name string, args ...string) (*Process, error) {
	cmd, err := helperCommand(ns, name, args)
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	proc := &Process{cmd: cmd, stdin: stdin}
	ready := make(chan error, 1)
	go func() {
		line := make([]byte, len("ready\n"))
		_, err := io.ReadFull(stdout, line)
		if err == nil && string(line) != "ready\n" {
			err = fmt.Errorf("unexpected output %q", line)
		}
		ready <- err
		io.Copy(io.Discard, stdout)
	}()
	select {
	case err = <-ready:
	case <-time.After(30 * time.Second):
		err = errors.New("not ready after 30s")
	}
	if err != nil {
		proc.Stop()
		return nil, fmt.Errorf("helper %s in %s: %v: %s", name, ns, err, bytes.TrimSpace(stderr.Bytes()))
	}
	p.mu.Lock()
	p.helpers = append(p.helpers, proc)
	p.mu.Unlock()
	return proc, nil
}

// Stop ends the helper and waits for it.
func (h *Process) Stop() {
	h.once.Do(func() {
		h.stdin.Close()
		h.cmd.Process.Kill()
		h.cmd.Wait()
	})
}
