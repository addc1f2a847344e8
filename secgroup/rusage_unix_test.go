//go:build unix

package secgroup

import (
	"syscall"
	"time"
)

// processCPU is the process's user+system CPU time: steadier than wall time
// on a machine shared with other builds.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
