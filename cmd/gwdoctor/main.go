// Command gwdoctor diagnoses why an Alibaba Cloud MSE cloud-native gateway
// cannot reach its backends. The commands live in internal/cli.
package main

import (
	"os"
	"runtime/debug"

	"github.com/gwdoctor/gwdoctor/internal/cli"
)

// GC policy for a short-lived, allocation-heavy run (a 100,000-endpoint
// estate allocates a few hundred MB and keeps ~150 MB live): collect less
// often than Go's default while the heap is small, and hold the heap under
// a soft limit so peak memory stays bounded on large estates. Whatever the
// user sets in GOGC or GOMEMLIMIT wins.
const (
	defaultGCPercent   = 200
	defaultMemoryLimit = 384 << 20
)

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
