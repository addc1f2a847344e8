package checks

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// causeCodes explain why an endpoint is blocked.
var causeCodes = []string{
	diagnose.CodeMissingAuthorization, diagnose.CodeWrongNode, diagnose.CodeMultipleGroups, diagnose.CodePortChanged,
	diagnose.CodeServiceDown, diagnose.CodeGroupTypeMismatch, diagnose.CodeDenyRuleShadows, diagnose.CodeVPCMismatch,
	diagnose.CodeAuthorizationSync, diagnose.CodeTrafficFiltered, diagnose.CodeGatewayEgress, diagnose.CodeZonePartial,
}

// TestInvariantsOnGeneratedSnapshots runs the catalog over many generated
// snapshots (every rule mix the generator knows) and checks what must hold
// whatever the data: no check fails or reports an undeclared code or
// severity, every blocked endpoint is explained by exactly one root cause,
// every finding has a message, evidence and subjects, and findings that name
// an endpoint name its service.
func TestInvariantsOnGeneratedSnapshots(t *testing.T) {
	for seed := int64(1); seed <= 12; seed++ {
		s := gen.Large(gen.Config{Endpoints: 600, Nodes: 40, Groups: 30, Rules: 900, Services: 12, Seed: seed, BroadRules: int(seed%3) * 60})
		if seed%2 == 1 { // probes of every kind, from both vantage points
			states := []string{snapshot.ProbeOpen, snapshot.ProbeRefused, snapshot.ProbeFiltered, snapshot.ProbeUnreachable, snapshot.ProbeOpen, snapshot.ProbeError}
			i := 0
			for _, svc := range s.Services {
				for _, ep := range svc.Endpoints {
					from := diagnose.ProbeFromGateway
					if i%3 == 0 {
						from = "operator"
					}
					s.Probes = append(s.Probes, snapshot.Probe{Target: diagnose.JoinHostPort(ep.IP, ep.Port), State: states[i%len(states)], From: from})
					i++
				}
			}
		}
		v := diagnose.NewView(s)
		r := diagnose.Run(context.Background(), v, All())
		if len(r.CheckErrors) > 0 {
			t.Fatalf("seed %d: check errors %+v", seed, r.CheckErrors)
		}
		explained := map[string]int{}
		why := map[string][]string{}
		for _, f := range r.Findings {
			if f.Message == "" || len(f.Evidence) == 0 || len(f.Subjects) == 0 {
				t.Errorf("seed %d: %s finding without message, evidence or subjects: %+v", seed, f.Code, f)
			}
			if f.Code != diagnose.CodeCheckSkipped && len(f.Remediation.Steps) == 0 {
				t.Errorf("seed %d: %s finding without a fix: %s", seed, f.Code, f.Message)
			}
			if f.Affected != nil && (f.Affected.Count < len(f.Affected.Endpoints) || len(f.Affected.Endpoints) > diagnose.MaxListed) {
				t.Errorf("seed %d: %s affected %+v: count below the listed, or more listed than %d", seed, f.ID, f.Affected, diagnose.MaxListed)
			}
		}
		// Each blocked endpoint's row points at exactly one root-cause error.
		byID := map[string]*diagnose.Finding{}
		for i := range r.Findings {
			byID[r.Findings[i].ID] = &r.Findings[i]
		}
		linked := map[string]int{}
		for _, row := range r.Endpoints {
			for _, id := range row.FindingIDs {
				f := byID[id]
				if f == nil {
					t.Fatalf("seed %d: %s %s:%d points at finding %q, not in the report", seed, row.Service, row.IP, row.Port, id)
				}
				linked[id]++
				if slices.Contains(causeCodes, f.Code) && f.Level() == diagnose.Error {
					label := row.Service + " " + diagnose.JoinHostPort(row.IP, row.Port)
					explained[label]++
					why[label] = append(why[label], f.Code)
				}
			}
		}
		for _, f := range r.Findings {
			if f.Affected != nil && linked[f.ID] != f.Affected.Count {
				t.Errorf("seed %d: %s counts %d affected endpoints, %d rows point at it", seed, f.ID, f.Affected.Count, linked[f.ID])
			}
		}
		for _, ep := range v.Endpoints {
			if ep.Verdict == diagnose.VerdictBlocked && explained[ep.Label()] != 1 {
				t.Errorf("seed %d: blocked %s explained by %d causes %v, want 1 (ready %v, probe %v)", seed, ep.Label(), explained[ep.Label()], why[ep.Label()], ep.Endpoint.IsReady(), ep.Probe)
			}
		}
	}
}

// TestCausesComeFromGrants: on generated estates sprinkled with unrelated
// broad accepts (SSH and everything from the VPC CIDR, 443 and service
// ports from anywhere), a cause never cites a rule that is not a grant, and
// port-changed never fires while a grant on the endpoint's groups covers
// its port. What a grant is, is restated here from DESIGN.md §7, apart from
// the checks' own code: an authorization, an accept sourced from the
// gateway's group, or an accept from a CIDR inside the gateway's vSwitch.
func TestCausesComeFromGrants(t *testing.T) {
	gwNet := netip.MustParsePrefix(gen.GatewayCIDR)
	isGrant := func(r *snapshot.Rule) bool {
		if !strings.EqualFold(r.Direction, snapshot.DirectionIngress) || !strings.EqualFold(r.Policy, snapshot.PolicyAccept) {
			return false
		}
		if r.SourceCidr != "" {
			p, err := netip.ParsePrefix(r.SourceCidr)
			return err == nil && p.Bits() >= gwNet.Bits() && gwNet.Contains(p.Addr())
		}
		return r.SourcePrefixListID == "" && r.SourceGroupID == gen.GatewayGroup
	}
	covers := func(proto, ports string, port int) bool {
		if !strings.EqualFold(proto, snapshot.ProtocolAll) && !strings.EqualFold(cmp.Or(proto, snapshot.ProtocolTCP), snapshot.ProtocolTCP) {
			return false
		}
		lo, hi, ok := strings.Cut(ports, "/")
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if !ok || errA != nil || errB != nil {
			return false
		}
		return a == -1 || a <= port && port <= b
	}
	broadSeen, portChanged := 0, 0
	for seed := int64(1); seed <= 8; seed++ {
		s := gen.Large(gen.Config{Endpoints: 500, Nodes: 30, Groups: 24, Rules: 480, Services: 10, Seed: seed, BroadRules: 120})
		rules := map[string]*snapshot.Rule{} // "group/rule-id"
		groups := map[string]*snapshot.SecurityGroup{}
		for i := range s.SecurityGroups {
			g := &s.SecurityGroups[i]
			groups[g.ID] = g
			for j := range g.Rules {
				rules[g.ID+"/"+g.Rules[j].ID] = &g.Rules[j]
				if r := &g.Rules[j]; r.SourceCidr == gen.VPCCIDR || r.SourceCidr == "0.0.0.0/0" && !strings.EqualFold(r.Policy, snapshot.PolicyDrop) {
					broadSeen++
				}
			}
		}
		v := diagnose.NewView(s)
		r := diagnose.Run(context.Background(), v, All())
		for _, f := range r.Findings {
			switch f.Code {
			case diagnose.CodeMissingAuthorization, diagnose.CodeWrongNode, diagnose.CodeMultipleGroups, diagnose.CodePortChanged:
			default:
				continue
			}
			for _, subj := range f.Subjects {
				if rule := rules[subj]; rule != nil && !isGrant(rule) {
					t.Errorf("seed %d: %s names rule %s (%s %s from %s), which does not grant the gateway access: %s",
						seed, f.Code, subj, rule.Protocol, rule.PortRange, cmp.Or(rule.SourceCidr, rule.SourceGroupID), f.Message)
				}
			}
			for _, ev := range f.Evidence {
				if !strings.HasPrefix(ev, "the gateway is granted") {
					continue
				}
				for name, rule := range rules {
					if !isGrant(rule) && strings.Contains(ev, " rule "+name+" ") {
						t.Errorf("seed %d: %s cites %s, which is not a grant, as granting the gateway: %s", seed, f.Code, name, ev)
					}
				}
			}
		}
		fs := factsOf(v)
		for i, ep := range v.Endpoints {
			c := fs.causeOf(i)
			if c == nil || c.code != diagnose.CodePortChanged || c.byProbe {
				continue
			}
			portChanged++
			port := ep.Endpoint.Port // generated services are TCP
			other := false
			for _, g := range ep.GroupIDs {
				for _, a := range s.Gateway.Authorizations {
					if a.SecurityGroupID == g {
						other = true
						if covers(a.Protocol, a.PortRange, port) {
							t.Errorf("seed %d: %s is port-changed although authorization %s (%s %s) covers %d", seed, ep.Label(), a.ID, g, a.PortRange, port)
						}
					}
				}
				if groups[g] == nil {
					continue
				}
				for _, rule := range groups[g].Rules {
					if !isGrant(&rule) {
						continue
					}
					other = true
					if covers(rule.Protocol, rule.PortRange, port) {
						t.Errorf("seed %d: %s is port-changed although grant %s/%s (%s %s) covers %d", seed, ep.Label(), g, rule.ID, rule.Protocol, rule.PortRange, port)
					}
				}
			}
			if !other {
				t.Errorf("seed %d: %s is port-changed but none of its groups %v grants the gateway anything", seed, ep.Label(), ep.GroupIDs)
			}
		}
	}
	// The class must have been exercised, or the test proves nothing.
	if broadSeen < 500 || portChanged == 0 {
		t.Errorf("generated estates too thin: %d broad rules, %d port-changed endpoints", broadSeen, portChanged)
	}
	t.Logf("%d broad rules, %d port-changed endpoints checked", broadSeen, portChanged)
}
