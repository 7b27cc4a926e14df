package main

import (
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// child is a redis-server (or Sentinel) the bench runs itself, with no
// supervisor, in a process group of its own (so a ctrl-C at the terminal
// reaches the bench only, and the bench ends it). One goroutine waits for
// it and closes done when it has exited; nothing else calls Wait.
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
}

// startChild starts argv in dir, its output discarded (redis-server logs
// to the logfile of its config).
func startChild(argv []string, dir string) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	ch := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(ch.done)
	}()
	return ch, nil
}

// PID returns the child's process ID.
func (ch *child) PID() int { return ch.cmd.Process.Pid }

// exited reports whether the child has exited.
func (ch *child) exited() bool {
	select {
	case <-ch.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the child to exit.
func (ch *child) wait(timeout time.Duration) error {
	select {
	case <-ch.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("pid %d still running after %s", ch.PID(), timeout)
	}
}

// kill SIGKILLs the child unless it has exited (it is not reaped before
// done closes, so its PID cannot have been reused) and waits up to
// timeout for it to be gone.
func (ch *child) kill(timeout time.Duration) error {
	if !ch.exited() {
		_ = ch.cmd.Process.Signal(syscall.SIGKILL)
	}
	return ch.wait(timeout)
}
