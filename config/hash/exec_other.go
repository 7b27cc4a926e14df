//go:build !unix

package hash

import "os/exec"

// killGroupOnCancel leaves cmd as it is: without process groups only the
// program itself is killed when its context is cancelled.
func killGroupOnCancel(cmd *exec.Cmd) {}
