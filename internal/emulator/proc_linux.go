package emulator

import "syscall"

// sysProcAttr puts the emulator in its own process group and has the kernel
// kill it when the thread that started it (kept alive for the child's
// lifetime, see run) ends, i.e. when the test binary exits, however it exits.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
