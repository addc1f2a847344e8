package diagnose

// Service badges: one word per service, so its state reads without colour.
const (
	ServiceBroken  = "BROKEN"
	ServiceUnknown = "UNKNOWN"
	ServiceWarning = "WARNING"
	ServiceOK      = "OK"
)

// ServiceHealth tallies one service's endpoints and findings into its badge,
// so that every view of a report (text, Markdown, terminal UI) says the same.
// The zero value is a service with nothing counted yet.
type ServiceHealth struct {
	// Reachable counts ready reachable endpoints; NotReady those that are
	// not ready (never counted reachable).
	Endpoints, Reachable, NotReady, Blocked, Unknown int

	worst Severity // worst counted finding; Info when there is none
}

// CountNotReady is how CountAs counts a not-ready endpoint the
// configuration lets the gateway reach.
const CountNotReady = "not-ready"

// CountAs is how an endpoint is counted in summaries and service headers:
// its verdict, except that a reachable endpoint that is not ready counts as
// not ready — never reachable: the gateway does not route to it.
func CountAs(verdict string, ready bool) string {
	if verdict == VerdictReachable && !ready {
		return CountNotReady
	}
	return verdict
}

// Add counts one endpoint row (CountAs).
func (h *ServiceHealth) Add(e *EndpointResult) { h.add(CountAs(e.Verdict, e.Ready)) }

// AddEndpoint counts one ready endpoint by its verdict; anything not
// reachable or blocked is unknown. Use Add for a report row.
func (h *ServiceHealth) AddEndpoint(verdict string) { h.add(verdict) }

func (h *ServiceHealth) add(counted string) {
	h.Endpoints++
	switch counted {
	case VerdictReachable:
		h.Reachable++
	case CountNotReady:
		h.NotReady++
	case VerdictBlocked:
		h.Blocked++
	default:
		h.Unknown++
	}
}

// AddFinding counts f's severity, except a verdict-unknown finding (its
// endpoint already counts as unknown) and a finding no longer counted
// against a baseline (fixed or unverified).
func (h *ServiceHealth) AddFinding(f *Finding) {
	if f.Code == CodeVerdictUnknown || !f.Counted() {
		return
	}
	h.worst = max(h.worst, f.Level())
}

// Worst is the worst counted finding's severity, Info when there is none.
func (h *ServiceHealth) Worst() Severity { return h.worst }

// Status is the service's badge, the worst of its endpoints and findings:
// BROKEN when an endpoint is blocked, a finding is an error, or there is no
// endpoint at all (the gateway answers 503: it has nothing to route to);
// UNKNOWN when an endpoint's verdict is unknown (never OK); WARNING for a
// warning; else OK.
func (h *ServiceHealth) Status() string {
	switch {
	case h.Blocked > 0 || h.worst == Error:
		return ServiceBroken
	case h.Unknown > 0:
		return ServiceUnknown
	case h.worst == Warning:
		return ServiceWarning
	case h.Endpoints == 0:
		return ServiceBroken
	}
	return ServiceOK
}
