package console_test

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the demo server die with the test binary, even when
// the binary is killed (go test's timeout) before TestMain can stop it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
