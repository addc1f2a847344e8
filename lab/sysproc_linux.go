package lab

import "syscall"

// helperSysProcAttr: a detached helper gets its own session so it outlives
// the command that started it; an attached one dies with its parent, even
// when the parent is killed outright.
func helperSysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
