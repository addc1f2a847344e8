package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/internal/redact"
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

The file is YAML when FILE ends in .yaml or .yml, JSON otherwise; "-o -" writes JSON
to standard output.

Exit codes: 0 complete snapshot; 2 usage or input error (no gateway, no
credentials); 3 partial snapshot (written; failures on standard error).`,
		Example: `  export ALIBABA_CLOUD_ACCESS_KEY_ID=… ALIBABA_CLOUD_ACCESS_KEY_SECRET=…
  gwdoctor snapshot --live --region cn-hangzhou --gateway gw-3f9a --context prod -o before.json
  gwdoctor snapshot --live --profile ops --gateway gw-3f9a --redact -o share.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !isLive {
				return inputError(errors.New("snapshot reads the live account: add --live (and --gateway, --region)"))
			}
			if out == "" {
				return inputError(errors.New("-o FILE is required (- for standard output)"))
			}
			if redactMap != "" && !doRedact {
				return inputError(errors.New("--redact-map needs --redact"))
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
					if werr := writeJSONFile(redactMap, m.Mapping()); werr != nil {
						return inputError(fmt.Errorf("writing --redact-map: %v", werr))
					}
				}
				if err != nil {
					// The printed failures quote ids too: print the redacted ones.
					err = missingAsError(snap)
				}
			}
			data, merr := encodeSnapshot(snap, out)
			if merr != nil {
				return merr
			}
			if out == "-" {
				_, werr := s.Out.Write(data)
				if werr != nil {
					return werr
				}
			} else if werr := writeFileAtomic(out, data); werr != nil {
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
	f.StringVarP(&out, "output", "o", "", "write the snapshot to FILE (.yaml/.yml: YAML, else JSON; - for standard output)")
	f.BoolVar(&doRedact, "redact", false, "replace account-specific ids and names with stable placeholders (IPs and CIDRs are kept)")
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
	return fmt.Sprintf("%d services, %d endpoints, %d nodes, %d security groups, %d authorizations",
		len(s.Services), eps, len(s.Nodes), len(s.SecurityGroups), len(s.Gateway.Authorizations))
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

func encodeSnapshot(s *snapshot.Snapshot, path string) ([]byte, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		b, err := yaml.MarshalWithOptions(s, yaml.UseLiteralStyleIfMultiline(true))
		if err != nil {
			return nil, fmt.Errorf("encoding the snapshot as YAML: %v", err)
		}
		return b, nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the snapshot as JSON: %v", err)
	}
	return append(b, '\n'), nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes through a temporary file and a rename, so an
// interrupted run never leaves half a snapshot where a good one was.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".gwdoctor-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, strings.NewReader(string(data))); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
