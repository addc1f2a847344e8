package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func init() { register("version", newVersionCmd) }

// readBuildInfo is debug.ReadBuildInfo, replaceable in tests.
var readBuildInfo = debug.ReadBuildInfo

// versionText is what gwdoctor version and --version print: the module
// version (a tag with go install …@v1.2.3, "(devel)" in a clone), the VCS
// revision and time when the build recorded them, and the Go version.
func versionText() string {
	bi, ok := readBuildInfo()
	if !ok {
		return "gwdoctor (no build information: built without module support)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var b strings.Builder
	fmt.Fprintf(&b, "gwdoctor %s", version)
	if rev := settings["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, ", revision %s", rev)
		if settings["vcs.modified"] == "true" {
			b.WriteString(" (modified)")
		}
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(&b, " of %s", t)
		}
	}
	fmt.Fprintf(&b, ", %s", bi.GoVersion)
	return b.String()
}

func newVersionCmd(s *Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print gwdoctor's version and VCS revision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(s.Out, versionText())
			return err
		},
	}
}
