package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
)

func init() { register("checks", newChecksCmd) }

// catalogEntry is one code of the catalog with the check that emits it.
type catalogEntry struct {
	Code       string           `json:"code"`
	Slug       string           `json:"slug"`
	Severities []string         `json:"severities"`
	Check      string           `json:"check"`
	Inputs     []diagnose.Input `json:"inputs"`
	Summary    string           `json:"summary"`
	Doc        string           `json:"doc,omitempty"`
}

// catalog joins the codes with the checks that emit them. GWD001 is the
// engine's own.
func catalog() []catalogEntry {
	byCode := map[string]*diagnose.Check{}
	for _, c := range checks.All() {
		for _, code := range c.Codes {
			byCode[code] = c
		}
	}
	out := make([]catalogEntry, 0, len(diagnose.Catalog))
	for _, code := range diagnose.Catalog {
		e := catalogEntry{Code: code.ID, Slug: code.Slug, Summary: code.Title, Inputs: []diagnose.Input{}}
		for _, s := range code.Severities {
			e.Severities = append(e.Severities, s.String())
		}
		if c := byCode[code.ID]; c != nil {
			e.Check, e.Inputs, e.Doc = c.Name, c.Requires, c.Doc
		} else if code.ID == diagnose.CodeCheckSkipped {
			e.Check = "(engine)"
		}
		out = append(out, e)
	}
	return out
}

func newChecksCmd(s *Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List every check and code of the catalog: severity, inputs, what it finds",
		Long: `Lists the catalog: each code (GWD…), its slug (the report's "check" field), its severity,
the inputs its check needs (a check whose inputs are missing is skipped and reported as
GWD001), and when it fires. Read one in full with: gwdoctor explain CODE|SLUG.`,
		Example: `  gwdoctor checks
  gwdoctor checks -o json | jq '.[] | select(.severities[0] == "error") | .slug'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries := catalog()
			switch strings.ToLower(output) {
			case "json":
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			case "text", "":
			default:
				return inputError(fmt.Errorf("unknown output format %q (want text or json)", output))
			}
			tw := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CODE\tSLUG\tSEVERITY\tINPUTS\tSUMMARY")
			for _, e := range entries {
				inputs := make([]string, len(e.Inputs))
				for i, in := range e.Inputs {
					inputs[i] = string(in)
				}
				in := strings.Join(inputs, ",")
				if in == "" {
					in = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Code, e.Slug, strings.Join(e.Severities, "/"), in, e.Summary)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err := fmt.Fprintln(s.Out, "\nRead one: gwdoctor explain CODE|SLUG (e.g. gwdoctor explain wrong-node)")
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
