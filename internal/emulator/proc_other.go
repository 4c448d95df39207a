//go:build !linux

package emulator

import "syscall"

// sysProcAttr: outside Linux there is no parent-death signal; an emulator
// may outlive a test binary that is killed.
func sysProcAttr() *syscall.SysProcAttr { return nil }
