package procs

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Exit describes how a process ended. It is a plain value, safe to copy.
type Exit struct {
	PID    int
	Code   int            // exit status; -1 when killed by a signal or unknown
	Signal syscall.Signal // the signal that killed it, 0 if none
	Known  bool           // false for an adopted process (no wait status can be had), or if wait failed
	Killed bool           // Kill (or Stop after its timeout) sent it SIGKILL: for an adopted process the only sign it did not exit by itself
	Time   time.Time      // when the exit was observed
}

// String describes the exit for logs and alerts: "exit status 1",
// "killed by signal SIGKILL", "exited (status unknown: adopted process)".
func (e Exit) String() string {
	switch {
	case !e.Known:
		return "exited (status unknown: adopted process)"
	case e.Signal != 0:
		return "killed by signal " + signalName(e.Signal)
	case e.Code >= 0:
		return fmt.Sprintf("exit status %d", e.Code)
	default:
		return "exit status unknown"
	}
}

// Success reports whether the process exited on its own with status 0.
func (e Exit) Success() bool {
	return e.Known && e.Signal == 0 && e.Code == 0
}

func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// exitFromState converts the wait status of a reaped child.
func exitFromState(pid int, state *os.ProcessState, at time.Time) Exit {
	e := Exit{PID: pid, Code: -1, Time: at}
	if state == nil {
		return e
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	if !ok {
		return e
	}
	e.Known = true
	switch {
	case ws.Signaled():
		e.Signal = ws.Signal()
	case ws.Exited():
		e.Code = ws.ExitStatus()
	}
	return e
}
