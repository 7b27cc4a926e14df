package procs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

// adopt adopts pid and registers a Close.
func adopt(t *testing.T, pid int) *Process {
	t.Helper()
	a, err := Adopt(pid, redistest.Logger(t))
	if err != nil {
		t.Fatalf("Adopt(%d): %v", pid, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestAdoptSeesExit(t *testing.T) {
	p := startHelper(t, nil, "sleep")
	a := adopt(t, p.PID())
	if !a.Adopted() || a.PID() != p.PID() {
		t.Errorf("Adopted() = %v, PID() = %d", a.Adopted(), a.PID())
	}
	if len(a.Tail()) != 0 || a.Exit() != (Exit{}) {
		t.Errorf("before exit: Tail() = %q, Exit() = %+v", a.Tail(), a.Exit())
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	e := waitDone(t, a)
	if e.Known || e.PID != p.PID() || e.Code != -1 || e.Signal != 0 || e.Time.IsZero() {
		t.Errorf("adopted Exit() = %+v", e)
	}
	if got := e.String(); got != "exited (status unknown: adopted process)" {
		t.Errorf("String() = %q", got)
	}
	if err := a.Signal(syscall.SIGTERM); !errors.Is(err, ErrExited) {
		t.Errorf("Signal() after exit = %v, want ErrExited", err)
	}
	for range 2 {
		if err := a.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	}
	if a.pidfd != -1 {
		t.Errorf("pidfd %d not released", a.pidfd)
	}
	if _, err := a.watch.f.SyscallConn(); err == nil {
		if err := a.watch.wait(); err == nil {
			t.Errorf("the exit watch still waits after Close")
		}
	}
}

func TestAdoptSignal(t *testing.T) {
	p := startHelper(t, nil, "sleep")
	waitLine(t, p, "ready")
	a := adopt(t, p.PID())
	if err := a.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if e := waitDone(t, p); e.Signal != syscall.SIGTERM {
		t.Errorf("child Exit() = %+v, want killed by SIGTERM", e)
	}
	if e := waitDone(t, a); e.Killed {
		t.Errorf("adopted Exit() = %+v after SIGTERM, want not Killed", e)
	}
}

// Stop of an adopted process that ignores SIGTERM escalates to SIGKILL,
// and its Exit says so (the only sign an adopted process did not exit by
// itself).
func TestAdoptStop(t *testing.T) {
	p := startHelper(t, nil, "ignoreterm")
	waitLine(t, p, "ready")
	a := adopt(t, p.PID())
	if e := a.Stop(50 * time.Millisecond); e.Known || e.PID != p.PID() || !e.Killed {
		t.Errorf("Stop() = %+v, want an unknown status, Killed", e)
	}
	if e := waitDone(t, p); e.Signal != syscall.SIGKILL {
		t.Errorf("real exit %s, want killed by SIGKILL", e)
	}
	waitLine(t, p, "ignoring SIGTERM")
}

func TestAdoptDeadPID(t *testing.T) {
	p := startHelper(t, nil, "exit", "0")
	waitDone(t, p) // reaped: the PID is free
	if a, err := Adopt(p.PID(), nil); !errors.Is(err, ErrNotRunning) {
		if a != nil {
			a.Close()
		}
		t.Errorf("Adopt(dead) = %v, want ErrNotRunning", err)
	}
	for _, pid := range []int{0, -1} {
		if _, err := Adopt(pid, nil); err == nil {
			t.Errorf("Adopt(%d) succeeded", pid)
		}
	}
}

func TestAdoptZombie(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = helperEnvFor("exit")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Wait() })
	pid := cmd.Process.Pid
	// A zombie leader whose other threads are still exiting is not yet
	// reported as exited by its pidfd: wait for the last thread.
	redistest.Eventually(t, waitTimeout, func() bool { return procState(pid) == "Z" && procThreads(pid) == 1 },
		"helper %d never became a zombie (state %q)", pid, procState(pid))
	if a, err := Adopt(pid, nil); !errors.Is(err, ErrNotRunning) {
		if a != nil {
			a.Close()
		}
		t.Errorf("Adopt(zombie) = %v, want ErrNotRunning", err)
	}
}

// Close before the exit stops the watch and never touches the process.
func TestAdoptCloseBeforeExit(t *testing.T) {
	p := startHelper(t, nil, "sleep")
	a := adopt(t, p.PID())
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	<-a.watchDone // the watcher goroutine has returned
	if err := a.Signal(syscall.SIGTERM); !errors.Is(err, ErrClosed) {
		t.Errorf("Signal() after Close = %v, want ErrClosed", err)
	}
	if err := a.Kill(); !errors.Is(err, ErrClosed) {
		t.Errorf("Kill() after Close = %v, want ErrClosed", err)
	}
	if e := a.Stop(waitTimeout); e != (Exit{}) {
		t.Errorf("Stop() after Close = %+v, want zero", e)
	}
	select {
	case <-a.Done():
		t.Error("Done closed without an exit")
	case <-p.Done():
		t.Errorf("process exited: %s", p.Exit())
	default:
	}
}

// procThreads returns the number of threads of pid (0 if gone).
func procThreads(pid int) int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	return len(tasks)
}
