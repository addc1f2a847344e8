package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
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
}

type probeResponse struct {
	Results []ProbeResult `json:"results"`
	Error   string        `json:"error,omitempty"`
}

// ProbeResult is one live TCP probe from the gateway namespace.
type ProbeResult struct {
	Target string `json:"target"`
	// State is open, refused, filtered, unreachable or error (DESIGN.md).
	State string        `json:"state"`
	RTT   time.Duration `json:"rtt"`
	Error string        `json:"error,omitempty"`
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
			resp.Results = probeTargets(context.Background(), req.Targets, req.Timeout)
		}
		if err := enc.Encode(resp); err != nil {
			return err
		}
	}
	return sc.Err()
}

// probeTargets dials every target at once; the lab's network is a few veth
// pairs, so concurrency needs no bound beyond the target count.
func probeTargets(ctx context.Context, targets []string, timeout time.Duration) []ProbeResult {
	results := make([]ProbeResult, len(targets))
	var wg sync.WaitGroup
	for i, target := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = dialOnce(ctx, target, timeout)
		}()
	}
	wg.Wait()
	return results
}

// dialOnce classifies one TCP connection attempt as DESIGN.md's probe
// semantics say.
func dialOnce(ctx context.Context, target string, timeout time.Duration) ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp4", target)
	r := ProbeResult{Target: target, RTT: time.Since(start)}
	switch {
	case err == nil:
		c.Close()
		r.State = "open"
	case errors.Is(err, syscall.ECONNREFUSED):
		r.State = "refused"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		r.State = "filtered"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		r.State = "unreachable"
	default:
		r.State, r.Error = "error", err.Error()
	}
	return r
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
