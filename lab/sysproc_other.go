//go:build !linux

package lab

import "syscall"

// The lab runs on Linux only; elsewhere Up fails on the missing tools.
func helperSysProcAttr(detach bool) *syscall.SysProcAttr { return nil }
