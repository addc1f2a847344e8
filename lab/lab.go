// Package lab emulates a snapshot on one Linux machine with real packet
// filtering, so the evaluator's verdicts can be checked against a kernel and
// an engineer can rehearse a fix: a network namespace for the gateway
// (holding the gateway's addresses), one per node (holding its ENIs' IPs and
// the pod IPs routed to it), all on one bridge in a namespace of its own; the
// security groups compiled straight from the snapshot into nftables in each
// node namespace; a TCP listener on every ready endpoint.
//
// Nothing touches the host's own network namespace: every interface is
// created inside the lab's namespaces, whose names start with a per-lab
// prefix. Close (and Down, for a crashed run) removes all of it.
//
// It needs root, iproute2 and nftables.
package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Options configure Up.
type Options struct {
	// Prefix starts every namespace name of the lab ("gwlab-" gives
	// gwlab-gw, gwlab-br, gwlab-n0, …). Empty: a prefix unique to this
	// process and lab (see ProcessPrefix), so parallel labs never collide.
	Prefix string
	// Replace tears down namespaces already named with Prefix first;
	// without it Up refuses to touch them.
	Replace bool
	// HelperCommand is the argv that starts a lab helper (HelperEnv is
	// added to its environment). Empty: this executable, which imports this
	// package and so serves as a helper.
	HelperCommand []string
	// Detach leaves the helpers running after this process exits (gwdoctor
	// lab up); otherwise they are killed with it, even on SIGKILL.
	Detach bool
	// Prober starts a probe helper in the gateway namespace for Probe.
	Prober bool
	// TeardownOnSignal tears the lab down when the process gets SIGINT or
	// SIGTERM, then lets the signal kill the process as usual. For tests.
	TeardownOnSignal bool
	// HelperLog receives the helpers' standard error; nil discards it. A
	// detached lab's helpers write to it directly when it is an *os.File.
	HelperLog io.Writer
}

// Namespace roles under the prefix.
const (
	gatewayNS = "gw"
	bridgeNS  = "br"
	// gatewayPort is the gateway's port on the bridge, named in the egress filter.
	gatewayPort = "gw"
)

// Lab is a running emulation. Its methods are safe for concurrent use.
type Lab struct {
	prefix string
	opts   Options

	mu        sync.Mutex
	plan      *plan
	endpoints []Endpoint
	rulesets  map[string]string
	helpers   []*helper
	prober    *helper
	proberIn  io.WriteCloser
	proberOut *bufio.Reader
	closed    bool
}

type helper struct {
	namespace string
	cmd       *exec.Cmd
	done      chan struct{}
	stderr    *lockedBuffer
}

// Info is what a lab is, for state files and status output.
type Info struct {
	Prefix           string     `json:"prefix"`
	Namespaces       []string   `json:"namespaces"`
	GatewayNamespace string     `json:"gatewayNamespace"`
	GatewayAddresses []string   `json:"gatewayAddresses"`
	Nodes            []NodeInfo `json:"nodes"`
	Endpoints        []Endpoint `json:"endpoints"`
	// HelperPIDs are the helper processes (listeners, prober).
	HelperPIDs []int `json:"helperPids"`
	// Notes say where the lab differs from the snapshot's words.
	Notes []string `json:"notes,omitempty"`
}

// NodeInfo is one node namespace.
type NodeInfo struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace"`
	Addresses []string `json:"addresses"`
}

// ErrCannotEmulate marks a snapshot the lab cannot emulate honestly (IPv6,
// an address held twice, a gateway CIDR wider than /8, …); the error says
// which and where.
var ErrCannotEmulate = errors.New("the lab cannot emulate this snapshot")

var (
	labSeq    atomic.Int32
	prefixRE  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)
	liveMu    sync.Mutex
	liveLabs  = map[*Lab]struct{}{}
	sigOnce   sync.Once
	errClosed = errors.New("lab: closed")
)

// ProcessPrefix is what every automatic prefix of this process starts
// with: "gwl", the PID in hex, "p" (so no other PID's prefix starts with
// it): the labs of Labs that start with it are this process's.
func ProcessPrefix() string { return fmt.Sprintf("gwl%xp", os.Getpid()) }

// CheckPrefix says whether prefix can name a lab's namespaces: lowercase
// letters, digits and dashes, starting with a letter, at most 16 characters.
func CheckPrefix(prefix string) error {
	if !prefixRE.MatchString(prefix) {
		return fmt.Errorf("lab prefix %q: use 1-16 lowercase letters, digits or dashes, starting with a letter", prefix)
	}
	return nil
}

// Validate says whether the lab can emulate s honestly (IPv6, an address
// held twice, a gateway CIDR wider than /8, …: every problem at once),
// without needing root or any tool. The error wraps ErrCannotEmulate.
func Validate(s *snapshot.Snapshot) error {
	if _, err := makePlan(s); err != nil {
		return fmt.Errorf("lab: %w: %v", ErrCannotEmulate, err)
	}
	return nil
}

// Tools are the programs a lab runs, with the Debian package of each.
var Tools = map[string]string{"ip": "iproute2", "nft": "nftables"}

// CheckTools says which program a lab needs is not installed, and how to
// install it.
func CheckTools() error {
	for _, tool := range slices.Sorted(maps.Keys(Tools)) {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("lab: %s is not installed (apt-get install -y %s)", tool, Tools[tool])
		}
	}
	return nil
}

// Up builds the lab for s and starts its listeners. On any error everything
// it made is removed again.
func Up(ctx context.Context, s *snapshot.Snapshot, opts Options) (*Lab, error) {
	// The input first: a snapshot the lab cannot emulate is the user's
	// problem to fix whatever this machine has installed.
	p, err := makePlan(s)
	if err != nil {
		return nil, fmt.Errorf("lab: %w: %v", ErrCannotEmulate, err)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("lab: needs root (network namespaces and nftables)")
	}
	if err := CheckTools(); err != nil {
		return nil, err
	}
	if opts.Prefix == "" {
		// Two base-36 digits: 1,296 labs per process before a name repeats
		// (and Up refuses a name in use).
		const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
		n := int(labSeq.Add(1)-1) % (36 * 36)
		opts.Prefix = fmt.Sprintf("%s%c%c-", ProcessPrefix(), digits[n/36], digits[n%36])
	}
	if err := CheckPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	if len(opts.HelperCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("lab: cannot find this executable to start helpers: %w", err)
		}
		opts.HelperCommand = []string{exe}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("lab: interrupted before coming up (%w)", ctx.Err())
	}
	existing, err := namespacesWithPrefix(ctx, opts.Prefix)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		if !opts.Replace {
			return nil, fmt.Errorf("lab: namespaces %s already exist; take them down first (gwdoctor lab down --prefix %s)", strings.Join(existing, ", "), opts.Prefix)
		}
		if err := Down(ctx, opts.Prefix); err != nil {
			return nil, err
		}
	}

	l := &Lab{prefix: opts.Prefix, opts: opts, plan: p}
	liveMu.Lock()
	liveLabs[l] = struct{}{}
	liveMu.Unlock()
	if opts.TeardownOnSignal {
		sigOnce.Do(installSignalTeardown)
	}
	if err := l.build(ctx); err != nil {
		closeErr := l.Close()
		if ctx.Err() != nil {
			// Interrupted: the many "context canceled" say nothing more.
			err = fmt.Errorf("lab: interrupted while coming up (%w); everything it had made is removed", ctx.Err())
		}
		if closeErr != nil {
			err = multierror.Append(err, closeErr)
		}
		return nil, err
	}
	return l, nil
}

func (l *Lab) ns(role string) string { return l.prefix + role }

func (l *Lab) nodeNS(i int) string { return l.ns(fmt.Sprintf("n%d", i)) }

// hosts lists the namespaces joined to the bridge: (namespace, bridge port).
func (l *Lab) hosts() [][2]string {
	h := [][2]string{{l.ns(gatewayNS), gatewayPort}}
	for i := range l.plan.nodes {
		h = append(h, [2]string{l.nodeNS(i), fmt.Sprintf("n%d", i)})
	}
	return h
}

func (l *Lab) build(ctx context.Context) error {
	var add strings.Builder
	fmt.Fprintf(&add, "netns add %s\n", l.ns(bridgeNS))
	for _, h := range l.hosts() {
		fmt.Fprintf(&add, "netns add %s\n", h[0])
	}
	if err := run(ctx, add.String(), "ip", "-batch", "-"); err != nil {
		return err
	}
	var br strings.Builder
	br.WriteString("link set lo up\nlink add br0 type bridge\nlink set br0 up\n")
	for _, h := range l.hosts() {
		fmt.Fprintf(&br, "link add %s type veth peer name eth0 netns %s\nlink set %s master br0\nlink set %s up\n", h[1], h[0], h[1], h[1])
	}
	if err := run(ctx, br.String(), "ip", "-n", l.ns(bridgeNS), "-batch", "-"); err != nil {
		return err
	}
	hostAddrs := [][]netip.Addr{l.plan.gateway}
	for _, n := range l.plan.nodes {
		hostAddrs = append(hostAddrs, n.addrs)
	}
	for i, h := range l.hosts() {
		var b strings.Builder
		b.WriteString("link set lo up\nlink set eth0 up\n")
		for _, a := range hostAddrs[i] {
			fmt.Fprintf(&b, "address add %s/32 dev eth0\n", a)
		}
		// Every other address is on the bridge: reach it by ARP.
		b.WriteString("route add default dev eth0\n")
		if err := run(ctx, b.String(), "ip", "-n", h[0], "-batch", "-"); err != nil {
			return err
		}
	}
	if err := l.applyRules(ctx, l.plan); err != nil {
		return err
	}
	for i := range l.plan.nodes {
		var addrs []string
		for _, e := range l.plan.endpoints {
			if e.node == i && e.Listening {
				if t := e.Target(); !contains(addrs, t) {
					addrs = append(addrs, t)
				}
			}
		}
		if len(addrs) == 0 {
			continue
		}
		h, _, _, err := l.startHelper(ctx, l.nodeNS(i), roleListen, []string{listenEnv + "=" + strings.Join(addrs, ",")}, false)
		if err != nil {
			return err
		}
		l.helpers = append(l.helpers, h)
	}
	if l.opts.Prober {
		h, in, out, err := l.startHelper(ctx, l.ns(gatewayNS), roleProbe, nil, true)
		if err != nil {
			return err
		}
		l.helpers = append(l.helpers, h)
		l.prober, l.proberIn, l.proberOut = h, in, out
	}
	return nil
}

// applyRules compiles p's groups and loads them: every node's input filter
// and the gateway's egress filter, each in one atomic nft transaction.
func (l *Lab) applyRules(ctx context.Context, p *plan) error {
	c := newCompiler(p)
	endpoints := append([]Endpoint(nil), p.endpoints...)
	rulesets := map[string]string{}
	what := map[string]string{}
	for i := range p.nodes {
		ruleset, problems := c.nodeRuleset(i)
		rulesets[l.nodeNS(i)] = ruleset
		what[l.nodeNS(i)] = "the rules of node " + p.nodes[i].label
		for k := range endpoints {
			e := &endpoints[k]
			if e.node != i || e.NotComparable != "" {
				continue
			}
			for _, u := range problems[e.eni] {
				if u.affects(e.Port) {
					e.NotComparable = fmt.Sprintf("rule %s %s: the lab cannot model it", u.label, u.reason)
					break
				}
			}
		}
	}
	ruleset, problems := c.bridgeRuleset(gatewayPort)
	rulesets[l.ns(bridgeNS)] = ruleset
	what[l.ns(bridgeNS)] = "the gateway's egress rules"
	for k := range endpoints {
		e := &endpoints[k]
		for _, u := range problems {
			if e.NotComparable == "" && u.affects(e.Port) {
				e.NotComparable = fmt.Sprintf("gateway egress rule %s %s: the lab cannot model it", u.label, u.reason)
			}
		}
	}
	// Each namespace's ruleset loads atomically; the namespaces load side
	// by side (most of the time is starting ip and nft). On an error the
	// lab is half old, half new: the caller closes it.
	var mu sync.Mutex
	var errs *multierror.Error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for ns, ruleset := range rulesets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := run(ctx, ruleset, "ip", "netns", "exec", ns, "nft", "-f", "-"); err != nil {
				mu.Lock()
				errs = multierror.Append(errs, fmt.Errorf("loading %s: %w", what[ns], err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errs.ErrorOrNil(); err != nil {
		return err
	}
	l.mu.Lock()
	l.plan, l.endpoints, l.rulesets = p, endpoints, rulesets
	l.mu.Unlock()
	return nil
}

// Apply replaces the lab's security groups with those of s, which must
// place the same addresses and listeners as the lab's snapshot (only groups,
// rules and the ENIs' group lists may differ): a new ruleset loads in tens
// of milliseconds, a new topology takes a new lab. After an error loading
// the rules, the lab's filters are partly old: close it.
func (l *Lab) Apply(ctx context.Context, s *snapshot.Snapshot) error {
	p, err := makePlan(s)
	if err != nil {
		return fmt.Errorf("lab: %w: %v", ErrCannotEmulate, err)
	}
	l.mu.Lock()
	closed, old := l.closed, l.plan
	l.mu.Unlock()
	if closed {
		return errClosed
	}
	if a, b := topology(old), topology(p); a != b {
		return fmt.Errorf("lab: the snapshot places addresses or listeners differently (%s, lab has %s): bring up a new lab", b, a)
	}
	return l.applyRules(ctx, p)
}

// ApplyRunning loads the security groups of s into the running lab of
// prefix, which emulates base and may have been brought up by another
// process (gwdoctor lab up): s must place the same addresses and listeners
// as base. As with Apply, a failure leaves the lab's filters partly old.
func ApplyRunning(ctx context.Context, prefix string, base, s *snapshot.Snapshot) error {
	if err := CheckPrefix(prefix); err != nil {
		return err
	}
	old, err := makePlan(base)
	if err != nil {
		return fmt.Errorf("lab: %w: %v", ErrCannotEmulate, err)
	}
	p, err := makePlan(s)
	if err != nil {
		return fmt.Errorf("lab: %w: %v", ErrCannotEmulate, err)
	}
	if a, b := topology(old), topology(p); a != b {
		return fmt.Errorf("lab: the snapshot places addresses or listeners differently (%s, lab has %s): bring up a new lab", b, a)
	}
	names, err := namespacesWithPrefix(ctx, prefix)
	if err != nil {
		return err
	}
	l := &Lab{prefix: prefix, plan: old}
	want := []string{l.ns(bridgeNS)}
	for i := range p.nodes {
		want = append(want, l.nodeNS(i))
	}
	for _, ns := range want {
		if !contains(names, ns) {
			return fmt.Errorf("lab: namespace %s of lab %s is not up: bring the lab up first (gwdoctor lab up)", ns, prefix)
		}
	}
	return l.applyRules(ctx, p)
}

// topology summarises what Apply cannot change.
func topology(p *plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gateway %v", p.gateway)
	for i, n := range p.nodes {
		addrs := append([]netip.Addr(nil), n.addrs...)
		sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
		fmt.Fprintf(&b, "; node %d %v", i, addrs)
	}
	var listening []string
	for _, e := range p.endpoints {
		if e.Listening {
			listening = append(listening, fmt.Sprintf("%d/%s", e.node, e.Target()))
		}
	}
	sort.Strings(listening)
	fmt.Fprintf(&b, "; listening %v", listening)
	return b.String()
}

// Snapshot is the snapshot the lab emulates: the input with the gateway
// address the lab invented when the input had none.
func (l *Lab) Snapshot() *snapshot.Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.plan.snap
}

// Endpoints lists every endpoint, where the lab placed it and whether a
// probe of it is comparable with the configuration.
func (l *Lab) Endpoints() []Endpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Endpoint(nil), l.endpoints...)
}

// Rulesets returns the nftables rulesets the lab loaded, by namespace: each
// node's input filter and, in the bridge namespace, the gateway's egress.
func (l *Lab) Rulesets() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.rulesets))
	for k, v := range l.rulesets {
		out[k] = v
	}
	return out
}

// Prefix is the lab's namespace-name prefix.
func (l *Lab) Prefix() string { return l.prefix }

// GatewayNamespace names the gateway's namespace (for ip netns exec).
func (l *Lab) GatewayNamespace() string { return l.ns(gatewayNS) }

// Info describes the lab.
func (l *Lab) Info() Info {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := Info{Prefix: l.prefix, GatewayNamespace: l.ns(gatewayNS), Endpoints: append([]Endpoint(nil), l.endpoints...), Notes: l.plan.notes}
	info.Namespaces = []string{l.ns(bridgeNS), l.ns(gatewayNS)}
	for _, a := range l.plan.gateway {
		info.GatewayAddresses = append(info.GatewayAddresses, a.String())
	}
	for i, n := range l.plan.nodes {
		info.Namespaces = append(info.Namespaces, l.nodeNS(i))
		ni := NodeInfo{Name: n.label, Namespace: l.nodeNS(i)}
		for _, a := range n.addrs {
			ni.Addresses = append(ni.Addresses, a.String())
		}
		info.Nodes = append(info.Nodes, ni)
	}
	for _, h := range l.helpers {
		if h.cmd.Process != nil {
			info.HelperPIDs = append(info.HelperPIDs, h.cmd.Process.Pid)
		}
	}
	return info
}

// Probe probes every target ("ip:port") from the gateway namespace at once
// with gwdoctor's prober (package probe): timeout per attempt, retries as
// probe.Options.Retries (0 its default, -1 none). The lab must have been
// started with Options.Prober.
func (l *Lab) Probe(ctx context.Context, targets []string, timeout time.Duration, retries int) ([]ProbeResult, error) {
	return l.ProbeFrom(ctx, netip.Addr{}, targets, timeout, retries)
}

// ProbeFrom is Probe with the connections made from source, one of the
// gateway's addresses in the lab (Info().GatewayAddresses); an invalid
// source leaves the choice to the kernel. A multi-zone gateway sends from
// every zone's address, and rules may treat them differently.
func (l *Lab) ProbeFrom(ctx context.Context, source netip.Addr, targets []string, timeout time.Duration, retries int) ([]ProbeResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errClosed
	}
	if l.prober == nil {
		return nil, errors.New("lab: started without Options.Prober")
	}
	pr := probeRequest{Targets: targets, Timeout: timeout, Retries: retries}
	if source.IsValid() {
		pr.Source = source.String()
	}
	req, _ := json.Marshal(pr)
	if _, err := l.proberIn.Write(append(req, '\n')); err != nil {
		return nil, fmt.Errorf("lab: probe helper: %w%s", err, l.prober.stderr.tail())
	}
	type answer struct {
		line []byte
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := l.proberOut.ReadBytes('\n')
		ch <- answer{line, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Duration(2+max(retries, 1))*timeout + 30*time.Second):
		return nil, errors.New("lab: probe helper does not answer")
	}
	if a.err != nil {
		return nil, fmt.Errorf("lab: probe helper: %w%s", a.err, l.prober.stderr.tail())
	}
	var resp probeResponse
	if err := json.Unmarshal(a.line, &resp); err != nil {
		return nil, fmt.Errorf("lab: probe helper answered %q: %w", a.line, err)
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("lab: probe helper: %s", resp.Error)
	}
	return resp.Results, nil
}

// Close stops the helpers and removes every namespace (and with them every
// interface and ruleset) of the lab. It is idempotent. A detached lab's
// helpers are stopped too: Close means gone.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	helpers := l.helpers
	if l.proberIn != nil {
		l.proberIn.Close()
	}
	l.mu.Unlock()
	var errs *multierror.Error
	for _, h := range helpers {
		h.stop()
	}
	// A fresh context: teardown must run even when the caller's is done.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Down(ctx, l.prefix); err != nil {
		errs = multierror.Append(errs, err)
	}
	liveMu.Lock()
	delete(liveLabs, l)
	liveMu.Unlock()
	return errs.ErrorOrNil()
}

// Down removes the lab namespaces of prefix (see Namespaces), after
// stopping the processes inside them: what a crashed or detached lab left.
func Down(ctx context.Context, prefix string) error {
	if err := CheckPrefix(prefix); err != nil {
		return err
	}
	names, err := namespacesWithPrefix(ctx, prefix)
	if err != nil {
		return err
	}
	var errs *multierror.Error
	var pids []int
	for _, name := range names {
		out, err := output(ctx, "ip", "netns", "pids", name)
		if err != nil {
			errs = multierror.Append(errs, err)
			continue
		}
		for _, f := range strings.Fields(out) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 && pid != os.Getpid() {
				pids = append(pids, pid)
			}
		}
	}
	terminate(pids)
	for _, name := range names {
		if err := run(ctx, "", "ip", "netns", "delete", name); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

// Namespaces lists the lab namespaces of prefix: prefix followed by a
// role (gw, br, n0, n1, …). Another lab whose prefix merely starts with
// prefix is not included.
func Namespaces(ctx context.Context, prefix string) ([]string, error) {
	return namespacesWithPrefix(ctx, prefix)
}

// Labs lists the prefixes of every lab on this machine: those whose bridge
// and gateway namespaces both exist (a lab's signature), whether or not
// anything recorded them.
func Labs(ctx context.Context) ([]string, error) {
	names, err := allNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	var prefixes []string
	for _, n := range names {
		if p, ok := strings.CutSuffix(n, gatewayNS); ok && have[p+bridgeNS] && CheckPrefix(p) == nil {
			prefixes = append(prefixes, p)
		}
	}
	sort.Strings(prefixes)
	return prefixes, nil
}

// isLabRole reports whether rest (a namespace name after the prefix) is a
// lab role: gw, br or n followed by digits.
func isLabRole(rest string) bool {
	if rest == gatewayNS || rest == bridgeNS {
		return true
	}
	digits, ok := strings.CutPrefix(rest, "n")
	if !ok || digits == "" {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// terminate sends SIGTERM to every pid, waits up to two seconds for them
// to go, then SIGKILLs the rest.
func terminate(pids []int) {
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && !isZombie(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil && !isZombie(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] == 'Z'
	}
	return false
}

func namespacesWithPrefix(ctx context.Context, prefix string) ([]string, error) {
	all, err := allNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range all {
		if rest, ok := strings.CutPrefix(n, prefix); ok && isLabRole(rest) {
			names = append(names, n)
		}
	}
	return names, nil
}

// netnsDir is where iproute2 keeps named network namespaces (what
// "ip netns list" lists); reading it directly needs neither root nor ip.
const netnsDir = "/run/netns"

func allNamespaces(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // no named namespace was ever made here
	}
	if err != nil {
		return nil, fmt.Errorf("listing network namespaces: %w", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// startHelper runs the helper role in namespace and waits for its ready
// line. With keepPipes, its stdin and stdout stay connected for requests.
func (l *Lab) startHelper(ctx context.Context, namespace, role string, env []string, keepPipes bool) (*helper, io.WriteCloser, *bufio.Reader, error) {
	argv := append([]string{"netns", "exec", namespace}, l.opts.HelperCommand...)
	cmd := exec.Command("ip", argv...)
	cmd.Env = append(append(os.Environ(), HelperEnv+"="+role), env...)
	h := &helper{namespace: namespace, cmd: cmd, done: make(chan struct{}), stderr: &lockedBuffer{sink: l.opts.HelperLog}}
	cmd.Stderr = h.stderr
	if f, ok := l.opts.HelperLog.(*os.File); ok && l.opts.Detach {
		// A detached helper outlives this process and its pipes: it
		// writes to the file itself.
		cmd.Stderr = f
	}
	cmd.SysProcAttr = helperSysProcAttr(l.opts.Detach)
	var stdin io.WriteCloser
	var err error
	if keepPipes {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return nil, nil, nil, err
		}
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("lab: starting the %s helper in %s: %w", role, namespace, err)
	}
	go func() { cmd.Wait(); close(h.done) }()
	out := bufio.NewReader(stdoutPipe)
	ready := make(chan error, 1)
	go func() {
		line, err := out.ReadString('\n')
		if err == nil && strings.TrimSpace(line) != readyLine {
			err = fmt.Errorf("said %q", line)
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(helperGrace):
		err = errors.New("not ready after " + helperGrace.String())
	}
	if err != nil {
		h.stop()
		return nil, nil, nil, fmt.Errorf("lab: the %s helper in %s (%s): %v%s", role, namespace, strings.Join(l.opts.HelperCommand, " "), err, h.stderr.tail())
	}
	return h, stdin, out, nil
}

func (h *helper) stop() {
	if h.cmd.Process == nil {
		return
	}
	select {
	case <-h.done:
		return
	default:
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(2 * time.Second):
		h.cmd.Process.Kill()
		<-h.done
	}
}

// installSignalTeardown removes every live lab on SIGINT or SIGTERM, then
// re-raises the signal so the process ends as it would have.
func installSignalTeardown() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-ch
		liveMu.Lock()
		labs := make([]*Lab, 0, len(liveLabs))
		for l := range liveLabs {
			labs = append(labs, l)
		}
		liveMu.Unlock()
		for _, l := range labs {
			l.Close()
		}
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig.(syscall.Signal))
	}()
}

// run runs a command with stdin, returning its standard error in the error.
func run(ctx context.Context, stdin string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lockedBuffer keeps a helper's standard error for error messages and
// copies it to a sink.
type lockedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	sink io.Writer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 1<<16 {
		b.buf.Write(p)
	}
	if b.sink != nil {
		b.sink.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	if s == "" {
		return ""
	}
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return ": " + s
}
