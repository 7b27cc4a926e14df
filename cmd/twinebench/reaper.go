package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaperEnv, set to "1", makes the bench binary act as the reaper: a
// minimal init that runs one supervisor under it.
const reaperEnv = "TWINEBENCH_REAPER"

// isReaper reports whether this process was started as the reaper.
func isReaper() bool { return os.Getenv(reaperEnv) == "1" }

// reap is the reaper's main. It becomes a child subreaper, starts argv
// (stdin /dev/null, stdout and stderr to its own stderr) and reaps every
// process that ends under it, as PID 1 does on an ordinary host (on this
// machine PID 1 reaps nothing, and a supervisor such as monit, whose
// redis-servers are orphans, would see a killed node as a zombie that is
// still there). It writes "pid N" on stdout once argv runs and "exit
// STATUS" when it ends, forwards SIGTERM, SIGINT and SIGHUP to it, and
// returns once no process is left under it.
func reap(argv []string, stdout, stderr io.Writer) int {
	if len(argv) == 0 {
		fmt.Fprintln(stderr, "twinebench reaper: no command")
		return 2
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(stderr, "twinebench reaper: become subreaper:", err)
		return 1
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(stderr, "twinebench reaper:", err)
		return 1
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		fmt.Fprintln(stderr, "twinebench reaper:", err)
		return 1
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, reaperEnv+"=") {
			env = append(env, e)
		}
	}
	// Signals are forwarded only while the child is known to be alive, so
	// that a recycled PID is never signalled.
	var mu sync.Mutex
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	mu.Lock()
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{devnull.Fd(), os.Stderr.Fd(), os.Stderr.Fd()},
	})
	devnull.Close()
	if err != nil {
		mu.Unlock()
		fmt.Fprintf(stderr, "twinebench reaper: start %s: %v\n", path, err)
		return 1
	}
	childAlive := true
	mu.Unlock()
	fmt.Fprintf(stdout, "pid %d\n", pid)
	go func() {
		for s := range sigs {
			mu.Lock()
			if childAlive {
				_ = syscall.Kill(pid, s.(syscall.Signal))
			}
			mu.Unlock()
		}
	}()
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil: // ECHILD: nothing left under the reaper
			return 0
		case wpid == pid:
			mu.Lock()
			childAlive = false
			mu.Unlock()
			fmt.Fprintf(stdout, "exit %s\n", waitText(ws))
		}
	}
}

// waitText describes a wait status: "0", "1", "signal killed".
func waitText(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return fmt.Sprint(ws.ExitStatus())
}
