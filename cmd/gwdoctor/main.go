// Command gwdoctor diagnoses why an Alibaba Cloud MSE cloud-native gateway
// cannot reach its backends. The commands live in internal/cli.
package main

import (
	"os"
	"runtime/debug"

	"github.com/gwdoctor/gwdoctor/internal/cli"
)

// GC policy for a short-lived, allocation-heavy run (a 100,000-endpoint
// estate allocates about a GB and keeps 200–400 MB live): collect half as
// often as Go's default, and keep a soft limit as a backstop on runaway
// estates. The limit sits well above the live heap of the benchmarks'
// 100k estates: at 384 MiB the bad-day estate spent 3× the CPU in a GC
// spiral (BENCHMARKS.md). Whatever the user sets in GOGC or GOMEMLIMIT wins.
const (
	defaultGCPercent   = 200
	defaultMemoryLimit = 1 << 30
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
