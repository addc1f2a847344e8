package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/internal/redact"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func init() { register("snapshot", newSnapshotCmd) }

func newSnapshotCmd(s *Streams) *cobra.Command {
	var (
		live      liveFlags
		isLive    bool
		out       string
		doRedact  bool
		redactMap string
		ramPolicy bool
	)
	cmd := &cobra.Command{
		Use:   "snapshot --live -o FILE",
		Short: "Capture the gateway, its security groups and backends into a snapshot file",
		Long: `snapshot reads the MSE gateway, its security-group authorizations, the security
groups and network interfaces of its backends (ECS), the ACK node pools, and where
each backend pod runs (Kubernetes), and writes them as a v1 snapshot: a baseline for
"gwdoctor diff", evidence to attach to an incident, or input for "gwdoctor diagnose FILE".

Every call is read-only. A part that cannot be read (a missing RAM permission, a
throttled API, a forbidden namespace) is recorded in the snapshot's "missing" list,
every failure is printed, and the exit code is 3; the snapshot is still written.

The file is JSON when FILE ends in .json, YAML when it ends in .yaml or .yml; "-o -"
writes JSON to standard output.

"gwdoctor snapshot --ram-policy" prints the read-only RAM policy to attach to the
RAM user or role gwdoctor runs as.

Exit codes: 0 complete snapshot; 2 usage or input error (no gateway, no
credentials); 3 partial snapshot (written; failures on standard error).`,
		Example: `  export ALIBABA_CLOUD_ACCESS_KEY_ID=… ALIBABA_CLOUD_ACCESS_KEY_SECRET=…
  gwdoctor snapshot --live --region cn-hangzhou --gateway gw-3f9a --context prod -o before.json
  gwdoctor snapshot --live --profile ops --gateway gw-3f9a --redact -o share.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ramPolicy {
				fmt.Fprintln(s.Out, aliyun.RAMPolicy())
				return nil
			}
			if !isLive {
				return inputError(errors.New("snapshot reads the live account: add --live (and --gateway, --region)"))
			}
			if out == "" {
				return inputError(errors.New("-o FILE is required (- for standard output)"))
			}
			if redactMap != "" && !doRedact {
				return inputError(errors.New("--redact-map needs --redact"))
			}
			if out != "-" {
				if _, ferr := snapshot.FormatForPath(out); ferr != nil {
					return inputError(ferr)
				}
			}
			progress, stop := startSpinner(s.Err)
			snap, err := live.collect(cmd.Context(), progress)
			stop()
			if snap == nil {
				return err
			}
			if doRedact {
				m := redact.New()
				snap = m.Snapshot(snap)
				if redactMap != "" {
					if werr := writePrivateJSON(redactMap, m.Mapping()); werr != nil {
						return inputError(fmt.Errorf("writing --redact-map: %v", werr))
					}
				}
				if err != nil {
					// The printed failures quote ids too: print the redacted ones.
					err = missingAsError(snap)
				}
			}
			if out == "-" {
				data, merr := snapshot.Marshal(snap, snapshot.JSON)
				if merr != nil {
					return merr
				}
				if _, werr := s.Out.Write(data); werr != nil {
					return werr
				}
			} else if werr := snapshot.Save(out, snap); werr != nil {
				return inputError(fmt.Errorf("writing %s: %v", out, werr))
			}
			summary := summarize(snap)
			if err != nil {
				var merr *multierror.Error
				n := 1
				if errors.As(err, &merr) {
					n = len(merr.Errors)
					for _, e := range merr.Errors {
						fmt.Fprintf(s.Err, "gwdoctor: %v\n", e)
					}
				} else {
					fmt.Fprintf(s.Err, "gwdoctor: %v\n", err)
				}
				fmt.Fprintf(s.Err, "snapshot is PARTIAL: %d part(s) could not be read (listed under \"missing\"); wrote %s: %s\n", n, displayName(out), summary)
				return &ExitError{Code: ExitInconclusive}
			}
			fmt.Fprintf(s.Err, "wrote %s: %s\n", displayName(out), summary)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&isLive, "live", false, "read the live account and cluster (required)")
	f.StringVarP(&out, "output", "o", "", "write the snapshot to FILE (.json, .yaml or .yml; - for JSON on standard output)")
	f.BoolVar(&doRedact, "redact", false, "replace account-specific ids and names with stable placeholders (IPs and CIDRs are kept)")
	f.BoolVar(&ramPolicy, "ram-policy", false, "print the read-only RAM policy that allows every call gwdoctor makes, and exit")
	f.StringVar(&redactMap, "redact-map", "", "with --redact: write the original → placeholder mapping to this JSON file (keep it private)")
	live.register(f)
	return cmd
}

func displayName(path string) string {
	if path == "-" {
		return "standard output"
	}
	return path
}

func summarize(s *snapshot.Snapshot) string {
	eps := 0
	for _, sv := range s.Services {
		eps += len(sv.Endpoints)
	}
	return strings.Join([]string{words.Count(len(s.Services), "service", "services"), words.Count(eps, "endpoint", "endpoints"),
		words.Count(len(s.Nodes), "node", "nodes"), words.Count(len(s.SecurityGroups), "security group", "security groups"),
		words.Count(len(s.Gateway.Authorizations), "authorization", "authorizations")}, ", ")
}

// missingAsError rebuilds the failure list from a (redacted) snapshot.
func missingAsError(s *snapshot.Snapshot) error {
	var errs *multierror.Error
	for _, m := range s.Missing {
		what := m.Part
		if len(m.IDs) > 0 {
			what += " (" + strings.Join(m.IDs, ", ") + ")"
		}
		errs = multierror.Append(errs, fmt.Errorf("%s not collected: %s", what, m.Error))
	}
	return errs.ErrorOrNil()
}

// writePrivateJSON writes v readable by the owner only: the redaction
// mapping is the key to the account's ids.
func writePrivateJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
