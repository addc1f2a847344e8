package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/probe"
)

func init() { register("probe", newProbeCmd) }

// defaultMaxTargets is the most targets probed without --max-targets: a full
// port range of one host, and a typo away from a scan of a whole network.
const defaultMaxTargets = 65536

type probeFlags struct {
	files       []string
	timeout     time.Duration
	minTimeout  time.Duration
	concurrency int
	retries     int
	source      string
	output      string
	maxTargets  int
}

func newProbeCmd(s *Streams) *cobra.Command {
	var f probeFlags
	cmd := &cobra.Command{
		Use:   "probe TARGET... [-f FILE]",
		Short: "Probe TCP endpoints live: open, refused, filtered, unreachable",
		Long: `Probe TCP endpoints live and classify each from the real socket outcome:

  open         the handshake completed: something listens
  refused      the host answered with a reset: nothing listens on that port
               (service down, or the port changed)
  filtered     no answer to any attempt: something drops the traffic silently
               (a security group, a host firewall, a network policy)
  unreachable  ICMP host/network unreachable, or no route from here
  error        anything else, with the error

TARGET is host:port, host:from-to or host:port,port,from-to; IPv6 addresses
in brackets ([fd00::5]:8080). Host names are resolved once.

Timeouts adapt per host: once a host has answered on some port, its silent
ports are given up on after a small multiple of its round-trip time (at least
--min-timeout, at most --timeout) instead of the full --timeout. A silent port
is sent 1+--retries SYNs, half a timeout apart; an answer to any of them
counts, and the port is filtered only when the last one has gone unanswered
for a full timeout. A host that never answered gets the full --timeout.

What a probe proves depends on where it runs: refused proves the service side
from anywhere; filtered from your laptop proves nothing about the gateway's path.

Exit codes: 0 every target open; 1 some target not open; 2 bad input.`,
		Example: `  gwdoctor probe 172.20.1.10:8080 172.20.1.11:8080
  gwdoctor probe 10.0.0.5:8000-8010 [fd00::5]:443 -o json
  gwdoctor probe -f endpoints.txt --source 192.168.0.10 --timeout 2s`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProbe(cmd, s, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.files, "file", "f", nil, "read targets from `FILE` (one or more per line, # comments; - for stdin); repeatable")
	fl.DurationVar(&f.timeout, "timeout", probe.DefaultTimeout, "longest wait for an answer per attempt; what a host that never answered gets")
	fl.DurationVar(&f.minTimeout, "min-timeout", probe.DefaultMinTimeout, "shortest adaptive wait for a silent port of a host that answers")
	fl.IntVar(&f.concurrency, "concurrency", probe.DefaultConcurrency, "targets probed at once")
	fl.IntVar(&f.retries, "retries", probe.DefaultRetries, "further SYNs sent to a silent port before it is called filtered")
	fl.StringVar(&f.source, "source", "", "connect from this local `IP` address")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fl.IntVar(&f.maxTargets, "max-targets", defaultMaxTargets, "refuse to probe more targets than this")
	return cmd
}

func runProbe(cmd *cobra.Command, s *Streams, args []string, f probeFlags) error {
	opts, err := f.options()
	if err != nil {
		return inputError(err)
	}
	targets, err := readTargets(cmd.Context(), s, args, f.files)
	if err != nil {
		return inputError(err)
	}
	switch {
	case len(targets) == 0:
		return inputError(errors.New("no targets: give host:port arguments or -f FILE"))
	case len(targets) > f.maxTargets:
		return inputError(fmt.Errorf("refusing to probe %d targets, more than --max-targets %d; raise --max-targets to probe them all", len(targets), f.maxTargets)) //words:never-one (more than --max-targets, at least 1)
	}

	progress := newProgressLine(s.Err, len(targets))
	opts.OnResult = progress.add
	started := time.Now()
	progress.start()
	results := probe.Run(cmd.Context(), targets, opts)
	progress.stop()
	elapsed := time.Since(started)

	switch f.output {
	case "json":
		err = writeProbeJSON(s.Out, results, opts, started, elapsed)
	default:
		err = writeProbeText(s.Out, results, elapsed)
	}
	if err != nil {
		return err
	}
	for _, r := range results {
		if r.State != probe.StateOpen {
			return &ExitError{Code: ExitFindings}
		}
	}
	return nil
}

func (f probeFlags) options() (probe.Options, error) {
	var problems []string
	if err := checkProbeTimeout("--timeout", f.timeout); err != nil {
		problems = append(problems, err.Error())
	}
	if f.minTimeout <= 0 {
		problems = append(problems, fmt.Sprintf("--min-timeout %s: must be positive", f.minTimeout))
	} else if f.timeout > 0 && f.minTimeout > f.timeout {
		problems = append(problems, fmt.Sprintf("--min-timeout %s: exceeds --timeout %s", f.minTimeout, f.timeout))
	}
	if f.concurrency < 1 {
		problems = append(problems, fmt.Sprintf("--concurrency %d: must be at least 1", f.concurrency))
	}
	if f.retries < 0 || f.retries > 10 {
		problems = append(problems, fmt.Sprintf("--retries %d: must be 0-10", f.retries))
	}
	if f.maxTargets < 1 || f.maxTargets > probe.MaxTargets {
		problems = append(problems, fmt.Sprintf("--max-targets %d: must be 1-%d", f.maxTargets, probe.MaxTargets))
	}
	if f.output != "text" && f.output != "json" {
		problems = append(problems, fmt.Sprintf("--output %q: want text or json", f.output))
	}
	var source netip.Addr
	if f.source != "" {
		addr, err := netip.ParseAddr(f.source)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("--source %q: not an IP address", f.source))
		case !isLocalAddress(addr):
			problems = append(problems, fmt.Sprintf("--source %s: not an address of this machine", addr))
		default:
			source = addr
		}
	}
	if len(problems) > 0 {
		return probe.Options{}, errors.New(strings.Join(problems, "\n"))
	}
	retries := f.retries
	if retries == 0 {
		retries = -1 // probe.Options: negative means none, zero the default
	}
	return probe.Options{Timeout: f.timeout, MinTimeout: f.minTimeout, Concurrency: f.concurrency, Retries: retries, Source: source}, nil
}

// checkProbeTimeout bounds a per-attempt probe timeout: positive, and at
// most probe.MaxTimeout, since a silent target waits 1+retries of them and a
// typo ("--timeout 10h") would otherwise hang the run for hours.
func checkProbeTimeout(flag string, d time.Duration) error {
	switch {
	case d <= 0:
		return fmt.Errorf("%s %s: must be positive", flag, d)
	case d > probe.MaxTimeout:
		return fmt.Errorf("%s %s: at most %s per attempt (a silent target waits that long for each of its 1+retries attempts)", flag, d, probe.MaxTimeout)
	}
	return nil
}

// isLocalAddress reports whether a socket can be bound to addr here, so a
// mistyped --source fails up front instead of once per target.
func isLocalAddress(addr netip.Addr) bool {
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// readTargets parses the arguments and files, reporting every problem at
// once, and drops repeated targets (keeping the first).
func readTargets(ctx context.Context, s *Streams, args, files []string) ([]probe.Target, error) {
	var all []probe.Target
	var problems []string
	if len(args) > 0 {
		ts, err := probe.ParseTargets(args)
		if err != nil {
			problems = append(problems, err.Error())
		}
		all = append(all, ts...)
	}
	for _, name := range files {
		what := name
		if name == "-" {
			what = "standard input"
		}
		ts, err := untilDone(ctx, what, func() ([]probe.Target, error) {
			if name == "-" {
				return probe.ParseTargetFile("<stdin>", s.In)
			}
			file, err := os.Open(name)
			if err != nil {
				return nil, err
			}
			defer file.Close()
			return probe.ParseTargetFile(name, file)
		})
		var ee *ExitError
		if errors.As(err, &ee) {
			return nil, err // interrupted: nothing else matters
		}
		if err != nil {
			problems = append(problems, err.Error())
		}
		all = append(all, ts...)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	seen := make(map[probe.Target]bool, len(all))
	targets := all[:0]
	for _, t := range all {
		if !seen[t] {
			seen[t] = true
			targets = append(targets, t)
		}
	}
	return targets, nil
}

func writeProbeText(w io.Writer, results []probe.Result, elapsed time.Duration) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tADDRESS\tSTATE\tRTT\tATTEMPTS\tERROR")
	for _, r := range results {
		rtt := "-"
		if r.RTT > 0 {
			rtt = formatRTT(r.RTT)
		}
		address := r.Address
		if address == "" {
			address = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.Target, address, r.State, rtt, r.Attempts, r.Err)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, probeSummary(results, elapsed))
	return err
}

// probeSummary is the closing line: counts by state, time, vantage point.
func probeSummary(results []probe.Result, elapsed time.Duration) string {
	counts := probe.Summary(results)
	var parts []string
	for _, state := range probe.States() {
		if n := counts[state]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, state))
		}
	}
	noun := "targets"
	if len(results) == 1 {
		noun = "target"
	}
	line := fmt.Sprintf("%d %s in %s: %s", len(results), noun, probe.RoundDuration(elapsed), strings.Join(parts, ", "))
	sources := map[string]bool{}
	var order []string
	for _, r := range results {
		ip := r.Source
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		if ip != "" && !sources[ip] {
			sources[ip] = true
			order = append(order, ip)
		}
	}
	if len(order) > 0 && len(order) <= 3 {
		line += " (from " + strings.Join(order, ", ") + ")"
	}
	return line
}

func formatRTT(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 0.1:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

type probeJSON struct {
	SchemaVersion int               `json:"schemaVersion"`
	StartedAt     string            `json:"startedAt"`
	ElapsedMs     float64           `json:"elapsedMs"`
	Options       probeOptionsJSON  `json:"options"`
	Summary       map[string]int    `json:"summary"`
	Results       []probeResultJSON `json:"results"`
}

type probeOptionsJSON struct {
	TimeoutMs    float64 `json:"timeoutMs"`
	MinTimeoutMs float64 `json:"minTimeoutMs"`
	Retries      int     `json:"retries"`
	Concurrency  int     `json:"concurrency"`
	Source       string  `json:"source,omitempty"`
}

type probeResultJSON struct {
	Target   string  `json:"target"`
	Host     string  `json:"host"`
	Port     int     `json:"port"`
	Address  string  `json:"address,omitempty"`
	Source   string  `json:"source,omitempty"`
	State    string  `json:"state"`
	RTTMs    float64 `json:"rttMs,omitempty"`
	Attempts int     `json:"attempts"`
	Phase    string  `json:"phase"`
	Error    string  `json:"error,omitempty"`
}

func writeProbeJSON(w io.Writer, results []probe.Result, opts probe.Options, started time.Time, elapsed time.Duration) error {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	doc := probeJSON{
		SchemaVersion: 1,
		StartedAt:     started.UTC().Format(time.RFC3339Nano),
		ElapsedMs:     ms(elapsed),
		Options: probeOptionsJSON{
			TimeoutMs:    ms(opts.Timeout),
			MinTimeoutMs: ms(opts.MinTimeout),
			Retries:      max(opts.Retries, 0),
			Concurrency:  opts.Concurrency,
		},
		Summary: map[string]int{"targets": len(results)},
		Results: make([]probeResultJSON, len(results)),
	}
	if opts.Source.IsValid() {
		doc.Options.Source = opts.Source.String()
	}
	for _, state := range probe.States() {
		doc.Summary[string(state)] = 0
	}
	for i, r := range results {
		doc.Summary[string(r.State)]++
		doc.Results[i] = probeResultJSON{
			Target: r.Target.String(), Host: r.Target.Host, Port: r.Target.Port,
			Address: r.Address, Source: r.Source, State: string(r.State), RTTMs: ms(r.RTT),
			Attempts: r.Attempts, Phase: r.Phase, Error: r.Err,
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// progressLine shows "probing 120/1500 · 40 open · …" on stderr while a run
// lasts, only when stderr is a terminal; it erases itself at the end.
type progressLine struct {
	w     io.Writer
	total int

	mu     sync.Mutex
	counts map[probe.State]int
	done   int
	began  time.Time
	quit   chan struct{}
	wg     sync.WaitGroup
}

func newProgressLine(w io.Writer, total int) *progressLine {
	file, ok := w.(*os.File)
	if !ok || !term.IsTerminal(file.Fd()) {
		return &progressLine{}
	}
	return &progressLine{w: w, total: total, counts: map[probe.State]int{}}
}

func (p *progressLine) start() {
	if p.w == nil {
		return
	}
	p.began = time.Now()
	p.quit = make(chan struct{})
	p.wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				p.draw()
			case <-p.quit:
				return
			}
		}
	})
}

func (p *progressLine) add(r probe.Result) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	p.done++
	p.counts[r.State]++
	p.mu.Unlock()
}

func (p *progressLine) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("probing %d/%d", p.done, p.total)
	for _, state := range probe.States() {
		if n := p.counts[state]; n > 0 {
			line += fmt.Sprintf(" · %d %s", n, state)
		}
	}
	line += fmt.Sprintf(" · %.1fs", time.Since(p.began).Seconds())
	fmt.Fprint(p.w, "\r\x1b[K"+line)
}

func (p *progressLine) stop() {
	if p.w == nil {
		return
	}
	close(p.quit)
	p.wg.Wait()
	fmt.Fprint(p.w, "\r\x1b[K")
}
