package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// launched is a supervisor under test, running under the reaper (see
// reap) in a process group of its own.
type launched struct {
	PID    int // the supervisor's PID (not the reaper's)
	reaper *exec.Cmd
	log    *os.File

	exited     chan struct{} // closed when the supervisor has exited
	exitStatus string        // set before exited closes
	reaperDone chan struct{} // closed when the reaper has exited
}

// launch starts argv under the reaper, in a new process group, with its
// output appended to logPath. It returns once the supervisor runs.
func launch(argv []string, logPath string) (*launched, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", argv[0], err)
	}
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", argv[0], err)
	}
	cmd := exec.Command(self, argv...)
	cmd.Env = append(os.Environ(), reaperEnv+"=1")
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("launch %s: %w", argv[0], err)
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("launch %s: %w", argv[0], err)
	}
	l := &launched{reaper: cmd, log: log, exited: make(chan struct{}), reaperDone: make(chan struct{})}
	pids := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
				n, _ := strconv.Atoi(v)
				pids <- n
			}
			if v, ok := strings.CutPrefix(sc.Text(), "exit "); ok {
				l.exitStatus = v
				close(l.exited)
			}
		}
		close(pids)
		_ = cmd.Wait()
		log.Close()
		close(l.reaperDone)
	}()
	select {
	case pid, ok := <-pids:
		if !ok || pid <= 0 {
			<-l.reaperDone
			return nil, fmt.Errorf("launch %s: it did not start: %s", argv[0], tailFile(logPath, 3))
		}
		l.PID = pid
		return l, nil
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-l.reaperDone
		return nil, fmt.Errorf("launch %s: no answer from the reaper in 10s", argv[0])
	}
}

// Exited reports whether the supervisor has exited.
func (l *launched) Exited() bool {
	select {
	case <-l.exited:
		return true
	default:
		return false
	}
}

// stop ends the supervisor: SIGTERM and up to grace for it to exit when
// grace > 0, then SIGKILL. It returns its exit status.
func (l *launched) stop(grace time.Duration) (string, error) {
	if grace > 0 && !l.Exited() {
		_ = syscall.Kill(l.PID, syscall.SIGTERM)
		select {
		case <-l.exited:
		case <-time.After(grace):
		}
	}
	if !l.Exited() {
		_ = syscall.Kill(l.PID, syscall.SIGKILL)
		select {
		case <-l.exited:
		case <-time.After(10 * time.Second):
			return "", fmt.Errorf("stop pid %d: still running 10s after SIGKILL", l.PID)
		}
	}
	return l.exitStatus, nil
}

// finish waits for the reaper to exit once every process under it is
// gone; after timeout it SIGKILLs the reaper's whole process group.
func (l *launched) finish(timeout time.Duration) error {
	select {
	case <-l.reaperDone:
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-l.reaper.Process.Pid, syscall.SIGKILL)
	select {
	case <-l.reaperDone:
		return errors.New("reaper did not exit by itself: killed its process group")
	case <-time.After(10 * time.Second):
		return fmt.Errorf("reaper pid %d does not exit", l.reaper.Process.Pid)
	}
}

// ReaperPID returns the reaper's PID: the parent of every orphan the
// supervisor leaves.
func (l *launched) ReaperPID() int { return l.reaper.Process.Pid }

// tailFile returns the last n lines of a file, joined by " | ".
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
