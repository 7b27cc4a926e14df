package procs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// RunState is a process's scheduling state, as the third field of
// /proc/PID/stat gives it: 'R' running, 'S' sleeping, 'D' in uninterruptible
// sleep (disk), 'T' stopped by a signal, 't' stopped by a tracer, 'Z'
// zombie (exited, not reaped yet), 'X' dead.
type RunState byte

// Stopped reports whether the process is stopped (SIGSTOP, a tracer): it
// runs no code until resumed, so it cannot answer anything.
func (s RunState) Stopped() bool { return s == 'T' || s == 't' }

// Gone reports whether the process has exited (zombie or dead).
func (s RunState) Gone() bool { return s == 'Z' || s == 'X' }

// StateOf reads the state of pid from /proc/PID/stat. A process that no
// longer exists is reported as 'X' with no error.
func StateOf(pid int) (RunState, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if os.IsNotExist(err) {
		return 'X', nil
	}
	if err != nil {
		return 0, fmt.Errorf("read state of pid %d: %w", pid, err)
	}
	// "PID (COMM) S ...": COMM may hold spaces and parentheses, so the
	// state follows the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, fmt.Errorf("read state of pid %d: malformed /proc/%d/stat", pid, pid)
	}
	return RunState(b[i+2]), nil
}
