//go:build !unix

package demo

import "syscall"

func reusePort(_, _ string, _ syscall.RawConn) error { return nil }
