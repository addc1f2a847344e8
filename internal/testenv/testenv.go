// Package testenv decides whether tests that need root, network namespaces,
// nftables or tmux run here. On a developer laptop they skip with the reason;
// where GWDOCTOR_REQUIRE_PRIVILEGED is set (CI sets it) they fail instead, so
// they always run in CI.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the variable CI sets to turn skips into failures.
const RequireEnv = "GWDOCTOR_REQUIRE_PRIVILEGED"

// Required reports whether skips must become failures.
func Required() bool { return os.Getenv(RequireEnv) != "" }

// Skip skips the test with reason, or fails it when CI requires it to run.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is set, so this test must run, but: %s", RequireEnv, reason)
	}
	t.Skip(reason)
}

// NeedRoot skips (or fails in CI) unless running as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root (network namespaces and nftables); run as root or in CI")
	}
}

// NeedTools skips (or fails in CI) unless every named program is on PATH.
func NeedTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			Skip(t, tool+" is not installed (apt-get install -y "+debianPackage(tool)+")")
		}
	}
}

// NeedNetns skips (or fails in CI) unless root with ip and nft available.
func NeedNetns(t testing.TB) {
	t.Helper()
	NeedRoot(t)
	NeedTools(t, "ip", "nft")
}

func debianPackage(tool string) string {
	switch tool {
	case "ip":
		return "iproute2"
	case "nft":
		return "nftables"
	case "diff":
		return "diffutils"
	case "xmllint":
		return "libxml2-utils"
	}
	return tool
}
