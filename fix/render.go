package fix

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the plan as JSON.
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WriteShell writes the plan as a bash script that makes the same calls
// with the aliyun CLI: strict mode, one commented call per action.
func WriteShell(w io.Writer, p *Plan, source string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/usr/bin/env bash\n")
	fmt.Fprintf(&b, "# gwdoctor fix plan for MSE gateway %s (region %s), from %s.\n", p.Gateway, orUnknown(p.Region), source)
	fmt.Fprintf(&b, "# %s\n", headline(p))
	if p.Simulation != nil {
		fmt.Fprintf(&b, "# Simulated on the snapshot: blocked %d → %d, reachable %d → %d; no other endpoint worse.\n",
			p.Simulation.Before.Blocked, p.Simulation.After.Blocked, p.Simulation.Before.Reachable, p.Simulation.After.Reachable)
	}
	fmt.Fprintf(&b, "# Every call only adds (least privilege: the exact port, the endpoints' own group).\n")
	fmt.Fprintf(&b, "# Afterwards: gwdoctor diagnose --live … --probe (or gwdoctor verify) to confirm.\n")
	b.WriteString("set -euo pipefail\n")
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "\n# %d. %s\n", a.Step, comment(a.Changes))
		fmt.Fprintf(&b, "#    unblocks: %s\n", comment(strings.Join(capList(a.Unblocks, 5), ", ")))
		fmt.Fprintf(&b, "%s\n", a.Command)
	}
	for _, u := range p.Unplanned {
		fmt.Fprintf(&b, "\n# not planned: %s: %s\n", comment(u.Endpoint), comment(u.Reason))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// comment keeps free text on one comment line.
func comment(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

func capList(xs []string, n int) []string {
	if len(xs) <= n {
		return xs
	}
	return append(append([]string{}, xs[:n]...), fmt.Sprintf("… and %d more", len(xs)-n))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// headline says what the plan does in one line.
func headline(p *Plan) string {
	fixed := 0
	for _, a := range p.Actions {
		fixed += len(a.Unblocks)
	}
	switch {
	case len(p.Targets) == 0:
		return "Nothing to fix: no endpoint is blocked by the security groups."
	case len(p.Actions) == 0:
		return fmt.Sprintf("No safe automatic fix for the %s blocked by the security groups (see below).", plural(len(p.Targets), "endpoint", "endpoints"))
	}
	verb := " unblocks "
	if len(p.Actions) > 1 {
		verb = " unblock "
	}
	s := plural(len(p.Actions), "call", "calls") + verb + plural(fixed, "endpoint", "endpoints")
	if n := len(p.Unplanned); n > 0 {
		s += fmt.Sprintf("; %s not planned", plural(n, "endpoint", "endpoints"))
	}
	return s + "."
}

// WriteText writes the plan for a person.
func WriteText(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Fix plan for MSE gateway %s (region %s)\n", p.Gateway, orUnknown(p.Region))
	if p.Finding != "" {
		fmt.Fprintf(&b, "Only the endpoints of finding %s.\n", p.Finding)
	}
	fmt.Fprintf(&b, "%s\n", headline(p))
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "\n%d. %s %s\n", a.Step, a.Product, a.API)
		fmt.Fprintf(&b, "   changes:  %s\n", a.Changes)
		fmt.Fprintf(&b, "   unblocks: %s\n", strings.Join(capList(a.Unblocks, 5), ", "))
		if a.Command != "" {
			fmt.Fprintf(&b, "   $ %s\n", a.Command)
		}
	}
	if len(p.Unplanned) > 0 {
		fmt.Fprintf(&b, "\nNot planned (fix by hand, see the findings):\n")
		for _, u := range p.Unplanned {
			codes := ""
			if len(u.Findings) > 0 {
				codes = " [" + strings.Join(u.Findings, " ") + "]"
			}
			fmt.Fprintf(&b, "  - %s%s: %s\n", u.Endpoint, codes, u.Reason)
		}
	}
	if sim := p.Simulation; sim != nil && len(p.Actions) > 0 {
		fmt.Fprintf(&b, "\nSimulated on the snapshot (configuration only): blocked %d → %d, reachable %d → %d; no other endpoint worse.\n",
			sim.Before.Blocked, sim.After.Blocked, sim.Before.Reachable, sim.After.Reachable)
	}
	if len(p.Actions) > 0 {
		fmt.Fprintf(&b, "\nApply: gwdoctor fix --live --apply (asks first), or run the commands above; then verify with gwdoctor diagnose --probe.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
