package cli

import (
	"fmt"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// resolveServices turns --service values into service keys of snap:
// NAMESPACE/NAME as is, or a bare NAME when exactly one namespace has it.
// An unknown or ambiguous value is an error naming the candidates.
func resolveServices(snap *snapshot.Snapshot, given []string) ([]string, error) {
	if len(given) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(snap.Services))
	for i := range snap.Services {
		keys = append(keys, snap.Services[i].Key())
	}
	var resolved []string
	var problems []string
	for _, g := range given {
		if slices.Contains(keys, g) {
			resolved = append(resolved, g)
			continue
		}
		var byName []string
		if !strings.Contains(g, "/") {
			for _, k := range keys {
				if _, name, _ := strings.Cut(k, "/"); name == g {
					byName = append(byName, k)
				}
			}
		}
		slices.Sort(byName)
		switch {
		case len(byName) == 1:
			resolved = append(resolved, byName[0])
		case len(byName) > 1:
			problems = append(problems, fmt.Sprintf("--service %q: %d services are named %s (%s): give NAMESPACE/NAME", g, len(byName), g, strings.Join(byName, ", "))) //words:never-one (more than one)
		default:
			msg := fmt.Sprintf("--service %q: no such service in the snapshot", g)
			if sug := closeServices(g, keys, 3); len(sug) > 0 {
				msg += "; did you mean " + strings.Join(sug, " or ") + "?"
			} else {
				msg += " (services are NAMESPACE/NAME)"
			}
			problems = append(problems, msg)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return resolved, nil
}

// closeServices are the keys nearest to s (edit distance on the whole key
// and on the name part, or containing s), best first, at most n.
func closeServices(s string, keys []string, n int) []string {
	s = strings.ToLower(s)
	type scored struct {
		key  string
		dist int
	}
	var near []scored
	for _, k := range keys {
		lk := strings.ToLower(k)
		_, name, _ := strings.Cut(lk, "/")
		d := min(words.EditDistance(s, lk), words.EditDistance(s, name))
		if strings.Contains(lk, s) || strings.Contains(s, name) {
			d = min(d, 1)
		}
		if d <= max(2, len(s)/3) {
			near = append(near, scored{k, d})
		}
	}
	slices.SortStableFunc(near, func(a, b scored) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.key, b.key)
	})
	var out []string
	for _, x := range near[:min(n, len(near))] {
		out = append(out, x.key)
	}
	return out
}

// parseEndpoints reads the --endpoint values.
func parseEndpoints(given []string) ([]diagnose.EndpointSelector, error) {
	var sels []diagnose.EndpointSelector
	var problems []string
	for _, g := range given {
		sel, err := diagnose.ParseEndpointSelector(g)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		sels = append(sels, sel)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return sels, nil
}

// checkEndpoints rejects selectors that pick no endpoint of snap, naming
// the endpoints at that IP when only the port is wrong.
func checkEndpoints(snap *snapshot.Snapshot, sels []diagnose.EndpointSelector) error {
	var problems []string
	for _, sel := range sels {
		found := false
		var samePort []string
		for i := range snap.Services {
			svc := &snap.Services[i]
			for _, ep := range svc.Endpoints {
				if sel.Matches(ep.IP, ep.Port) {
					found = true
				} else if (diagnose.EndpointSelector{IP: sel.IP}).Matches(ep.IP, ep.Port) {
					samePort = append(samePort, svc.Key()+" "+diagnose.JoinHostPort(ep.IP, ep.Port))
				}
			}
		}
		if !found {
			msg := fmt.Sprintf("--endpoint %s: no endpoint of the snapshot has this address", sel)
			if len(samePort) > 0 {
				msg += "; at this IP: " + strings.Join(samePort, ", ")
			}
			problems = append(problems, msg)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}

// endpointInclude selects the endpoints to probe: those of services (all
// when empty) picked by sels (all when empty).
func endpointInclude(services []string, sels []diagnose.EndpointSelector) func(*snapshot.Service, *snapshot.Endpoint) bool {
	if len(services) == 0 && len(sels) == 0 {
		return nil
	}
	return func(svc *snapshot.Service, ep *snapshot.Endpoint) bool {
		if len(services) > 0 && !slices.Contains(services, svc.Key()) {
			return false
		}
		return len(sels) == 0 || slices.ContainsFunc(sels, func(s diagnose.EndpointSelector) bool { return s.Matches(ep.IP, ep.Port) })
	}
}
