package procs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/twine/twine/procs/redistest"
)

// helperEnv makes the test binary act as a child process (see runHelper)
// instead of running the tests.
const helperEnv = "TWINE_PROCS_HELPER"

// waitTimeout is the generous deadline for an exit the test has caused.
const waitTimeout = 10 * time.Second

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// runHelper is the child side of the tests. Modes:
//
//	exit N        print a line, exit with status N
//	log           print redis-like lines to stdout, junk to stderr, a long line, exit 0
//	lines N       print "line 0".."line N-1", exit 0
//	sleep         print "ready", block until killed (SIGTERM kills)
//	ignoreterm    print "ready", print "ignoring SIGTERM" for each SIGTERM, block
//	fork exit     start a grandchild (sleep) sharing stdout, print "grandchild PID", exit 0
//	fork stay     same, then block
func runHelper(mode string, args []string) int {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch mode {
	case "exit":
		code, _ := strconv.Atoi(arg(0))
		fmt.Printf("exiting with %d\n", code)
		return code
	case "log":
		fmt.Println("4242:C 25 Nov 2026 11:29:00.001 * oO0OoO0OoO0Oo Redis is starting")
		fmt.Println("4242:M 25 Nov 2026 11:29:00.123 * Ready to accept connections")
		fmt.Println("4242:M 5 Nov 2026 11:29:00.124 # Warning: something is off")
		fmt.Println("4242:S 25 Nov 2026 11:29:00.125 . debug with a dot")
		fmt.Println("4242:X 25 Nov 2026 11:29:00.126 - debug with a dash")
		fmt.Println("plain stdout line")
		fmt.Fprintln(os.Stderr, "junk on stderr")
		fmt.Fprintln(os.Stderr, "4242:M 25 Nov 2026 11:29:00.127 # warning on stderr")
		fmt.Println(strings.Repeat("x", 100*1024))
		fmt.Print("after long\nno newline at end")
		return 0
	case "lines":
		n, _ := strconv.Atoi(arg(0))
		for i := range n {
			fmt.Printf("line %d\n", i)
		}
		return 0
	case "sleep":
		fmt.Println("ready")
		blockForever()
		return 0
	case "ignoreterm":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ready")
		for range c {
			fmt.Println("ignoring SIGTERM")
		}
		return 0
	case "fork":
		cmd := exec.Command(os.Args[0])
		cmd.Env = helperEnvFor("sleep")
		cmd.Stdout = os.Stdout // the same pipe, held open by the grandchild
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("grandchild %d\n", cmd.Process.Pid)
		if arg(0) == "stay" {
			blockForever()
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// blockForever blocks until the process is killed. A signal channel keeps
// the runtime from declaring a deadlock; SIGTERM keeps its default action.
func blockForever() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR2)
	for range c {
	}
}

// helperEnvFor returns the environment for a helper child in mode.
func helperEnvFor(mode string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, helperEnv+"=") {
			env = append(env, kv)
		}
	}
	return append(env, helperEnv+"="+mode)
}

// startHelper starts the test binary as a child in mode through Start, and
// registers a cleanup that kills it (by its pidfd-backed handle and
// process group) and waits for it.
func startHelper(t *testing.T, logger hclog.Logger, mode string, args ...string) *Process {
	t.Helper()
	p, err := Start(Spec{
		Path:   os.Args[0],
		Args:   args,
		Env:    helperEnvFor(mode),
		Logger: logger,
	})
	if err != nil {
		t.Fatalf("start helper %s: %v", mode, err)
	}
	t.Cleanup(func() {
		p.Kill() // ErrExited when already gone
		waitDone(t, p)
		p.Close()
	})
	return p
}

// execHelper starts the test binary in mode with os/exec, outside procs,
// and registers a cleanup that kills it by PID and reaps it. The returned
// channel closes when it has exited.
func execHelper(t *testing.T, mode string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = helperEnvFor(mode)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper %s: %v", mode, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(waitTimeout):
			t.Errorf("helper pid %d did not exit after SIGKILL", cmd.Process.Pid)
		}
	})
	return cmd, exited
}

// waitDone waits for p's Done with a generous deadline.
func waitDone(t *testing.T, p *Process) Exit {
	t.Helper()
	select {
	case <-p.Done():
		return p.Exit()
	case <-time.After(waitTimeout):
		t.Fatalf("process %d: Done not closed within %v", p.PID(), waitTimeout)
		return Exit{}
	}
}

// waitLine waits until p's Tail holds line.
func waitLine(t *testing.T, p *Process, line string) {
	t.Helper()
	redistest.Eventually(t, waitTimeout, func() bool {
		for _, l := range p.Tail() {
			if l == line {
				return true
			}
		}
		return false
	}, "process %d never printed %q; tail: %q", p.PID(), line, p.Tail())
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// bufferLogger returns a Trace-level logger writing plain lines like
// "[WARN]  message" into a buffer.
func bufferLogger() (hclog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return hclog.New(&hclog.LoggerOptions{
		Level:       hclog.Trace,
		Output:      buf,
		DisableTime: true,
	}), buf
}

// alive reports whether pid exists (signal 0). Only used on PIDs the test
// keeps unreaped or holds a pidfd for.
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}
