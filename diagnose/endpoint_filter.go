package diagnose

import (
	"fmt"
	"net/netip"
	"strings"
)

// EndpointSelector picks endpoints by IP, and port when given: what an
// on-call engineer has from a 503 log line (--endpoint IP[:PORT]).
type EndpointSelector struct {
	IP   netip.Addr
	Port int // 0: any port
	raw  string
}

// ParseEndpointSelector reads IP or IP:PORT (IPv6 as [IP]:PORT or bare).
func ParseEndpointSelector(s string) (EndpointSelector, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("--endpoint %q: want IP or IP:PORT (e.g. 172.20.2.10:8080, [fd00::5]:8080)", s)
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return EndpointSelector{IP: ip.Unmap(), raw: s}, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		return EndpointSelector{}, bad
	}
	return EndpointSelector{IP: ap.Addr().Unmap(), Port: int(ap.Port()), raw: s}, nil
}

func (s EndpointSelector) String() string {
	if s.raw != "" {
		return s.raw
	}
	if s.Port == 0 {
		return s.IP.String()
	}
	return netip.AddrPortFrom(s.IP, uint16(s.Port)).String()
}

// Matches reports whether the endpoint at ip:port is selected.
func (s EndpointSelector) Matches(ip string, port int) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Unmap() == s.IP && (s.Port == 0 || s.Port == port)
}

// endpointSubject splits an endpoint subject ("ns/name 10.0.0.1:8080") into
// its address; ok is false for any other subject.
func endpointSubject(subject string) (ip string, port int, ok bool) {
	_, addr, found := strings.Cut(subject, " ")
	if !found {
		return "", 0, false
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return "", 0, false
	}
	return ap.Addr().String(), int(ap.Port()), true
}

// ApplyEndpointFilter keeps the endpoints that a selector picks, and the
// findings about them: a finding that names a picked endpoint, or one that
// names no endpoint but a service of a picked endpoint (service-level
// findings: no ready endpoints, partial reachability). Skipped-check notes
// stay. Counts of what was hidden go to Filter.
func (r *Report) ApplyEndpointFilter(selectors []EndpointSelector) {
	if len(selectors) == 0 {
		return
	}
	picked := func(ip string, port int) bool {
		for _, s := range selectors {
			if s.Matches(ip, port) {
				return true
			}
		}
		return false
	}
	if r.Filter == nil {
		r.Filter = &FilterInfo{}
	}
	for _, s := range selectors {
		r.Filter.Endpoints = append(r.Filter.Endpoints, s.String())
	}
	services := map[string]bool{}
	kept := r.Endpoints[:0]
	for _, e := range r.Endpoints {
		if picked(e.IP, e.Port) {
			kept = append(kept, e)
			services[e.Service] = true
		} else {
			r.Filter.HiddenEndpoints++
		}
	}
	r.Endpoints = kept
	// A kept row keeps the findings it points at: subjects name only the
	// first few endpoints of a finding (schema 2).
	linked := map[string]bool{}
	for _, e := range kept {
		for _, id := range e.FindingIDs {
			linked[id] = true
		}
	}
	keptFindings := r.Findings[:0]
	for _, f := range r.Findings {
		keep := f.Code == CodeCheckSkipped || linked[f.ID]
		namesEndpoint := f.Affected != nil
		for _, subj := range f.Subjects {
			if ip, port, ok := endpointSubject(subj); ok {
				namesEndpoint = true
				keep = keep || picked(ip, port)
			}
		}
		if !namesEndpoint {
			for _, svc := range f.Services {
				keep = keep || services[svc]
			}
		}
		if keep {
			keptFindings = append(keptFindings, f)
		} else {
			r.Filter.HiddenFindings++
		}
	}
	r.Findings = keptFindings
	if b := r.Baseline; b != nil {
		keep := func(ts []EndpointTransition) []EndpointTransition {
			out := ts[:0]
			for _, t := range ts {
				if picked(t.IP, t.Port) {
					out = append(out, t)
				}
			}
			return out
		}
		b.Regressions, b.Recovered = keep(b.Regressions), keep(b.Recovered)
		b.recount(r.Findings)
	}
	r.finish()
}
