package procs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

func TestStartExitCode(t *testing.T) {
	before := time.Now()
	p := startHelper(t, nil, "exit", "3")
	if p.Adopted() {
		t.Error("Adopted() = true for a started child")
	}
	e := waitDone(t, p)
	want := Exit{PID: p.PID(), Code: 3, Known: true, Time: e.Time}
	if e != want {
		t.Errorf("Exit() = %+v, want %+v", e, want)
	}
	if e.Time.Before(before) {
		t.Errorf("Exit().Time = %v, before the start at %v", e.Time, before)
	}
	if got := e.String(); got != "exit status 3" {
		t.Errorf("String() = %q", got)
	}
	if e.Success() {
		t.Error("Success() = true for status 3")
	}
	if got := p.Tail(); len(got) != 1 || got[0] != "exiting with 3" {
		t.Errorf("Tail() = %q", got)
	}
}

func TestStartExitZero(t *testing.T) {
	p := startHelper(t, nil, "exit", "0")
	if e := waitDone(t, p); !e.Success() || e.String() != "exit status 0" {
		t.Errorf("Exit() = %+v (%s), want success", e, e)
	}
}

func TestStartError(t *testing.T) {
	for _, path := range []string{"", filepath.Join(t.TempDir(), "no-such-binary")} {
		if p, err := Start(Spec{Path: path}); err == nil {
			p.Kill()
			t.Errorf("Start(%q) succeeded", path)
		}
	}
}

func TestKilledFromOutside(t *testing.T) {
	p := startHelper(t, nil, "sleep")
	waitLine(t, p, "ready")
	if e := p.Exit(); e != (Exit{}) {
		t.Errorf("Exit() before exit = %+v, want zero", e)
	}
	// kill -9 by someone else: Done must close promptly.
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e := waitDone(t, p)
	if e.Signal != syscall.SIGKILL || e.Code != -1 || !e.Known {
		t.Errorf("Exit() = %+v, want killed by SIGKILL", e)
	}
	if got := e.String(); got != "killed by signal SIGKILL" {
		t.Errorf("String() = %q", got)
	}
}

func TestLogLevels(t *testing.T) {
	logger, buf := bufferLogger()
	p := startHelper(t, logger, "log")
	if e := waitDone(t, p); !e.Success() {
		t.Fatalf("helper: %s", e)
	}
	long := strings.Repeat("x", maxLineBytes)
	want := []string{
		"[INFO]  oO0OoO0OoO0Oo Redis is starting\n",
		"[INFO]  Ready to accept connections\n",
		"[WARN]  Warning: something is off\n",
		"[DEBUG] debug with a dot\n",
		"[DEBUG] debug with a dash\n",
		"[INFO]  plain stdout line\n",
		"[ERROR] junk on stderr\n",
		"[WARN]  warning on stderr\n",
		"[INFO]  " + long + ": truncated=true\n",
		"[INFO]  after long\n",
		"[INFO]  no newline at end\n",
	}
	redistest.Eventually(t, waitTimeout, func() bool {
		out := buf.String()
		for _, w := range want {
			if !strings.Contains(out, w) {
				return false
			}
		}
		return true
	}, "logger output lacks lines; got:\n%.2000s", buf.String())
	out := buf.String()
	if strings.Contains(out, "4242:") {
		t.Errorf("redis prefix not stripped:\n%.2000s", out)
	}
	if strings.Contains(out, long+"x") {
		t.Error("long line not cut")
	}
}

func TestTail(t *testing.T) {
	p := startHelper(t, nil, "lines", "120")
	waitDone(t, p)
	redistest.Eventually(t, waitTimeout, func() bool {
		tail := p.Tail()
		return len(tail) > 0 && tail[len(tail)-1] == "line 119"
	}, "tail never reached the last line: %q", p.Tail())
	tail := p.Tail()
	if len(tail) != tailLines || tail[0] != "line 70" {
		t.Fatalf("Tail() = %d lines from %q, want %d from %q", len(tail), tail[0], tailLines, "line 70")
	}
	tail[0] = "changed"
	if p.Tail()[0] != "line 70" {
		t.Error("Tail() does not return a copy")
	}
}

func TestStopHonoured(t *testing.T) {
	p := startHelper(t, nil, "sleep")
	waitLine(t, p, "ready")
	e := p.Stop(waitTimeout)
	if e.Signal != syscall.SIGTERM {
		t.Errorf("Stop() = %+v (%s), want killed by SIGTERM", e, e)
	}
	if got := p.Exit(); got != e {
		t.Errorf("Exit() = %+v after Stop() = %+v", got, e)
	}
}

func TestStopEscalates(t *testing.T) {
	p := startHelper(t, nil, "ignoreterm")
	waitLine(t, p, "ready")
	// Show that SIGTERM arrives and is ignored before relying on it.
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLine(t, p, "ignoring SIGTERM")
	e := p.Stop(50 * time.Millisecond)
	if e.Signal != syscall.SIGKILL {
		t.Errorf("Stop() = %+v (%s), want killed by SIGKILL", e, e)
	}
}

func TestAfterExit(t *testing.T) {
	p := startHelper(t, nil, "exit", "0")
	e := waitDone(t, p)
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, ErrExited) {
		t.Errorf("Signal() after exit = %v, want ErrExited", err)
	}
	if err := p.Kill(); !errors.Is(err, ErrExited) {
		t.Errorf("Kill() after exit = %v, want ErrExited", err)
	}
	if got := p.Stop(time.Second); got != e {
		t.Errorf("Stop() after exit = %+v, want %+v", got, e)
	}
	for range 2 {
		if err := p.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, ErrExited) {
		t.Errorf("Signal() after exit and Close = %v, want ErrExited", err)
	}
}

func TestCloseBeforeExit(t *testing.T) {
	p := startHelper(t, nil, "sleep")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, ErrClosed) {
		t.Errorf("Signal() after Close = %v, want ErrClosed", err)
	}
	// The child is still watched: an outside kill is still seen.
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := waitDone(t, p); e.Signal != syscall.SIGKILL {
		t.Errorf("Exit() = %+v, want killed by SIGKILL", e)
	}
}

func TestKillStopped(t *testing.T) {
	p := startHelper(t, nil, "sleep")
	waitLine(t, p, "ready")
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, waitTimeout, func() bool { return procState(p.PID()) == "T" },
		"process %d never stopped (state %q)", p.PID(), procState(p.PID()))
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if e := waitDone(t, p); e.Signal != syscall.SIGKILL {
		t.Errorf("Exit() = %+v, want killed by SIGKILL", e)
	}
}

// A grandchild that keeps the output pipe open must not delay the exit.
func TestGrandchildHoldsPipe(t *testing.T) {
	p := startHelper(t, nil, "fork", "exit")
	g := adoptGrandchild(t, p)
	e := waitDone(t, p)
	if !e.Success() {
		t.Errorf("Exit() = %+v (%s), want status 0", e, e)
	}
	select {
	case <-g.Done():
		t.Fatal("grandchild exited: the test proves nothing")
	default:
	}
}

// Kill reaches the whole process group.
func TestKillGroup(t *testing.T) {
	p := startHelper(t, nil, "fork", "stay")
	g := adoptGrandchild(t, p)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if e := waitDone(t, p); e.Signal != syscall.SIGKILL {
		t.Errorf("Exit() = %+v, want killed by SIGKILL", e)
	}
	if e := waitDone(t, g); e.Known || e.PID != g.PID() {
		t.Errorf("grandchild Exit() = %+v", e)
	}
}

// adoptGrandchild reads the grandchild's PID from p's output and adopts it,
// with a cleanup that kills it through the pidfd.
func adoptGrandchild(t *testing.T, p *Process) *Process {
	t.Helper()
	var pid int
	redistest.Eventually(t, waitTimeout, func() bool {
		for _, l := range p.Tail() {
			if s, ok := strings.CutPrefix(l, "grandchild "); ok {
				pid, _ = strconv.Atoi(s)
				return true
			}
		}
		return false
	}, "no grandchild line; tail %q", p.Tail())
	g, err := Adopt(pid, nil)
	if err != nil {
		t.Fatalf("adopt grandchild: %v", err)
	}
	t.Cleanup(func() {
		g.Kill()
		waitDone(t, g)
		g.Close()
	})
	return g
}

func TestConcurrentUse(t *testing.T) {
	p := startHelper(t, nil, "sleep")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				p.Tail()
				p.Exit()
				p.Signal(0)
				select {
				case <-p.Done():
					if p.Exit().PID != p.PID() {
						t.Error("Exit() not set when Done is closed")
					}
					return
				default:
				}
			}
		})
	}
	waitLine(t, p, "ready")
	p.Kill()
	wg.Wait()
}

// A real redis-server started with Start: its log reaches the logger with
// its levels, and Stop (SIGTERM) lets it exit cleanly.
func TestStartRedis(t *testing.T) {
	bin := redistest.Binary(t)
	dir := t.TempDir()
	port := redistest.FreePort(t)
	conf := filepath.Join(dir, "redis.conf")
	content := fmt.Sprintf("port %d\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\nsave \"\"\ndir %q\n", port, dir)
	if err := os.WriteFile(conf, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	logger, buf := bufferLogger()
	p, err := Start(Spec{Path: bin, Args: []string{conf}, Dir: dir, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		waitDone(t, p)
		p.Close()
	})
	redistest.WaitPing(t, fmt.Sprintf("127.0.0.1:%d", port), waitTimeout)
	redistest.Eventually(t, waitTimeout, func() bool {
		return strings.Contains(buf.String(), "[INFO]  Ready to accept connections")
	}, "no ready line at INFO; log:\n%s", buf.String())

	e := p.Stop(waitTimeout)
	if !e.Success() {
		t.Errorf("Stop() = %s, want exit status 0; log:\n%s", e, buf.String())
	}
	redistest.Eventually(t, waitTimeout, func() bool {
		return strings.Contains(buf.String(), "[WARN]  Received SIGTERM")
	}, "no SIGTERM line at WARN; log:\n%s", buf.String())
}

func TestExitString(t *testing.T) {
	tests := []struct {
		e    Exit
		want string
	}{
		{Exit{Code: 1, Known: true}, "exit status 1"},
		{Exit{Code: -1, Signal: syscall.SIGKILL, Known: true}, "killed by signal SIGKILL"},
		{Exit{Code: -1, Signal: syscall.SIGTERM, Known: true}, "killed by signal SIGTERM"},
		{Exit{Code: -1}, "exited (status unknown: adopted process)"},
		{Exit{Code: -1, Known: true}, "exit status unknown"},
	}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

// procState returns the state letter of pid from /proc ("" if gone).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// threads returns the number of OS threads of this process.
func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

// Waiting for many children and adopted processes parks goroutines on the
// poller, not OS threads: the thread count stays flat.
func TestManyProcessesFewThreads(t *testing.T) {
	before := threads(t)
	const n = 100
	ps := make([]*Process, n)
	for i := range ps {
		ps[i] = startHelper(t, nil, "sleep")
	}
	for _, p := range ps {
		waitLine(t, p, "ready")
	}
	for _, p := range ps[:n/2] { // half of them adopted as well
		adopt(t, p.PID())
	}
	after := threads(t)
	t.Logf("threads: %d before, %d with %d children and %d adoptions waited for", before, after, n, n/2)
	if after > before+16 {
		t.Errorf("%d OS threads with %d processes waited for (%d before): a thread per process", after, n, before)
	}
	for _, p := range ps {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range ps {
		waitDone(t, p)
	}
}
