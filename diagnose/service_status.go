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
	Endpoints, Reachable, Blocked, Unknown int

	worst Severity // worst counted finding; Info when there is none
}

// AddEndpoint counts one endpoint by its verdict; anything not reachable or
// blocked is unknown.
func (h *ServiceHealth) AddEndpoint(verdict string) {
	h.Endpoints++
	switch verdict {
	case VerdictReachable:
		h.Reachable++
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
