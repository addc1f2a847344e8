package cli

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	saved := readBuildInfo
	t.Cleanup(func() { readBuildInfo = saved })
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.7", Main: debug.Module{Path: "github.com/gwdoctor/gwdoctor", Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-28T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	want := "gwdoctor v1.4.0, revision 0123abcd (modified) of 2026-11-28T10:00:00Z, go1.26.7\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errw := run(t, "", args...)
		if code != ExitOK || out != want {
			t.Errorf("gwdoctor %v: exit %d, out %q, stderr %q; want %q", args, code, out, errw, want)
		}
	}
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.7", Main: debug.Module{Path: "github.com/gwdoctor/gwdoctor", Version: "(devel)"}}, true
	}
	if got := versionText(); got != "gwdoctor (devel), go1.26.7" {
		t.Errorf("without VCS information: %q", got)
	}
	readBuildInfo = saved
	// The real build information of this test binary names the module.
	if got := versionText(); !strings.HasPrefix(got, "gwdoctor ") || !strings.Contains(got, "go1.") {
		t.Errorf("real build info: %q", got)
	}
}
