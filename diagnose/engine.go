package diagnose

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-multierror"
)

// Skipped says why a check did not run.
type Skipped struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
}

// CheckError is a check that failed or panicked; the others still ran.
type CheckError struct {
	Check string `json:"check"`
	Error string `json:"error"`
}

// InputMissing reports whether the view lacks input, and why in words.
func (v *View) InputMissing(in Input) (bool, string) {
	s := v.Snapshot
	partMissing := func(parts ...string) (bool, string) {
		for _, m := range s.Missing {
			if len(m.IDs) > 0 {
				continue
			}
			for _, p := range parts {
				if m.Part == p {
					return true, fmt.Sprintf("%s could not be collected: %s", p, m.Error)
				}
			}
		}
		return false, ""
	}
	switch in {
	case InputAuthorizations:
		return partMissing("gateway", "authorizations")
	case InputSecurityGroups:
		if ok, why := partMissing("securityGroups", "rules"); ok {
			return ok, why
		}
		if len(s.SecurityGroups) == 0 {
			return true, "the snapshot lists no security groups"
		}
	case InputNodes:
		if ok, why := partMissing("nodes", "enis"); ok {
			return ok, why
		}
		if len(s.Nodes) == 0 {
			return true, "the snapshot lists no nodes (no node or ENI data)"
		}
	case InputNodePools:
		if ok, why := partMissing("nodePools"); ok {
			return ok, why
		}
		if len(s.NodePools) == 0 {
			return true, "the snapshot lists no node pools"
		}
	case InputEndpoints:
		if ok, why := partMissing("services", "endpoints"); ok {
			return ok, why
		}
		if len(v.Endpoints) == 0 {
			return true, "the snapshot lists no service endpoints"
		}
	case InputProbes:
		if v.HasHealthEvidence() {
			break // the gateway's own health checks are observations too
		}
		if ok, why := partMissing("probes"); ok {
			return ok, why
		}
		if len(s.Probes) == 0 {
			return true, "no probes recorded (run with --probe, or record probes in the snapshot)"
		}
	case InputBaseline:
		if v.Baseline == nil {
			return true, "no baseline snapshot given (--baseline FILE)"
		}
	case InputGatewayAddresses:
		if len(s.Gateway.Addresses) == 0 {
			return true, "the gateway's addresses are unknown (gateway.addresses)"
		}
	default:
		return true, fmt.Sprintf("unknown input %q", in)
	}
	return false, ""
}

// Run runs every check over v concurrently and assembles the report. Output
// order is deterministic whatever the scheduling. Checks whose inputs are
// missing are skipped (GWD001); a check that errors or panics is recorded in
// CheckErrors and the others still run.
func Run(ctx context.Context, v *View, checks []*Check) *Report {
	r := newReport(v)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		failures *multierror.Error
	)
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for _, c := range checks {
		if missing, why := firstMissing(v, c.Requires); missing {
			r.Skipped = append(r.Skipped, Skipped{Check: c.Name, Reason: why})
			continue
		}
		wg.Add(1)
		go func(c *Check) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				mu.Lock()
				failures = multierror.Append(failures, fmt.Errorf("%s: %w", c.Name, ctx.Err()))
				mu.Unlock()
				return
			}
			var local []Finding
			p := &Pass{View: v, Check: c, emit: func(f Finding) { local = append(local, f) }}
			err := runGuarded(p)
			mu.Lock()
			defer mu.Unlock()
			r.Findings = append(r.Findings, local...)
			if err = errors.Join(append(p.err, err)...); err != nil {
				failures = multierror.Append(failures, fmt.Errorf("%s: %w", c.Name, err))
			}
		}(c)
	}
	wg.Wait()
	if failures != nil {
		for _, e := range failures.Errors {
			name, msg, _ := strings.Cut(e.Error(), ": ")
			r.CheckErrors = append(r.CheckErrors, CheckError{Check: name, Error: msg})
		}
	}
	skip, _ := LookupCode(CodeCheckSkipped)
	for _, s := range r.Skipped {
		r.Findings = append(r.Findings, Finding{
			Code: skip.ID, Check: skip.Slug, Severity: Sev(Info),
			Subjects: []string{s.Check},
			Message:  fmt.Sprintf("check %s skipped: %s", s.Check, s.Reason),
			Evidence: []string{s.Reason},
		})
	}
	r.finish()
	r.link(v)
	r.Causes = r.summariseCauses()
	return r
}

func firstMissing(v *View, ins []Input) (bool, string) {
	for _, in := range ins {
		if missing, why := v.InputMissing(in); missing {
			return true, why
		}
	}
	return false, ""
}

func runGuarded(p *Pass) (err error) {
	defer func() {
		if r := recover(); r != nil {
			stack := strings.Split(string(debug.Stack()), "\n")
			if len(stack) > 12 {
				stack = stack[:12]
			}
			err = fmt.Errorf("panic: %v\n%s", r, strings.Join(stack, "\n"))
		}
	}()
	return p.Check.Run(p)
}

// SortFindings orders findings: severity (highest first), code, first
// service, subjects, message — deterministic for golden files.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := &fs[i], &fs[j]
		if ra, rb := statusRank(a.Status), statusRank(b.Status); ra != rb {
			return ra < rb
		}
		if a.Level() != b.Level() {
			return a.Level() > b.Level()
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if sa, sb := first(a.Services), first(b.Services); sa != sb {
			return sa < sb
		}
		if ka, kb := strings.Join(a.Subjects, ","), strings.Join(b.Subjects, ","); ka != kb {
			return ka < kb
		}
		return a.Message < b.Message
	})
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
