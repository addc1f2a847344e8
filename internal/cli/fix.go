package cli

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/collect"
	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/fix"
	"github.com/gwdoctor/gwdoctor/render"
	"github.com/gwdoctor/gwdoctor/snapshot"
	"github.com/gwdoctor/gwdoctor/verify"
)

func init() { register("fix", newFixCmd) }

// fixStdinIsTerminal says whether the confirmation can be asked; tests
// replace it.
var fixStdinIsTerminal = func(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// fixNow is the clock of file names and the undo file (tests).
var fixNow = time.Now

func newFixCmd(s *Streams) *cobra.Command {
	var (
		output   string
		finding  string
		apply    bool
		yes      bool
		undoFile string
		live     liveFlags
		isLive   bool
		policy   bool
	)
	cmd := &cobra.Command{
		Use:   "fix [FILE | --live] [--finding ID|CODE|SLUG] [-o text|sh|json] [--apply [--yes] [--undo-file F]]",
		Short: "The fix plan for the blocked endpoints: the API calls that unblock them, proven on the snapshot first; --apply makes them",
		Long: `Plans the API calls that make the endpoints the security groups block reachable, least
privilege first: an MSE authorization of the endpoint's own group for its exact port (MSE
then writes the inbound rule), or, for a group that cannot reference the gateway's group
(enterprise), an inbound rule for the gateway's addresses. The plan only adds; it never
deletes or widens a rule and never touches a group no blocked endpoint sits in. Causes an
addition cannot fix (a drop rule that wins, another VPC, the gateway's own egress) are
listed as not planned, with the finding that explains them.

Before it is offered, the plan is applied to a copy of the snapshot and diagnosed again:
only actions that make their endpoints reachable are kept, and a plan that would make any
other endpoint worse is refused.

-o sh prints a bash script (set -euo pipefail, one commented aliyun CLI call per step);
-o json the plan with every call's parameters, what it changes and what it unblocks.

--apply (with --live) makes the calls through the Alibaba Cloud SDK. It asks first on a
terminal; --yes confirms for automation; without a terminal and without --yes it refuses.
Before the first write it saves the state it planned from and an undo file (--undo-file;
default gwdoctor-fix-GATEWAY-TIME.undo.json in the current directory, next to the saved
.before.json) that is rewritten after every step. Calls run one by one and stop at the
first failure. Then the state is collected and diagnosed again, and every endpoint whose
state changed is printed before → after. Running it again changes nothing: the plan is
made from the current state, and a change that exists is not made twice.

Exit codes: 0 every targeted endpoint is (or, planning only, would be) reachable; 1 some
blocked endpoint is not planned, a step failed, or a targeted endpoint is still blocked
after --apply; 2 usage or input error, or --apply refused; 3 after --apply, a targeted
endpoint's verdict is unknown.`,
		Example: `  gwdoctor fix incident.yaml                      # the plan, in words
  gwdoctor fix incident.yaml -o sh > fix.sh       # the same as a script to review and run
  gwdoctor fix incident.yaml --finding GWD102     # only the endpoints of the wrong-node finding
  gwdoctor fix --live --gateway gw-3f9a --region cn-hangzhou --apply     # asks, applies, verifies
  gwdoctor fix --live --gateway gw-3f9a --region cn-hangzhou --apply --yes --undo-file undo.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if policy {
				fmt.Fprintln(s.Out, aliyun.WriteRAMPolicy())
				return nil
			}
			file := ""
			if len(args) > 0 {
				file = args[0]
			}
			switch {
			case output != "text" && output != "sh" && output != "json":
				return inputError(fmt.Errorf("-o %s: fix writes text, sh or json", output))
			case isLive && file != "":
				return inputError(errors.New("give a snapshot FILE or --live, not both"))
			case !isLive && file == "":
				return inputError(errors.New("fix needs a snapshot FILE (or - for standard input), or --live"))
			case apply && !isLive:
				return inputError(errors.New("--apply writes to the account the plan was made from: use it with --live"))
			case apply && output == "sh":
				return inputError(errors.New("--apply runs the plan itself; -o sh prints it for you to run"))
			case (yes || undoFile != "") && !apply:
				return inputError(errors.New("--yes and --undo-file go with --apply"))
			}
			ctx := cmd.Context()
			var snap *snapshot.Snapshot
			source := file
			if isLive {
				var err error
				if snap, _, err = live.liveSource(s.Err)(ctx); err != nil {
					return inputError(err)
				}
				source = "a live collection of " + snap.Gateway.ID
			} else {
				var err error
				if snap, err = loadSnapshot(ctx, file, s.In); err != nil {
					return inputError(err)
				}
			}
			report := fix.Diagnose(ctx, snap)
			plan, err := fix.Build(ctx, snap, report, fix.Options{Finding: finding})
			if err != nil {
				if strings.HasPrefix(err.Error(), "--finding") {
					return inputError(err)
				}
				return &ExitError{Code: ExitFindings, Err: err}
			}
			if !apply {
				if err := writePlan(s.Out, plan, output, source); err != nil {
					return err
				}
				if !plan.Complete() {
					return &ExitError{Code: ExitFindings}
				}
				return nil
			}
			return applyFix(ctx, s, &live, snap, report, plan, fixApply{output: output, yes: yes, undoFile: undoFile})
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&output, "output", "o", "text", "output format: text, sh (a bash script) or json")
	fs.StringVar(&finding, "finding", "", "only the endpoints of the finding with this id (GWD102-51f9302a), or of the findings with this code (GWD102) or slug (wrong-node)")
	fs.BoolVar(&apply, "apply", false, "make the calls (needs --live; asks first, see --yes)")
	fs.BoolVar(&yes, "yes", false, "with --apply: do not ask (for automation)")
	fs.StringVar(&undoFile, "undo-file", "", "with --apply: where the undo file goes (default gwdoctor-fix-GATEWAY-TIME.undo.json here)")
	fs.BoolVar(&policy, "ram-policy", false, "print the RAM policy of the writes --apply makes (attach it beside the read-only one of snapshot --ram-policy), and exit")
	fs.BoolVar(&isLive, "live", false, "collect the current state from Alibaba Cloud and Kubernetes instead of reading a FILE")
	live.register(fs)
	return cmd
}

func writePlan(w io.Writer, p *fix.Plan, output, source string) error {
	switch output {
	case "sh":
		return fix.WriteShell(w, p, source)
	case "json":
		return fix.WriteJSON(w, p)
	}
	return fix.WriteText(render.Terminal(w), p)
}

type fixApply struct {
	output   string
	yes      bool
	undoFile string
}

// aliyunCloud makes the plan's calls through the SDK client.
type aliyunCloud struct{ c *aliyun.Client }

func (a aliyunCloud) AddSecurityGroupRule(ctx context.Context, gw, group, ports, desc string) (string, error) {
	return a.c.AddSecurityGroupRule(ctx, gw, group, ports, desc)
}

func (a aliyunCloud) AuthorizeSecurityGroup(ctx context.Context, group string, perms []fix.Permission, token string) error {
	return a.c.AuthorizeSecurityGroup(ctx, group, toAliyun(perms), token)
}

func toAliyun(ps []fix.Permission) []aliyun.Permission {
	out := make([]aliyun.Permission, len(ps))
	for i, p := range ps {
		out[i] = aliyun.Permission(p)
	}
	return out
}

// fixCloud builds the writer; tests replace it.
var fixCloud = func(ctx context.Context, opts collect.Options) (fix.Cloud, error) {
	c, _, err := collect.NewClient(ctx, opts)
	if err != nil {
		return nil, err
	}
	return aliyunCloud{c}, nil
}

// applyFix confirms, saves the state and the undo file, applies the plan,
// then collects and diagnoses again and prints before → after.
func applyFix(ctx context.Context, s *Streams, live *liveFlags, before *snapshot.Snapshot, beforeReport *diagnose.Report, plan *fix.Plan, o fixApply) error {
	out := render.Terminal(s.Out)
	if o.output == "json" {
		out = s.Err // stdout carries the JSON result only
	}
	if gaps := fix.Gaps(before, plan); len(gaps) > 0 {
		return inputError(fmt.Errorf("--apply refused: what the plan changes could not be read completely (%s); gwdoctor writes only from a complete picture of it", strings.Join(gaps, "; ")))
	}
	if err := fix.WriteText(out, plan); err != nil {
		return err
	}
	if len(plan.Actions) == 0 {
		fmt.Fprintln(out, "\nNothing to apply.")
		return finishWithoutChange(s, plan, o)
	}
	if !o.yes {
		if !fixStdinIsTerminal(s.In) {
			return inputError(errors.New("--apply refused: standard input is not a terminal to confirm on; review the plan and pass --yes to apply without asking"))
		}
		fmt.Fprintf(s.Err, "\nApply these %d call(s) to gateway %s in %s? Type yes to apply: ", len(plan.Actions), plan.Gateway, plan.Region)
		line, _ := bufio.NewReader(s.In).ReadString('\n')
		if answer := strings.ToLower(strings.TrimSpace(line)); answer != "yes" && answer != "y" {
			return inputError(errors.New("--apply: not confirmed; nothing was changed"))
		}
	}
	stamp := fixNow().UTC().Format("20060102T150405Z")
	undoPath := o.undoFile
	if undoPath == "" {
		undoPath = fmt.Sprintf("gwdoctor-fix-%s-%s.undo.json", before.Gateway.ID, stamp)
	}
	beforePath := strings.TrimSuffix(undoPath, filepath.Ext(undoPath))
	beforePath = strings.TrimSuffix(beforePath, ".undo") + ".before.json"
	if err := snapshot.Save(beforePath, before); err != nil {
		return inputError(fmt.Errorf("--apply: saving the state before the change: %w (nothing was changed)", err))
	}
	cloud, err := fixCloud(ctx, live.options(nil))
	if err != nil {
		return inputError(err)
	}
	outcomes, runErr := fix.Run(ctx, cloud, before, plan, fix.ApplyOptions{UndoPath: undoPath, Now: fixNow,
		Progress: func(msg string) { fmt.Fprintf(out, "  %s\n", msg) }})
	fmt.Fprintf(out, "\nState before: %s\nUndo file:    %s\n", beforePath, undoPath)
	if runErr != nil {
		fmt.Fprintf(out, "gwdoctor fix: %v\n", runErr)
	}
	// Collect and diagnose again, whatever happened: a failure mid-plan
	// leaves earlier steps applied, and the operator must see them.
	after, _, err := live.liveSource(s.Err)(ctx)
	if err != nil {
		return errors.Join(runErr, fmt.Errorf("collecting the state after the change: %w", err))
	}
	afterReport := fix.Diagnose(ctx, after)
	code := reportApplied(out, plan, beforeReport, afterReport)
	if o.output == "json" {
		if err := writeApplyJSON(s.Out, plan, outcomes, undoPath, beforePath, beforeReport, afterReport); err != nil {
			return err
		}
	}
	if runErr != nil {
		return &ExitError{Code: ExitFindings, Err: runErr}
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

func finishWithoutChange(s *Streams, plan *fix.Plan, o fixApply) error {
	if o.output == "json" {
		if err := fix.WriteJSON(s.Out, plan); err != nil {
			return err
		}
	}
	if !plan.Complete() {
		return &ExitError{Code: ExitFindings}
	}
	return nil
}

// reportApplied prints before → after (verify's transitions) and returns
// the exit code: 1 a targeted endpoint is still blocked (or another got
// worse), 3 a targeted endpoint is unknown, 0 otherwise.
func reportApplied(w io.Writer, plan *fix.Plan, before, after *diagnose.Report) int {
	fmt.Fprintln(w, "\nBefore → after (collected and diagnosed again):")
	changes := verify.Transitions(verify.Evaluate(nil, before), verify.Evaluate(nil, after))
	for _, t := range changes {
		fmt.Fprintf(w, "  %s\n", t)
	}
	if len(changes) == 0 {
		fmt.Fprintln(w, "  nothing changed")
	}
	now := map[string]*diagnose.EndpointResult{}
	for i := range after.Endpoints {
		now[after.Endpoints[i].ID().Label()] = &after.Endpoints[i]
	}
	code := 0
	for _, a := range plan.Actions {
		for _, label := range a.Unblocks {
			e := now[label]
			switch {
			case e == nil || e.Config != "allow" && e.Verdict == diagnose.VerdictBlocked:
				fmt.Fprintf(w, "still blocked: %s\n", label)
				code = ExitFindings
			case e.Verdict == diagnose.VerdictBlocked:
				// The configuration allows now; an observation says otherwise.
				fmt.Fprintf(w, "still blocked: %s: the security groups allow it now, but the probe from %s says %s (the gateway's health check re-checks periodically: watch it with gwdoctor verify --live --watch 2m)\n",
					label, cmp.Or(e.ProbeFrom, "an unknown vantage"), e.Probe)
				code = ExitFindings
			case e.Verdict == diagnose.VerdictUnknown && code == 0:
				fmt.Fprintf(w, "unknown now: %s\n", label)
				code = ExitInconclusive
			}
		}
	}
	if code == 0 {
		fmt.Fprintln(w, "Every targeted endpoint is reachable by configuration; probe from the gateway's side to confirm (gwdoctor diagnose --live --probe --probe-from gateway on a host in its vSwitch).")
	}
	return code
}

// applyResult is fix --apply -o json.
type applyResult struct {
	Plan     *fix.Plan           `json:"plan"`
	Outcomes []fix.Outcome       `json:"outcomes"`
	UndoFile string              `json:"undoFile"`
	Before   string              `json:"beforeSnapshot"`
	Summary  [2]diagnose.Summary `json:"summaryBeforeAfter"`
	Changes  []string            `json:"changes"`
}

func writeApplyJSON(w io.Writer, plan *fix.Plan, outcomes []fix.Outcome, undoPath, beforePath string, before, after *diagnose.Report) error {
	res := applyResult{Plan: plan, Outcomes: outcomes, UndoFile: undoPath, Before: beforePath,
		Summary: [2]diagnose.Summary{before.Summary, after.Summary},
		Changes: verify.Transitions(verify.Evaluate(nil, before), verify.Evaluate(nil, after))}
	if res.Changes == nil {
		res.Changes = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
