package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/twine/twine/config/route/routetest"
)

// terminal is a pseudo-terminal: twine gets the tty end, the test reads
// and writes the other.
type terminal struct {
	tty  *os.File   // what twine sees as a terminal
	ctl  *os.File   // the controlling end
	out  syncBuffer // what twine wrote, readable while it runs
	done chan struct{}
}

// openTerminal opens a pseudo-terminal in raw mode (no echo, no CR added
// before LF) and starts reading what is written to it.
func openTerminal(t *testing.T) *terminal {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(ctl.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ctl.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		t.Fatalf("raw pty: %v", err)
	}
	// Wide enough that the prompt's lines do not wrap.
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 200}); err != nil {
		t.Fatalf("pty size: %v", err)
	}
	tm := &terminal{tty: tty, ctl: ctl, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		io.Copy(&tm.out, ctl) // ends with EIO once the tty end is closed
	}()
	t.Cleanup(func() {
		tty.Close()
		ctl.Close()
		<-tm.done
	})
	return tm
}

// output closes the tty end and returns everything written to it.
func (tm *terminal) output(t *testing.T) string {
	t.Helper()
	// A read of twine's prompt may still wait for input in its goroutine,
	// keeping the tty open: a line end wakes it.
	tm.ctl.WriteString("\r")
	tm.tty.Close()
	select {
	case <-tm.done:
	case <-time.After(10 * time.Second):
		t.Fatal("terminal output did not end")
	}
	return tm.out.String()
}

// onTerminal runs twine with stdin, stdout and stderr on a new terminal,
// after typing typed on it.
func onTerminal(t *testing.T, typed string, args ...string) (string, int) {
	t.Helper()
	tm := openTerminal(t)
	if typed != "" {
		if _, err := tm.ctl.WriteString(typed); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, args, tm.tty, tm.tty, tm.tty)
	code := mainutil.ExitCode("twine", err, tm.tty)
	return tm.output(t), code
}

func TestTerminalOutput(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 2})
	ok(t, "RPUSH", "l", "a", "b")
	if out, code := onTerminal(t, "", "LRANGE", "l", "0", "-1"); code != 0 || out != "1) \"a\"\n2) \"b\"\n" {
		t.Errorf("LRANGE on a terminal: %q, exit %d", out, code)
	}
	if out, code := onTerminal(t, "", "-raw", "LRANGE", "l", "0", "-1"); code != 0 || out != "a\nb\n" {
		t.Errorf("-raw LRANGE on a terminal: %q, exit %d", out, code)
	}
	if out, code := onTerminal(t, "", "GET", "l"); code != 1 || !strings.HasPrefix(out, "(error) WRONGTYPE") {
		t.Errorf("WRONGTYPE on a terminal: %q, exit %d", out, code)
	}
}

func TestConfirmOnTerminal(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 2})
	ok(t, "MSET", c.KeyIn(t, "a", 0), "1", c.KeyIn(t, "b", 1), "1")

	out, code := onTerminal(t, "no\n", "-all", "FLUSHALL")
	if code != 1 || !strings.Contains(out, "FLUSHALL on all 2 masters") || !strings.Contains(out, "not confirmed") {
		t.Errorf("answered no: %q, exit %d", out, code)
	}
	if got := ok(t, "-all", "DBSIZE"); !strings.HasSuffix(got, "total: 2\n") {
		t.Errorf("FLUSHALL ran without confirmation: %q", got)
	}

	out, code = onTerminal(t, "yes\n", "-all", "FLUSHALL")
	if code != 0 || !strings.Contains(out, "type yes to go ahead") || !strings.Contains(out, "p0: OK\n") {
		t.Errorf("answered yes: %q, exit %d", out, code)
	}
	if got := ok(t, "-all", "DBSIZE"); !strings.HasSuffix(got, "total: 0\n") {
		t.Errorf("after a confirmed FLUSHALL: %q", got)
	}
}

// Commands typed on a terminal with the output going elsewhere: the
// confirmation is read from the same input as the commands, and the
// confirmed command is the one typed, not the answer.
func TestConfirmInLinesFromTerminal(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 2})
	ok(t, "MSET", c.KeyIn(t, "a", 0), "1", c.KeyIn(t, "b", 1), "1")
	tm := openTerminal(t)
	if _, err := tm.ctl.WriteString("flushall async\nyes\nquit\n"); err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, []string{"-all"}, tm.tty, &out, &errb)
	if err != nil || !strings.Contains(out.String(), "p0: OK\n") {
		t.Errorf("confirmed FLUSHALL ASYNC: %v; stdout %q, stderr %q", err, out.String(), errb.String())
	}
	if got := ok(t, "-all", "DBSIZE"); !strings.HasSuffix(got, "total: 0\n") {
		t.Errorf("after a confirmed FLUSHALL ASYNC: %q (stderr %q)", got, errb.String())
	}
}

func TestPipeProgressOnTerminal(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 2})
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = time.Millisecond
	var in strings.Builder
	for i := range 30000 {
		fmt.Fprintf(&in, "SET k%d v\n", i)
	}
	tm := openTerminal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	err := run(ctx, []string{"-pipe"}, strings.NewReader(in.String()), &stdout, tm.tty)
	if err != nil {
		t.Fatalf("-pipe: %v", err)
	}
	out := tm.output(t)
	if !strings.Contains(out, "\r\033[K") || !strings.Contains(out, " sent, ") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress on the terminal: %q", out)
	}
	want(t, "report", stdout.String(), "commands: 30000\n")
}

// writeConfig writes a twine.conf and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "twine.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
