package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// PartialReachability reports services some of whose endpoints are
// reachable and others blocked, naming what differs between them.
var PartialReachability = &diagnose.Check{
	Name: "partial-reachability",
	Doc: `Reports services where some endpoints are reachable and others are blocked.

The gateway balances over all endpoints, so such a service fails some requests — the
intermittent 503s that are hardest to chase. The finding names the attribute that separates
the working endpoints from the failing ones — security groups, ENI kind (primary or pod
ENI), node pool, node, port, readiness — each only when its values on the two sides do not
overlap, and lists each blocked endpoint's root cause. Endpoints that are not ready are left
out on both sides: no request is sent to them (service-down reports them).`,
	Codes:    []string{diagnose.CodePartialReachability},
	Requires: []diagnose.Input{diagnose.InputEndpoints},
	Run: func(p *diagnose.Pass) error {
		f := factsOf(p.View)
		for _, svc := range p.View.Services {
			key := svc.Key()
			var ok, bad []*diagnose.Endpoint
			for _, ep := range p.View.ByService[key] {
				if !ep.Endpoint.IsReady() {
					continue // out of rotation: no request goes there (service-down reports it)
				}
				switch ep.Verdict {
				case diagnose.VerdictReachable:
					ok = append(ok, ep)
				case diagnose.VerdictBlocked:
					bad = append(bad, ep)
				}
			}
			if len(ok) == 0 || len(bad) == 0 {
				continue
			}
			diffs := separating(ok, bad)
			var ev []string
			msg := fmt.Sprintf("%s is partly reachable: %d of %d endpoints blocked", key, len(bad), len(ok)+len(bad))
			if len(diffs) > 0 {
				msg += "; they differ in " + diffs[0].name + " (" + diffs[0].bad + " vs " + diffs[0].ok + ")"
				for _, d := range diffs {
					ev = append(ev, fmt.Sprintf("%s: blocked endpoints %s; reachable endpoints %s", d.name, d.bad, d.ok))
				}
			} else {
				msg += "; no single attribute separates them"
				ev = append(ev, "no attribute (security groups, backend kind, ENI kind, node pool, node, port, readiness) separates the blocked endpoints from the reachable ones: see each endpoint's cause")
			}
			counts := map[string]int{}
			var codes []string
			for _, ep := range bad {
				if c := f.causeOfEndpoint(ep); c != nil {
					if counts[c.code] == 0 {
						codes = append(codes, c.code)
					}
					counts[c.code]++
				}
			}
			for _, code := range codes {
				cc, _ := diagnose.LookupCode(code)
				ev = append(ev, fmt.Sprintf("root cause of %d blocked endpoint(s): %s %s", counts[code], cc.ID, cc.Slug))
			}
			ev = append(ev, "the gateway balances requests over every endpoint: about "+fmt.Sprint(100*len(bad)/(len(ok)+len(bad)))+"% of requests fail")
			subj := []string{key}
			for _, ep := range bad {
				subj = append(subj, ep.Label())
			}
			ev = append(ev, listEPs("blocked", bad), listEPs("reachable", ok))
			chain := []diagnose.Link{{Kind: diagnose.LinkGatewayGroup, ID: f.gwGroup, Detail: "gateway " + f.gwID}}
			if len(diffs) > 0 {
				chain = append(chain, diagnose.Link{Kind: diffs[0].link, ID: strings.Trim(diffs[0].bad, "[]"), Broken: true, Detail: "reachable: " + diffs[0].ok})
			}
			p.Report(diagnose.Finding{
				Code:     diagnose.CodePartialReachability,
				Subjects: subj,
				Services: []string{key},
				Message:  msg,
				Evidence: ev,
				Chain:    chain,
				Remediation: diagnose.Remediation{
					Steps: []string{
						"Fix the blocked endpoints' root causes (the findings with the codes listed in the evidence); the differing attribute shows where to look.",
						workingSideStep(bad),
					},
				},
			})
		}
		return nil
	},
}

// workingSideStep is the interim advice, in the words of the blocked
// backends' kind: a serverless pod's group is fixed at creation, an ECS
// instance is not scheduled.
func workingSideStep(bad []*diagnose.Endpoint) string {
	serverless, instances := 0, 0
	for _, ep := range bad {
		switch {
		case isServerless(ep):
			serverless++
		case ep.Kind == snapshot.BackendECS:
			instances++
		}
	}
	switch {
	case serverless == len(bad):
		return "Until then, keep the service on the working side: new serverless pods get the group their annotation names (or the default), so roll out pods with a group that works; running pods keep theirs."
	case instances == len(bad):
		return "Until then, take the blocked instances out of the service, or put them in a security group that works."
	}
	return "Until then, keep the service on the working side (e.g. schedule its pods on the node pool or ENIs that work)."
}

type difference struct {
	name, link, bad, ok string
}

// separating returns the attributes whose values among blocked endpoints
// and among reachable endpoints do not overlap, most telling first.
func separating(ok, bad []*diagnose.Endpoint) []difference {
	// Endpoints share few ENIs and ports: build their strings once.
	setText := map[*snapshot.ENI]string{}
	portText := map[int]string{}
	attrs := []struct {
		name, link string
		val        func(*diagnose.Endpoint) string
	}{
		{"security groups", diagnose.LinkBackendGroup, func(e *diagnose.Endpoint) string {
			if e.ENI == nil {
				return "[]"
			}
			s, ok := setText[e.ENI]
			if !ok {
				s = "[" + strings.Join(e.GroupIDs, ",") + "]"
				setText[e.ENI] = s
			}
			return s
		}},
		{"backend kind", diagnose.LinkNode, func(e *diagnose.Endpoint) string { return e.Kind }},
		{"ENI kind", diagnose.LinkENI, func(e *diagnose.Endpoint) string {
			if e.ENI == nil {
				return "unresolved"
			}
			return eniKind(e.ENI)
		}},
		{"node pool", diagnose.LinkNode, func(e *diagnose.Endpoint) string {
			if e.Node == nil || e.Node.NodePool == "" {
				return "none"
			}
			return e.Node.NodePool
		}},
		{"node", diagnose.LinkNode, func(e *diagnose.Endpoint) string { return cmpOr(e.NodeLabel(), "unknown") }},
		{"port", diagnose.LinkEndpoint, func(e *diagnose.Endpoint) string {
			s, ok := portText[e.Endpoint.Port]
			if !ok {
				s = strconv.Itoa(e.Endpoint.Port)
				portText[e.Endpoint.Port] = s
			}
			return s
		}},
		{"readiness", diagnose.LinkPod, func(e *diagnose.Endpoint) string {
			if e.Endpoint.IsReady() {
				return "ready"
			}
			return "not ready"
		}},
	}
	var out []difference
	for _, a := range attrs {
		badVals, badSet := values(bad, a.val)
		// The reachable side stops at the first value shared with the
		// blocked side: that attribute does not separate them.
		var okVals []string
		okSet := map[string]bool{}
		overlap := false
		for _, e := range ok {
			v := a.val(e)
			if badSet[v] {
				overlap = true
				break
			}
			if !okSet[v] {
				okSet[v] = true
				okVals = append(okVals, v)
			}
		}
		if !overlap {
			out = append(out, difference{a.name, a.link, strings.Join(capList(badVals), ", "), strings.Join(capList(okVals), ", ")})
		}
	}
	return out
}

// values lists the distinct values of val over eps, in order, with their set.
func values(eps []*diagnose.Endpoint, val func(*diagnose.Endpoint) string) ([]string, map[string]bool) {
	var out []string
	seen := make(map[string]bool, 8)
	for _, e := range eps {
		v := val(e)
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, seen
}

func listEPs(what string, eps []*diagnose.Endpoint) string {
	var ls []string
	for i, e := range eps {
		if i == maxListed {
			ls = append(ls, fmt.Sprintf("… and %d more", len(eps)-maxListed))
			break
		}
		ls = append(ls, e.Target()+" on "+cmpOr(e.NodeLabel(), "?"))
	}
	return fmt.Sprintf("%s (%d): %s", what, len(eps), strings.Join(ls, ", "))
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var _ = explains(Article{
	Code: diagnose.CodePartialReachability,
	Symptom: `Some requests to a service through the gateway succeed and others fail with HTTP 503
"upstream connect error or disconnect/reset before headers" — intermittently, often after a
scale-out or a rollout.`,
	Cause: `The gateway balances over all endpoints; some of them sit where the gateway is not let in
(another node pool, a pod ENI with other groups, another port) or are not serving.`,
	Detection: `For each service with both reachable and blocked endpoints, gwdoctor compares the two sides on
security groups, ENI kind, node pool, node, port and readiness, and names each attribute
whose values do not overlap, with every blocked endpoint's root cause.`,
	Fix: `Fix the root causes listed (typically wrong-node or multiple-security-groups: authorize the
other pool's or pod ENI's group). Meanwhile keep the pods on the working side.`,
	Related: []string{diagnose.CodeWrongNode, diagnose.CodeMultipleGroups, diagnose.CodeNodePoolDrift},
})
