package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gwdoctor/gwdoctor/probe"
)

// Lab helpers are this program re-executed inside a namespace (under
// `ip netns exec`): a separate process is the one robust way to hold
// listeners in a namespace after `gwdoctor lab up` returns, and it keeps
// the caller's threads out of setns. The role and its arguments travel in
// the environment, so the helper needs no command-line parsing of its own.

// HelperEnv, when set in a process's environment, makes it a lab helper
// (see init).
const HelperEnv = "GWDOCTOR_LAB_HELPER"

const (
	roleListen  = "listen"
	roleProbe   = "probe"
	listenEnv   = "GWDOCTOR_LAB_LISTEN"
	readyLine   = "ready"
	helperGrace = 5 * time.Second
)

// A program that imports this package becomes a lab helper when HelperEnv
// is set (the docker "reexec" pattern): the helper runs before main or
// TestMain and exits, so neither gwdoctor nor a test binary needs a hook.
func init() {
	if IsHelper() {
		os.Exit(ServeHelper())
	}
}

// IsHelper reports whether this process was started as a lab helper.
func IsHelper() bool { return os.Getenv(HelperEnv) != "" }

// ServeHelper runs the helper role named in the environment until it is
// told to stop, and returns the process exit code.
func ServeHelper() int {
	var err error
	switch role := os.Getenv(HelperEnv); role {
	case roleListen:
		err = serveListeners(strings.Split(os.Getenv(listenEnv), ","), os.Stdout)
	case roleProbe:
		err = serveProbes(os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown %s role %q", HelperEnv, role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gwdoctor lab helper: %v\n", err)
		return 1
	}
	return 0
}

// serveListeners accepts and closes TCP connections on every address until
// SIGTERM or SIGINT. It prints readyLine once all are bound.
func serveListeners(addrs []string, out io.Writer) error {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	var listeners []net.Listener
	for _, a := range addrs {
		if a == "" {
			continue
		}
		l, err := net.Listen("tcp4", a)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", a, err)
		}
		listeners = append(listeners, l)
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				c.Close()
			}
		}()
	}
	fmt.Fprintln(out, readyLine)
	<-stop
	for _, l := range listeners {
		l.Close()
	}
	return nil
}

// probeRequest and probeResponse are the probe helper's line protocol.
type probeRequest struct {
	Targets []string      `json:"targets"`
	Timeout time.Duration `json:"timeout"`
	// Retries as probe.Options.Retries: 0 the prober's default, -1 none.
	Retries int `json:"retries"`
	// Source is the gateway address to connect from ("" the kernel's choice).
	Source string `json:"source,omitempty"`
}

type probeResponse struct {
	Results []ProbeResult `json:"results"`
	Error   string        `json:"error,omitempty"`
}

// ProbeResult is one live TCP probe from the gateway namespace.
type ProbeResult struct {
	Target string `json:"target"`
	// State is open, refused, filtered, unreachable or error (DESIGN.md).
	State    string        `json:"state"`
	RTT      time.Duration `json:"rtt"`
	Attempts int           `json:"attempts"`
	Error    string        `json:"error,omitempty"`
}

// serveProbes answers one JSON request per line until its input closes.
func serveProbes(in io.Reader, out io.Writer) error {
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	enc := json.NewEncoder(out)
	fmt.Fprintln(out, readyLine)
	for sc.Scan() {
		var req probeRequest
		var resp probeResponse
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = err.Error()
		} else {
			resp.Results = probeTargets(context.Background(), req)
		}
		if err := enc.Encode(resp); err != nil {
			return err
		}
	}
	return sc.Err()
}

// probeTargets probes every target at once with gwdoctor's prober, so the
// lab also exercises the real classification (open, refused, filtered, …).
func probeTargets(ctx context.Context, req probeRequest) []ProbeResult {
	targets := make([]probe.Target, len(req.Targets))
	for i, t := range req.Targets {
		host, port, err := net.SplitHostPort(t)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			// Run reports the bad target as an error result.
			host, n = t, 0
		}
		targets[i] = probe.Target{Host: host, Port: n}
	}
	opts := probe.Options{Timeout: req.Timeout, Retries: req.Retries, Concurrency: len(targets) + 1}
	if a, err := netip.ParseAddr(req.Source); err == nil {
		opts.Source = a
	}
	results := make([]ProbeResult, len(targets))
	for i, r := range probe.Run(ctx, targets, opts) {
		results[i] = ProbeResult{Target: req.Targets[i], State: string(r.State), RTT: r.RTT, Attempts: r.Attempts, Error: r.Err}
	}
	return results
}
