// Package probe is gwdoctor's live TCP prober: it connects to many host:port
// targets concurrently and classifies each from the real socket outcome as
// open, refused, filtered, unreachable or error (DESIGN.md, "Probe
// semantics").
//
// Timeouts adapt per host, as in nmap: the handshakes a host answers (open or
// refused) teach its round-trip time, and its silent ports are then given up
// on after a small multiple of it instead of the full configured timeout.
// A slow answer is never lost to that speed: a silent port is sent up to
// 1+Retries SYNs (fresh connection attempts), one every half timeout, and
// every attempt stays open until the port is decided, so an answer to any
// SYN counts; the port is filtered only when the last SYN, too, has gone
// unanswered for a full timeout. A SYN lost on the way (which the kernel
// repairs only with its own retransmission after 1 s) is repaired by the
// next attempt within half an adaptive timeout. With the defaults a silent
// port costs 1.5 timeouts: 150 ms on a host that answers other ports in
// under 50 ms, 1.5 s on a host that has never answered.
package probe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// State is a probe's outcome.
type State string

// The states; their values are the snapshot's probe states.
const (
	StateOpen        State = snapshot.ProbeOpen        // handshake completed
	StateRefused     State = snapshot.ProbeRefused     // RST: host reached, nothing listening
	StateFiltered    State = snapshot.ProbeFiltered    // no answer to any attempt before its timeout
	StateUnreachable State = snapshot.ProbeUnreachable // ICMP host/net unreachable, or no route
	StateError       State = snapshot.ProbeError       // anything else; Result.Err says what
)

// Phases a result can end in.
const (
	PhaseResolve = "resolve"
	PhaseConnect = "connect"
)

// Defaults for zero Options fields.
const (
	DefaultTimeout = time.Second
	// MaxTimeout bounds Options.Timeout as the commands accept it: Linux
	// gives up a connect after about two minutes of SYN retransmissions,
	// so waiting longer per attempt measures nothing more.
	MaxTimeout         = time.Minute
	DefaultMinTimeout  = 100 * time.Millisecond
	DefaultConcurrency = 512
	DefaultRetries     = 1
)

// resolveTimeout bounds each host name lookup.
const resolveTimeout = 5 * time.Second

// lookupNetIP resolves host names; tests replace it so that they never ask a
// real DNS server.
var lookupNetIP = net.DefaultResolver.LookupNetIP

// Options tune Run. The zero value is ready to use.
type Options struct {
	// Timeout is the longest one attempt waits for an answer (default 1s),
	// and what a host that has not answered anything yet is given.
	Timeout time.Duration
	// MinTimeout is the floor of the adaptive timeout (default 100ms, as
	// nmap -T4): well above scheduling jitter on a loaded machine and
	// cross-zone round trips, while a silent port on a LAN still costs only
	// 150ms with the default retry.
	MinTimeout time.Duration
	// Concurrency bounds the targets in flight (default 512). Each holds up
	// to 1+Retries sockets.
	Concurrency int
	// Retries is how many more SYNs (fresh connection attempts) a silent port
	// is sent, half a timeout apart, before it is called filtered: 0 means
	// the default (1), a negative value none. Without a retry, one lost SYN
	// makes an open port look filtered.
	Retries int
	// Source, when valid, is the local address connections are made from.
	Source netip.Addr
	// OnResult, when set, is called with each result as it is decided (for
	// progress displays); calls are serialised.
	OnResult func(Result)
}

// Result is the outcome of probing one target.
type Result struct {
	Target Target
	// Address is the resolved ip:port connected to (empty if resolution failed).
	Address string
	// Source is the local ip:port of the connection; when none was made,
	// the local IP the kernel routes from (no port).
	Source string
	State  State
	// RTT is the handshake time of the attempt that was answered (SYN to
	// SYN-ACK or RST); zero when nothing answered.
	RTT time.Duration
	// Attempts is how many connection attempts (SYNs) were started.
	Attempts int
	// Phase is where the probe ended: "resolve" or "connect".
	Phase string
	// Err explains every state but open: the socket error, how long a
	// filtered port was waited for, or "canceled".
	Err string
}

// Record converts the result into the snapshot's recorded form; from names
// the vantage point (gateway, operator, …), at is when it was probed.
func (r Result) Record(from string, at time.Time) snapshot.Probe {
	p := snapshot.Probe{
		Target:   r.Target.String(),
		State:    string(r.State),
		From:     from,
		Address:  r.Address,
		Source:   r.Source,
		Attempts: r.Attempts,
		Error:    r.Err,
	}
	if r.RTT > 0 {
		// Microsecond precision is all a handshake time carries.
		p.RTTMs = float64(r.RTT.Microseconds()) / 1000
	}
	if !at.IsZero() {
		p.At = at.UTC().Format(time.RFC3339)
	}
	return p
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MinTimeout <= 0 {
		o.MinTimeout = DefaultMinTimeout
	}
	o.MinTimeout = min(o.MinTimeout, o.Timeout)
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	return o
}

// Run probes every target and returns the results in the order of targets.
// At most opts.Concurrency targets are in flight; each distinct host name is
// resolved once. When ctx is canceled, targets not yet decided end as
// StateError with Err "canceled" (never filtered).
func Run(ctx context.Context, targets []Target, opts Options) []Result {
	opts = opts.withDefaults()
	r := &runner{
		opts:    opts,
		results: make([]Result, len(targets)),
		sources: map[netip.Addr]string{},
	}
	for i, t := range targets {
		r.results[i] = Result{Target: t}
	}
	addrs := r.resolve(ctx, targets)
	timers := map[netip.Addr]*hostTimer{}
	for _, a := range addrs {
		if a.addr.IsValid() && timers[a.addr] == nil {
			timers[a.addr] = newHostTimer(opts.MinTimeout, opts.Timeout)
		}
	}

	// A pool of workers takes targets in dispatch order; a worker probes one
	// target at a time, so at most Concurrency targets are in flight.
	order := dispatchOrder(targets, addrs)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(opts.Concurrency, len(order)) {
		wg.Go(func() {
			wait := time.NewTimer(time.Hour)
			defer wait.Stop()
			for {
				n := int(next.Add(1)) - 1
				if n >= len(order) {
					return
				}
				i := order[n]
				res := &r.results[i]
				switch {
				case res.State != "": // resolution failed
					r.report(*res)
				case ctx.Err() != nil:
					r.finish(res, StateError, phaseOf(res), "canceled")
				default:
					addr := addrs[targets[i].Host].addr
					r.probe(ctx, res, netip.AddrPortFrom(addr, uint16(targets[i].Port)), timers[addr], wait)
				}
			}
		})
	}
	wg.Wait()
	return r.results
}

func phaseOf(res *Result) string {
	if res.Address == "" {
		return PhaseResolve
	}
	return PhaseConnect
}

type runner struct {
	opts    Options
	results []Result

	mu      sync.Mutex
	sources map[netip.Addr]string

	reportMu sync.Mutex
}

type resolved struct {
	addr netip.Addr
	err  string
}

// resolve looks up every distinct host once, concurrently, and marks the
// targets of hosts that failed.
func (r *runner) resolve(ctx context.Context, targets []Target) map[string]resolved {
	addrs := map[string]resolved{}
	var names []string
	for _, t := range targets {
		if _, seen := addrs[t.Host]; seen {
			continue
		}
		if addr, err := netip.ParseAddr(t.Host); err == nil {
			addrs[t.Host] = resolved{addr: addr.Unmap()}
		} else {
			addrs[t.Host] = resolved{}
			names = append(names, t.Host)
		}
	}
	network := "ip"
	if r.opts.Source.IsValid() {
		network = map[bool]string{true: "ip4", false: "ip6"}[r.opts.Source.Unmap().Is4()]
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, min(r.opts.Concurrency, 32))
	for _, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			res := lookup(ctx, network, name)
			mu.Lock()
			addrs[name] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, t := range targets {
		res := addrs[t.Host]
		if t.Port < 1 || t.Port > 65535 {
			r.results[i].State = StateError
			r.results[i].Phase = PhaseConnect
			r.results[i].Err = fmt.Sprintf("port %d out of range 1-65535", t.Port)
			continue
		}
		if res.addr.IsValid() {
			r.results[i].Address = netip.AddrPortFrom(res.addr, uint16(t.Port)).String()
			if src := r.opts.Source; src.IsValid() && src.Unmap().Is4() != res.addr.Unmap().Is4() {
				r.results[i].State = StateError
				r.results[i].Phase = PhaseConnect
				r.results[i].Err = fmt.Sprintf("source %s and target %s are of different IP families", src, res.addr)
			}
			continue
		}
		r.results[i].State = StateError
		r.results[i].Phase = PhaseResolve
		r.results[i].Err = res.err
	}
	return addrs
}

func lookup(ctx context.Context, network, name string) resolved {
	if ctx.Err() != nil {
		return resolved{err: "canceled"}
	}
	lctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := lookupNetIP(lctx, network, name)
	switch {
	case ctx.Err() != nil:
		return resolved{err: "canceled"}
	case err != nil:
		return resolved{err: err.Error()}
	case len(ips) == 0:
		return resolved{err: "lookup " + name + ": no " + network + " address"}
	}
	// The resolver orders addresses by RFC 6724 preference; probe the first,
	// as a client connecting to the name would try first.
	return resolved{addr: ips[0].Unmap()}
}

// dispatchOrder interleaves hosts and shuffles each host's ports
// (deterministically), so that the ports that answer teach the host's RTT
// early instead of a run of filtered ports holding every slot for a full
// timeout, and no host gets a burst of consecutive ports.
func dispatchOrder(targets []Target, addrs map[string]resolved) []int {
	byHost := map[string][]int{}
	var hosts []string
	for i, t := range targets {
		key := t.Host
		if a := addrs[t.Host].addr; a.IsValid() {
			key = a.String()
		}
		if _, ok := byHost[key]; !ok {
			hosts = append(hosts, key)
		}
		byHost[key] = append(byHost[key], i)
	}
	rng := rand.New(rand.NewPCG(0x6777646f63746f72, uint64(len(targets))))
	queues := make([][]int, len(hosts))
	for h, key := range hosts {
		q := byHost[key]
		rng.Shuffle(len(q), func(a, b int) { q[a], q[b] = q[b], q[a] })
		queues[h] = q
	}
	order := make([]int, 0, len(targets))
	for len(order) < len(targets) {
		for h := range queues {
			if len(queues[h]) > 0 {
				order = append(order, queues[h][0])
				queues[h] = queues[h][1:]
			}
		}
	}
	return order
}

// routeSource returns the local IP the kernel would send to addr from, for
// results without a connection. Connecting a UDP socket sends nothing.
func (r *runner) routeSource(addr netip.Addr) string {
	if r.opts.Source.IsValid() {
		return r.opts.Source.String()
	}
	r.mu.Lock()
	src, ok := r.sources[addr]
	r.mu.Unlock()
	if ok {
		return src
	}
	if conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 9))); err == nil {
		src = conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap().String()
		conn.Close()
	}
	r.mu.Lock()
	r.sources[addr] = src
	r.mu.Unlock()
	return src
}

// errAborted ends the wait of an attempt that is no longer needed.
var errAborted = errors.New("attempt aborted")

type answer struct {
	sock *socket
	out  connectOutcome
}

// probe decides one target. Attempt n+1 starts when attempt n has been
// silent for half the host's current timeout; every attempt keeps waiting
// until the port is decided, so the first answer to any of them decides, and
// the port is filtered when the last attempt has been silent a full timeout.
func (r *runner) probe(ctx context.Context, res *Result, ap netip.AddrPort, timer *hostTimer, wait *time.Timer) {
	maxAttempts := 1 + r.opts.Retries
	firstSYN := time.Now()
	res.Attempts = 1
	sock, out, done := startConnect(ap, r.opts.Source)
	if done {
		r.decide(res, ap, timer, sock, out, true)
		return
	}

	// Not decided at once: wait for this and later attempts concurrently.
	answers := make(chan answer, maxAttempts)
	var waiting []*socket
	launch := func(s *socket) {
		waiting = append(waiting, s)
		go func() { answers <- answer{s, s.wait()} }()
	}
	pending := func() int { return len(waiting) }
	// Undecided attempts are aborted and closed before the worker moves
	// on, so no socket outlives its target's verdict.
	defer func() {
		for _, s := range waiting {
			s.abort()
		}
		for range waiting {
			a := <-answers
			a.sock.close()
		}
	}()
	forget := func(s *socket) {
		for i, w := range waiting {
			if w == s {
				waiting = append(waiting[:i], waiting[i+1:]...)
				return
			}
		}
	}
	launch(sock)
	attemptStart := firstSYN
	for {
		timeout, changed := timer.current()
		if res.Attempts < maxAttempts {
			// The next SYN goes out halfway through this one's wait: each
			// SYN is still waited for a full timeout, and a lost one is
			// replaced without first waiting all of it out.
			timeout /= 2
		}
		wait.Reset(time.Until(attemptStart.Add(timeout)))
		select {
		case a := <-answers:
			forget(a.sock)
			// Only this prober aborts attempts, so every other outcome is a
			// real answer, and it is kept even if ctx ends meanwhile.
			if errors.Is(a.out.err, errAborted) && ctx.Err() != nil {
				a.sock.close()
				r.finish(res, StateError, PhaseConnect, "canceled")
				return
			}
			if a.out.err != nil {
				a.sock.close()
				if state, _ := classify(a.out.err); state == StateFiltered && (pending() > 0 || res.Attempts < maxAttempts) {
					continue // the kernel gave up on this SYN; others wait or are to come
				}
				r.decide(res, ap, timer, nil, a.out, false)
				return
			}
			r.decide(res, ap, timer, a.sock, a.out, true)
			return
		case <-wait.C:
			// The kernel is the truth: an answer may have arrived that a
			// waiter on a loaded machine has not been scheduled to see.
			for _, w := range waiting {
				if out, done := w.check(); done {
					r.decide(res, ap, timer, w, out, false) // the deferred drain closes w
					return
				}
			}
			if res.Attempts >= maxAttempts {
				res.Source = r.routeSource(ap.Addr())
				r.finish(res, StateFiltered, PhaseConnect, silentReason(res.Attempts, time.Since(firstSYN), timer))
				return
			}
			attemptStart = time.Now()
			res.Attempts++
			sock, out, done := startConnect(ap, r.opts.Source)
			if done {
				r.decide(res, ap, timer, sock, out, true)
				return
			}
			launch(sock)
		case <-changed:
		case <-ctx.Done():
			r.finish(res, StateError, PhaseConnect, "canceled")
			return
		}
	}
}

// decide records an attempt's outcome. When it connected, sock is the
// connection, closed here if closeSock.
func (r *runner) decide(res *Result, ap netip.AddrPort, timer *hostTimer, sock *socket, out connectOutcome, closeSock bool) {
	if out.err == nil && sock.isSelfConnect(ap) {
		if closeSock {
			sock.close()
		}
		out.err = errSelfConnect
	}
	if out.err == nil {
		timer.observe(out.rtt)
		res.RTT = out.rtt
		res.Source = sock.localAddr()
		if closeSock {
			sock.close()
		}
		r.finish(res, StateOpen, PhaseConnect, "")
		return
	}
	state, msg := classify(out.err)
	if state == StateRefused {
		timer.observe(out.rtt)
		res.RTT = out.rtt
	}
	res.Source = r.routeSource(ap.Addr())
	r.finish(res, state, PhaseConnect, msg)
}

func silentReason(attempts int, waited time.Duration, timer *hostTimer) string {
	syns := "SYN"
	if attempts > 1 {
		syns = fmt.Sprintf("%d SYNs", attempts)
	}
	msg := fmt.Sprintf("no answer to %s in %s", syns, RoundDuration(waited))
	if n, srtt := timer.known(); n > 0 {
		msg += fmt.Sprintf(" (the host answers other ports in %s)", RoundDuration(srtt))
	}
	return msg
}

// RoundDuration keeps three significant digits (1.23ms, 45.6s, 2m3s),
// enough for a human reading how long a probe or a run took.
func RoundDuration(d time.Duration) time.Duration {
	for unit := time.Duration(1); unit < time.Second; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit)
		}
	}
	return d.Round(time.Millisecond)
}

func (r *runner) finish(res *Result, state State, phase, msg string) {
	res.State, res.Phase, res.Err = state, phase, msg
	r.report(*res)
}

func (r *runner) report(res Result) {
	if r.opts.OnResult == nil {
		return
	}
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	r.opts.OnResult(res)
}

// classify maps a failed connect to a state and a short reason.
func classify(err error) (State, string) {
	msg := err.Error()
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		msg = op.Op + ": " + op.Err.Error()
		var sys *os.SyscallError
		if errors.As(op.Err, &sys) {
			msg = sys.Syscall + ": " + sys.Err.Error()
		}
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return StateRefused, msg
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return StateUnreachable, msg
	case errors.Is(err, syscall.ETIMEDOUT):
		return StateFiltered, msg
	}
	return StateError, msg
}

// Summary counts results by state.
func Summary(results []Result) map[State]int {
	counts := map[State]int{}
	for _, res := range results {
		counts[res.State]++
	}
	return counts
}

// States lists the states in report order.
func States() []State {
	return []State{StateOpen, StateRefused, StateFiltered, StateUnreachable, StateError}
}
