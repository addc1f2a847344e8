package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gwdoctor/gwdoctor/checks"
)

func init() { register("explain", newExplainCmd) }

func newExplainCmd(s *Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "explain CODE|SLUG",
		Short: "Explain a finding code: symptom, cause, how gwdoctor detects it, and the fix",
		Long: `Prints the FAQ-style article for a catalog code, by ID (GWD102, case-insensitive) or slug
(wrong-node): the symptom you see, why it happens, how gwdoctor decides, and the fix with
console steps and commands. gwdoctor checks lists every code.`,
		Example: `  gwdoctor explain wrong-node
  gwdoctor explain GWD104`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("explain needs exactly one CODE or SLUG (see gwdoctor checks)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			a, code, ok := checks.ArticleFor(args[0])
			if !ok {
				msg := fmt.Sprintf("unknown code or slug %q", args[0])
				if sug := checks.Suggest(args[0], 3); len(sug) > 0 {
					msg += "; did you mean: " + strings.Join(sug, ", ") + "?"
				}
				return inputError(fmt.Errorf("%s (gwdoctor checks lists every code)", msg))
			}
			_, err := fmt.Fprint(s.Out, a.Text(code))
			return err
		},
	}
}
