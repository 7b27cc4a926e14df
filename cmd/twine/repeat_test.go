package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config/route/routetest"
	"github.com/twine/twine/procs/redistest"
)

func TestRepeat(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3})
	if out := ok(t, "-r", "5", "INCR", "n"); out != "1\n2\n3\n4\n5\n" {
		t.Errorf("-r 5 INCR printed %q", out)
	}
	// -i takes redis-cli's seconds and Go durations.
	for _, interval := range []string{"0.05", "50ms"} {
		start := time.Now()
		out := ok(t, "-r", "3", "-i", interval, "INCR", "i"+interval)
		if elapsed := time.Since(start); out != "1\n2\n3\n" || elapsed < 100*time.Millisecond {
			t.Errorf("-r 3 -i %s INCR printed %q in %v; want 3 runs at least 100ms in all", interval, out, elapsed)
		}
	}
	ok(t, "SET", c.KeyIn(t, "a", 1), "x")
	once := ok(t, "-all", "DBSIZE")
	if out := ok(t, "-r", "2", "-all", "DBSIZE"); out != once+once || !strings.HasPrefix(out, "p0: ") {
		t.Errorf("-r 2 -all DBSIZE printed %q, want %q twice", out, once)
	}
	// An error reply does not stop the runs; the exit status says it.
	ok(t, "SET", "word", "abc")
	r := twine(t, "", "-r", "3", "INCR", "word")
	if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "(error) ERR value is not an integer") != 3 {
		t.Errorf("-r 3 INCR word: %+v", r)
	}
	// A command that cannot run stops at once.
	r = twine(t, "", "-r", "3", "PING")
	if r.code != 2 || strings.Count(r.stderr, "no key") != 1 {
		t.Errorf("-r 3 PING: %+v", r)
	}
}

func TestRepeatUntilInterrupted(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 2})
	p, _ := c.Config.Partition([]byte("forever"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := c.Client(t, p)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		redistest.Poll(30*time.Second, func() bool {
			// Runs are one after another: the 6th INCR is sent only once
			// the 5th answer was printed.
			n, _ := client.Get(ctx, "forever").Int()
			return n >= 6 || ctx.Err() != nil
		})
		cancel()
	}()
	var out, errb bytes.Buffer
	err := run(ctx, []string{"-r", "-1", "-i", "0.005", "INCR", "forever"}, strings.NewReader(""), &out, &errb)
	cancel()
	<-stopped
	// Cut off between two runs it ends cleanly; in the middle of one, as
	// interrupted.
	if code := mainutil.ExitCode("twine", err, &errb); code != 0 && !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("-r -1: exit %d, stderr %q", code, errb.String())
	}
	got := lines(out.String())
	if len(got) < 5 {
		t.Fatalf("-r -1 ran %d times before it was stopped: %q", len(got), got)
	}
	for i, l := range got {
		if l != strconv.Itoa(i+1) {
			t.Fatalf("run %d printed %q: %q", i+1, l, got)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestProcessRepeatInterruptedBetweenRuns(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 2})
	cmd, _, errb := command(t, "-r", "-1", "-i", "1h", "INCR", "forever")
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	// The first run printed its answer: twine waits for the second.
	redistest.Eventually(t, 20*time.Second, func() bool { return out.String() == "1\n" }, "the first run did not print 1: %q", out.String())
	select {
	case err := <-exited:
		t.Fatalf("-r -1 exited after one run: %v", err)
	default:
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("SIGINT between runs: %v, stderr %q; want exit 0", err, errb)
		}
		exited <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("twine waiting between runs did not exit on SIGINT")
	}
}
