package probe

import (
	"sync"
	"time"
)

// kernelSYNRetransmit is Linux's initial SYN retransmission timeout
// (TCP_TIMEOUT_INIT). A handshake that took longer may have completed on a
// retransmitted SYN, so by Karn's rule its duration is no RTT sample.
const kernelSYNRetransmit = time.Second

// hostTimer learns one host's round-trip time from the handshakes it answers
// (SYN-ACK or RST) and derives how long a silent port of that host is waited
// for: RFC 6298 smoothing (alpha 1/8, beta 1/4), then
//
//	timeout = max(2·SRTT + 4·RTTVAR, 1.5·slowest answer), clamped to [min, max]
//
// The factor 2 on SRTT (RFC 6298 uses 1) and the slowest-answer term leave
// room for a port whose path is slower than the host's typical one (DNAT to
// another zone, a busy listener) without giving up the speed: on a LAN the
// floor decides. Until the host has answered, the timeout is max: nothing is
// known, so the user's configured timeout applies.
type hostTimer struct {
	min, max time.Duration

	mu      sync.Mutex
	samples int
	srtt    time.Duration
	rttvar  time.Duration
	slowest time.Duration
	timeout time.Duration
	changed chan struct{} // closed and replaced when timeout changes
}

func newHostTimer(min, max time.Duration) *hostTimer {
	return &hostTimer{min: min, max: max, timeout: max, changed: make(chan struct{})}
}

// current returns the timeout for a silent port now, and a channel that is
// closed when it changes.
func (h *hostTimer) current() (time.Duration, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.timeout, h.changed
}

// known reports whether the host has answered at least once.
func (h *hostTimer) known() (samples int, srtt time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.samples, h.srtt
}

// observe feeds the duration of a handshake the host answered.
func (h *hostTimer) observe(rtt time.Duration) {
	if rtt <= 0 || rtt >= kernelSYNRetransmit {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.samples == 0 {
		h.srtt, h.rttvar = rtt, rtt/2
	} else {
		delta := h.srtt - rtt
		if delta < 0 {
			delta = -delta
		}
		h.rttvar = (3*h.rttvar + delta) / 4
		h.srtt = (7*h.srtt + rtt) / 8
	}
	h.samples++
	h.slowest = max(h.slowest, rtt)
	timeout := min(max(2*h.srtt+4*h.rttvar, h.slowest*3/2, h.min), h.max)
	// Wake the waiters only on a real change: thousands of ports may be
	// waiting, and on a LAN the floor absorbs every later sample.
	// The published value is only replaced on a change of more than 1/16,
	// so small drifts accumulate against it rather than getting lost.
	diff := timeout - h.timeout
	if h.samples == 1 || diff > h.timeout/16 || -diff > h.timeout/16 {
		h.timeout = timeout
		close(h.changed)
		h.changed = make(chan struct{})
	}
}
