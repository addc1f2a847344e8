//go:build linux

package probe

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/netlab"
)

func TestMain(m *testing.M) {
	netlab.RegisterHelper("probe", probeHelper)
	netlab.MainHelper()
	os.Exit(m.Run())
}

// helperRequest is what the parent test asks the probe helper, running in
// the client namespace, to probe.
type helperRequest struct {
	Targets             []Target
	Timeout, MinTimeout time.Duration
	Retries             int
}

type helperReply struct {
	Results []Result
	Elapsed time.Duration
}

func probeHelper(args []string, _ func()) error {
	var req helperRequest
	if err := json.Unmarshal([]byte(args[0]), &req); err != nil {
		return err
	}
	start := time.Now()
	results := Run(context.Background(), req.Targets, Options{Timeout: req.Timeout, MinTimeout: req.MinTimeout, Retries: req.Retries})
	return json.NewEncoder(os.Stdout).Encode(helperReply{Results: results, Elapsed: time.Since(start)})
}

// probeFromClient runs Run inside the lab's client namespace.
func probeFromClient(t *testing.T, lab *netlab.Pair, opts Options, targets ...Target) ([]Result, time.Duration) {
	t.Helper()
	req, err := json.Marshal(helperRequest{Targets: targets, Timeout: opts.Timeout, MinTimeout: opts.MinTimeout, Retries: opts.Retries})
	if err != nil {
		t.Fatal(err)
	}
	out, err := lab.RunHelper(lab.Client, "probe", string(req))
	if err != nil {
		t.Fatal(err)
	}
	var reply helperReply
	if err := json.Unmarshal(out, &reply); err != nil {
		t.Fatalf("probe helper output: %v\n%s", err, out)
	}
	return reply.Results, reply.Elapsed
}

// Ports of the lab's server. Every rule matches only its own port, so the
// SYN-dropping counters (numgen) of concurrent subtests do not interfere.
const (
	portOpen        = 20001 // listening
	portRefused     = 20002 // nothing listens
	portDrop        = 20003 // nftables drop: filtered
	portHostUnreach = 20004 // reject with icmp host-unreachable: unreachable
	portSYNLoss     = 20005 // listening; every other SYN dropped (mixed run)
	portSYNLossCold = 20006 // listening; every other SYN dropped (host unknown)
	portTCPReset    = 20007 // listening, but reject with tcp reset: refused
	portProtoUnrch  = 20008 // reject with icmp prot-unreachable: error (ENOPROTOOPT)
	portSYNLossSlow = 20009 // listening; every other SYN dropped (no retries)
)

const serverRules = `
table ip gwdp {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 20003 drop
		tcp dport 20004 reject with icmp type host-unreachable
		tcp dport 20005 tcp flags & (syn | ack) == syn numgen inc mod 2 == 0 drop
		tcp dport 20006 tcp flags & (syn | ack) == syn numgen inc mod 2 == 0 drop
		tcp dport 20007 reject with tcp reset
		tcp dport 20008 reject with icmp type prot-unreachable
		tcp dport 20009 tcp flags & (syn | ack) == syn numgen inc mod 2 == 0 drop
	}
}
`

const serverRules6 = `
table ip6 gwdp6 {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 20003 drop
	}
}
`

// TestNetnsClassification produces every state from real sockets between
// two namespaces, and checks that slow-but-open ports stay open: a port
// whose first SYN is dropped, and ports behind 150 ms of latency each way.
func TestNetnsClassification(t *testing.T) {
	lab := netlab.NewTestPair(t)
	if err := lab.Nft(lab.Server, serverRules); err != nil {
		t.Fatal(err)
	}
	if err := lab.Nft(lab.Server, serverRules6); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Listen(lab.Server, "0.0.0.0:20001", "0.0.0.0:20005-20007", "0.0.0.0:20009", "[::]:20001"); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.AddDelayLine(150 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	server := netlab.ServerIP.String()
	at := func(port int) Target { return Target{server, port} }

	t.Run("all states", func(t *testing.T) {
		t.Parallel()
		noRoute := Target{"10.99.0.1", 80} // the client has no route there: nothing is sent
		// A long configured timeout: judged on it, the silent port would take
		// 15s; judged on the host's adaptive timeout, 150ms.
		results, elapsed := probeFromClient(t, lab, Options{Timeout: 10 * time.Second},
			at(portOpen), at(portRefused), at(portDrop), at(portHostUnreach), at(portTCPReset), at(portProtoUnrch), noRoute)
		want := []struct {
			state  State
			errHas string
		}{
			{StateOpen, ""},
			{StateRefused, "connection refused"},
			{StateFiltered, "no answer to 2 SYNs"},
			{StateUnreachable, "no route to host"},
			{StateRefused, "connection refused"},
			{StateError, "protocol not available"},
			{StateUnreachable, "network is unreachable"},
		}
		for i, w := range want {
			r := results[i]
			if r.State != w.state || !strings.Contains(r.Err, w.errHas) || r.Phase != PhaseConnect {
				t.Errorf("%s: %s (%q), want %s with an error containing %q", r.Target, r.State, r.Err, w.state, w.errHas)
			}
		}
		if src := results[2].Source; src != netlab.ClientIP.String() {
			t.Errorf("filtered result's source %q, want the client's address %s", src, netlab.ClientIP)
		}
		// The host answered, so the silent port was judged on its adaptive
		// timeout (100 ms floor: SYNs at 0 and 50 ms), not on 10 s.
		if !strings.Contains(results[2].Err, "the host answers other ports") || elapsed > 10*time.Second {
			t.Errorf("filtered port of an answering host: %q after %v; want the adaptive timeout", results[2].Err, elapsed)
		}
		t.Logf("7 targets in %v", elapsed)
	})

	t.Run("IPv6", func(t *testing.T) {
		t.Parallel()
		v6 := netlab.ServerIP6.String()
		results, _ := probeFromClient(t, lab, Options{}, Target{v6, portOpen}, Target{v6, portRefused}, Target{v6, portDrop})
		for i, want := range []State{StateOpen, StateRefused, StateFiltered} {
			if results[i].State != want {
				t.Errorf("%s: %+v, want %s", results[i].Target, results[i], want)
			}
		}
		if src := results[0].Source; !strings.HasPrefix(src, "["+netlab.ClientIP6.String()+"]:") {
			t.Errorf("open result's source %q, want [%s]:port", src, netlab.ClientIP6)
		}
		if src := results[2].Source; src != netlab.ClientIP6.String() {
			t.Errorf("filtered result's source %q, want %s", src, netlab.ClientIP6)
		}
	})

	t.Run("first SYN dropped, host answers other ports", func(t *testing.T) {
		t.Parallel()
		results, _ := probeFromClient(t, lab, Options{}, at(portOpen), at(portSYNLoss))
		if r := results[1]; r.State != StateOpen || r.Attempts != 2 {
			t.Errorf("port whose first SYN is dropped: %+v, want open on the second attempt", r)
		}
	})

	t.Run("first SYN dropped, host never answered before", func(t *testing.T) {
		t.Parallel()
		results, elapsed := probeFromClient(t, lab, Options{}, at(portSYNLossCold))
		if r := results[0]; r.State != StateOpen {
			t.Errorf("port whose first SYN is dropped: %+v, want open", r)
		}
		t.Logf("open after %v", elapsed)
	})

	t.Run("first SYN dropped, no retries, kernel retransmits", func(t *testing.T) {
		t.Parallel()
		results, _ := probeFromClient(t, lab, Options{Retries: -1, Timeout: 1500 * time.Millisecond}, at(portSYNLossSlow))
		if r := results[0]; r.State != StateOpen || r.Attempts != 1 || r.RTT < 900*time.Millisecond {
			t.Errorf("single attempt at a port whose first SYN is dropped: %+v, want open after the kernel's retransmission (~1s)", r)
		}
	})

	t.Run("150ms each way", func(t *testing.T) {
		t.Parallel()
		far := netlab.DelayedServerIP.String()
		results, _ := probeFromClient(t, lab, Options{},
			Target{far, portOpen}, Target{far, portRefused}, Target{far, portDrop})
		open, refused, filtered := results[0], results[1], results[2]
		if open.State != StateOpen || open.RTT < 300*time.Millisecond {
			t.Errorf("open port 300ms away: %+v, want open with RTT >= 300ms", open)
		}
		if refused.State != StateRefused || refused.RTT < 300*time.Millisecond {
			t.Errorf("closed port 300ms away: %+v, want refused with RTT >= 300ms", refused)
		}
		if filtered.State != StateFiltered {
			t.Errorf("dropped port 300ms away: %+v, want filtered", filtered)
		}
		if src := open.Source; !strings.HasPrefix(src, netlab.DelayedClientIP.String()+":") {
			t.Errorf("source %q, want the delayed link's client address", src)
		}
	})
}

// TestNetnsUnansweringHost probes a host that never answers: nothing can be
// learned, so every SYN of every port is waited for the configured timeout,
// all ports at once.
func TestNetnsUnansweringHost(t *testing.T) {
	lab := netlab.NewTestPair(t)
	silent := netip.MustParseAddr("10.200.0.3")
	if err := lab.AddServerAddress(silent); err != nil {
		t.Fatal(err)
	}
	if err := lab.Nft(lab.Server, `
table ip gwdp {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr 10.200.0.3 drop
	}
}`); err != nil {
		t.Fatal(err)
	}
	var targets []Target
	for port := 1; port <= 20; port++ {
		targets = append(targets, Target{silent.String(), port})
	}
	results, elapsed := probeFromClient(t, lab, Options{Timeout: 300 * time.Millisecond}, targets...)
	for _, r := range results {
		if r.State != StateFiltered || r.Attempts != 2 || strings.Contains(r.Err, "answers other ports") {
			t.Errorf("%s: %+v, want filtered after 2 attempts", r.Target, r)
		}
	}
	// SYNs at 0 and 150ms, each waited for the full 300ms: 450ms.
	if elapsed < 450*time.Millisecond {
		t.Errorf("took %v: a host that never answered must get the full timeout per attempt (SYNs at 0 and 150ms, each waited 300ms)", elapsed)
	}
	t.Logf("%d silent ports in %v", len(targets), elapsed)
}
