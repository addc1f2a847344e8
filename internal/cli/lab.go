package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/internal/words"
	"github.com/gwdoctor/gwdoctor/lab"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func init() { register("lab", newLabCmd) }

// defaultLabPrefix names the namespaces of `gwdoctor lab up` when --prefix
// is not given: gwlab-gw, gwlab-br, gwlab-n0, …
const defaultLabPrefix = "gwlab-"

// labStateDir holds one state file per lab (and its helpers' log); tests
// point it elsewhere.
var labStateDir = "/run/gwdoctor-lab"

// labExecEnv is set, to the lab's prefix, for commands run by lab exec.
const labExecEnv = "GWDOCTOR_LAB"

// labInterrupted is the exit code of an interrupted lab up, as a shell's
// for SIGINT.
const labInterrupted = ExitInterrupted

// labGeteuid is os.Geteuid, replaceable in tests of the root check.
var labGeteuid = os.Geteuid

// labState is what `lab up` records so `down`, `exec` and `status` work
// from any later shell.
type labState struct {
	lab.Info
	Snapshot string `json:"snapshot"`
	// Emulated is the snapshot the lab runs (gateway addresses filled in
	// when the input had none): diagnose it from inside the lab.
	Emulated  string    `json:"emulated"`
	CreatedAt time.Time `json:"createdAt"`
}

func newLabCmd(s *Streams) *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Emulate a snapshot locally with real packet filtering, to rehearse a fix (Linux, root)",
		Long: `gwdoctor lab brings a snapshot up on this machine: a network namespace for the
gateway (holding its addresses), one per node (holding its ENIs' IPs and the pod IPs
routed to it), joined by a bridge; every ENI's security groups compiled straight from
the snapshot into nftables; a TCP listener on every ready endpoint. Nothing is added to
the host's own network namespace.

Rehearse a fix: edit the snapshot, run "gwdoctor lab up FILE" again (it replaces the
running lab), and probe from the gateway's side:

  gwdoctor lab up incident.yaml
  gwdoctor lab exec -- gwdoctor diagnose /run/gwdoctor-lab/gwlab-.snapshot.yaml --probe
  gwdoctor lab down

Needs root, iproute2 and nftables. Several labs can run side by side with --prefix.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&prefix, "prefix", defaultLabPrefix, "name prefix of the lab's namespaces (lowercase letters, digits, dashes; at most 16)")
	cmd.AddCommand(newLabUpCmd(s, &prefix), newLabDownCmd(s, &prefix), newLabExecCmd(s, &prefix), newLabStatusCmd(s, &prefix), newLabFixCmd(s, &prefix))
	return cmd
}

// labPreflight checks what every lab command needs: root and a usable prefix.
func labPreflight(prefix string) error {
	if err := lab.CheckPrefix(prefix); err != nil {
		return inputError(fmt.Errorf("--prefix: %w", err))
	}
	if labGeteuid() != 0 {
		return inputError(errors.New("gwdoctor lab needs root (it creates network namespaces and nftables rules): run it with sudo"))
	}
	return nil
}

func labStatePath(prefix string) string { return filepath.Join(labStateDir, prefix+".json") }

func newLabUpCmd(s *Streams, prefix *string) *cobra.Command {
	return &cobra.Command{
		Use:   "up FILE",
		Short: "Bring a snapshot up as a local lab (replaces a lab with the same prefix)",
		Example: `  gwdoctor lab up testdata/scenarios/wrong-node.yaml
  gwdoctor lab up --prefix rehearsal- fixed.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Input first (prefix, snapshot, what the lab can emulate), then
			// what the machine lacks: a bad snapshot is reported the same
			// everywhere.
			if err := lab.CheckPrefix(*prefix); err != nil {
				return inputError(fmt.Errorf("--prefix: %w", err))
			}
			snap, err := loadSnapshot(cmd.Context(), args[0], s.In)
			if err != nil {
				return inputError(err)
			}
			if err := lab.Validate(snap); err != nil {
				return inputError(fmt.Errorf("%s: %w", args[0], err))
			}
			if err := labPreflight(*prefix); err != nil {
				return err
			}
			if err := lab.CheckTools(); err != nil {
				return inputError(err)
			}
			if err := os.MkdirAll(labStateDir, 0o755); err != nil {
				return err
			}
			logPath := filepath.Join(labStateDir, *prefix+".log")
			logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			defer logFile.Close()
			// Replace the previous lab of this prefix: its state goes with it.
			os.Remove(labStatePath(*prefix))
			l, err := lab.Up(cmd.Context(), snap, lab.Options{Prefix: *prefix, Replace: true, Detach: true, HelperLog: logFile})
			if err != nil {
				removeLabState(*prefix)
				switch {
				case errors.Is(err, lab.ErrCannotEmulate):
					return inputError(fmt.Errorf("%s: %w", args[0], err))
				case cmd.Context().Err() != nil:
					return &ExitError{Code: labInterrupted, Err: err}
				}
				return err
			}
			st := labState{Info: l.Info(), CreatedAt: time.Now().UTC()}
			if st.Snapshot, err = filepath.Abs(args[0]); err != nil {
				st.Snapshot = args[0]
			}
			st.Emulated = filepath.Join(labStateDir, *prefix+".snapshot.yaml")
			err = snapshot.Save(st.Emulated, l.Snapshot())
			if err == nil {
				err = writeLabState(st)
			}
			if err != nil {
				// A lab nobody can find again must not stay up.
				return errors.Join(err, l.Close())
			}
			if ctxErr := cmd.Context().Err(); ctxErr != nil {
				return &ExitError{Code: labInterrupted, Err: errors.Join(
					fmt.Errorf("lab: interrupted (%w); everything it had made is removed", ctxErr), l.Close(), removeLabState(*prefix))}
			}
			printLab(s.Out, st)
			return nil
		},
	}
}

func newLabDownCmd(s *Streams, prefix *string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Tear a lab down: its helpers, namespaces, interfaces and state",
		Long: `Tear a lab down: stop its listeners, delete its namespaces (and with them every
interface and ruleset), remove its state file. Works for a lab whose "up" crashed too:
everything named with the prefix goes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := labPreflight(*prefix); err != nil {
				return err
			}
			// Not the command's context: an interrupted teardown leaves debris.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			names, err := lab.Namespaces(ctx, *prefix)
			if err != nil {
				return err
			}
			_, stateErr := os.Stat(labStatePath(*prefix))
			if len(names) == 0 && stateErr != nil {
				fmt.Fprintf(s.Out, "no lab with prefix %s is up\n", *prefix)
				return nil
			}
			if err := lab.Down(ctx, *prefix); err != nil {
				return err
			}
			if err := removeLabState(*prefix); err != nil {
				return err
			}
			shown := names
			if len(shown) > 6 {
				shown = append(shown[:6:6], "…")
			}
			fmt.Fprintf(s.Out, "lab %s is down: removed %s (%s)\n", *prefix, words.Count(len(names), "namespace", "namespaces"), strings.Join(shown, ", "))
			return nil
		},
	}
}

func newLabExecCmd(s *Streams, prefix *string) *cobra.Command {
	return &cobra.Command{
		Use:   "exec [--prefix P] -- CMD [ARG...]",
		Short: "Run a command inside the lab's gateway namespace (as the gateway)",
		Example: `  gwdoctor lab exec -- gwdoctor probe 10.1.1.10:8080
  gwdoctor lab exec -- gwdoctor diagnose /run/gwdoctor-lab/gwlab-.snapshot.yaml --probe
  gwdoctor lab exec -- bash`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := lab.CheckPrefix(*prefix); err != nil {
				return inputError(fmt.Errorf("--prefix: %w", err))
			}
			gw := *prefix + "gw"
			names, err := lab.Namespaces(cmd.Context(), *prefix)
			if err != nil {
				return err
			}
			if !slices.Contains(names, gw) {
				return inputError(fmt.Errorf("no lab with prefix %s is up (namespace %s does not exist): run %s lab up --prefix %s FILE first", *prefix, gw, selfCommand(), *prefix))
			}
			if err := labPreflight(*prefix); err != nil {
				return err
			}
			if err := lab.CheckTools(); err != nil {
				return inputError(err)
			}
			c := exec.Command("ip", append([]string{"netns", "exec", gw}, resolveSelf(args)...)...)
			c.Stdin, c.Stdout, c.Stderr = s.In, s.Out, s.Err
			// Tells the command where it runs (e.g. to label its probes as
			// the gateway's vantage point).
			c.Env = append(os.Environ(), labExecEnv+"="+*prefix)
			err = c.Run()
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				// The command's own exit code, as from a shell; it has
				// already said what went wrong.
				code := exitErr.ExitCode()
				if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					code = 128 + int(ws.Signal())
				}
				return &ExitError{Code: code}
			}
			return err
		},
	}
}

func newLabStatusCmd(s *Streams, prefix *string) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the labs that are up, their endpoints, and any leftovers",
		Long: `Show every lab that is up (only --prefix's when given): its snapshot, namespaces,
addresses, endpoints with their listeners, and whether every namespace and listener
is still there. Labs that nothing recorded (a crashed "lab up", a killed test run)
are listed with the command that removes them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return inputError(fmt.Errorf("-o %q: want text or json", output))
			}
			if err := labPreflight(*prefix); err != nil {
				return err
			}
			states, err := readLabStates(*prefix, cmd.Flags().Changed("prefix"))
			if err != nil {
				return err
			}
			type labStatus struct {
				labState
				Missing  []string `json:"missingNamespaces,omitempty"`
				DeadPIDs []int    `json:"deadHelperPids,omitempty"`
				Healthy  bool     `json:"healthy"`
			}
			var out []labStatus
			known := map[string]bool{}
			for _, st := range states {
				ls := labStatus{labState: st}
				names, err := lab.Namespaces(cmd.Context(), st.Prefix)
				if err != nil {
					return err
				}
				for _, n := range st.Namespaces {
					known[n] = true
					if !slices.Contains(names, n) {
						ls.Missing = append(ls.Missing, n)
					}
				}
				for _, pid := range st.HelperPIDs {
					if syscall.Kill(pid, 0) != nil {
						ls.DeadPIDs = append(ls.DeadPIDs, pid)
					}
				}
				ls.Healthy = len(ls.Missing) == 0 && len(ls.DeadPIDs) == 0
				out = append(out, ls)
			}
			// Labs nothing recorded: a crashed up, or a test run's.
			var leftovers []string
			all, err := lab.Labs(cmd.Context())
			if err != nil {
				return err
			}
			for _, p := range all {
				if !known[p+"gw"] {
					leftovers = append(leftovers, p)
				}
			}
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Labs      []labStatus `json:"labs"`
					Leftovers []string    `json:"leftoverLabs"`
				}{out, leftovers})
			}
			if len(out) == 0 {
				fmt.Fprintln(s.Out, "no lab is up")
			}
			for _, ls := range out {
				printLab(s.Out, ls.labState)
				switch {
				case ls.Healthy:
					fmt.Fprintln(s.Out, "health: every namespace and listener is up")
				default:
					fmt.Fprintf(s.Out, "health: BROKEN: missing namespaces %v, helpers gone %v: run gwdoctor lab up again or gwdoctor lab down --prefix %s\n", ls.Missing, ls.DeadPIDs, ls.Prefix)
				}
				fmt.Fprintln(s.Out)
			}
			for _, p := range leftovers {
				fmt.Fprintf(s.Out, "leftover lab %s with no state (a crashed run?): remove it with gwdoctor lab down --prefix %s\n", p, p)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func printLab(w io.Writer, st labState) {
	fmt.Fprintf(w, "lab %s: %s (up since %s)\n", st.Prefix, st.Snapshot, st.CreatedAt.Format(time.RFC3339))
	fmt.Fprintf(w, "gateway: namespace %s, addresses %s\n", st.GatewayNamespace, strings.Join(st.GatewayAddresses, ", "))
	for _, n := range st.Nodes {
		fmt.Fprintf(w, "node %s: namespace %s, addresses %s\n", n.Name, n.Namespace, strings.Join(n.Addresses, ", "))
	}
	for _, note := range st.Notes {
		fmt.Fprintf(w, "note: %s\n", note)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tENDPOINT\tNODE\tENI\tLISTENER\tNOTE")
	for _, e := range st.Endpoints {
		listener := "listening"
		if !e.Ready {
			listener = "none (not ready)"
		} else if !e.Listening {
			listener = "none"
		}
		fmt.Fprintf(tw, "%s\t%s:%d\t%s\t%s\t%s\t%s\n", e.Service, e.IP, e.Port, orDash(e.Node), orDash(e.ENI), listener, e.NotComparable)
	}
	tw.Flush()
	// sudo resets PATH, so the hint names this executable by its path:
	// it then runs as typed, as root or not.
	sudo := ""
	if os.Getenv("SUDO_USER") != "" {
		sudo = "sudo " // the user is not root; the lab needs it
	}
	fmt.Fprintf(w, "probe as the gateway: %s%s lab exec --prefix %s -- gwdoctor diagnose %s --probe\n",
		sudo, selfCommand(), shellQuote(st.Prefix), shellQuote(st.Emulated))
}

// selfExecutable is os.Executable, replaceable in tests.
var selfExecutable = os.Executable

// selfCommand is how a shell runs this gwdoctor: its absolute path, quoted
// for a POSIX shell ("gwdoctor" when it cannot be found).
func selfCommand() string {
	exe, err := selfExecutable()
	if err != nil || !filepath.IsAbs(exe) {
		return "gwdoctor"
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		// go run's binary is deleted when it exits.
		return "go run ./cmd/gwdoctor"
	}
	return shellQuote(exe)
}

// resolveSelf replaces a leading bare "gwdoctor" in a lab exec command with
// this executable, so the command runs where sudo has reset PATH (and runs
// the same version that built the lab).
func resolveSelf(args []string) []string {
	if len(args) == 0 || args[0] != "gwdoctor" {
		return args
	}
	exe, err := selfExecutable()
	if err != nil || !filepath.IsAbs(exe) {
		return args
	}
	return append([]string{exe}, args[1:]...)
}

// shellQuote makes s one word for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=@+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeLabState(st labState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := labStatePath(st.Prefix) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, labStatePath(st.Prefix))
}

func removeLabState(prefix string) error {
	var errs []error
	for _, suffix := range []string{".json", ".snapshot.yaml", ".log"} {
		if err := os.Remove(filepath.Join(labStateDir, prefix+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readLabStates reads the state of one prefix, or of every lab.
func readLabStates(prefix string, only bool) ([]labState, error) {
	var paths []string
	if only {
		paths = []string{labStatePath(prefix)}
	} else {
		paths, _ = filepath.Glob(filepath.Join(labStateDir, "*.json"))
	}
	var states []labState
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var st labState
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("%s: not a lab state file: %v", p, err)
		}
		states = append(states, st)
	}
	sort.Slice(states, func(i, j int) bool { return states[i].Prefix < states[j].Prefix })
	return states, nil
}
