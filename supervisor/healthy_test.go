package supervisor

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/procs"
	"github.com/twine/twine/procs/redistest"
)

// handWatcher starts a one-node watcher driven by hand (no run
// goroutine), its node up and answering, and returns it with a
// subscription to its events. The node is stopped (and resumed first, if
// a test stopped it) at the end.
func handWatcher(t *testing.T) (*watcher, *Subscription) {
	t.Helper()
	c := testCluster(t, 1)
	var b bus
	sub := b.subscribe(64)
	env := nodeEnv{cluster: c, settings: c.Settings(), logger: redistest.Logger(t), publish: b.publish, now: time.Now}
	w := newWatcher(node(t, c, "n0"), env)
	t.Cleanup(func() {
		if w.proc != nil {
			_ = syscall.Kill(w.proc.PID(), syscall.SIGCONT)
		}
		w.shutdown()
		w.closeClient()
	})
	if err := w.spawn(); err != nil {
		t.Fatal(err)
	}
	redistest.WaitPing(t, node(t, c, "n0").Addr(), 20*time.Second)
	w.setState(Up, "test", "")
	return w, sub
}

// TestMissedPingAtCrashKeepsHealthyRun drives a watcher by hand (no run
// goroutine) through the order of events that a kill -9 often produces:
// the PING in flight fails (connection reset) before the exit is handled.
// The node had a healthy run, so its exit must still be restarted at once,
// not treated as an early exit with backoff.
func TestMissedPingAtCrashKeepsHealthyRun(t *testing.T) {
	t.Parallel()
	w, sub := handWatcher(t)
	pid := w.proc.PID()
	w.healthySince = time.Now().Add(-healthyAfter - time.Second)

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w.onCheck(checkResult{at: time.Now(), err: syscall.ECONNRESET})
	<-w.proc.Done()
	w.onExit()

	var last Event
	for len(sub.C) > 0 {
		last = <-sub.C
		if last.From == Up {
			break
		}
	}
	if last.From != Up || last.To != Down {
		t.Errorf("exit after a healthy run with a missed PING: %s → %s %q, want down and an immediate restart", last.From, last.To, last.Reason)
	}
	if w.proc == nil || w.proc.PID() == pid {
		t.Errorf("not restarted at once (state %s)", w.state)
	}
}

// A node that hangs (SIGSTOP) after a healthy run: the first missed PING
// is conclusive, because /proc shows the process stopped, and the kill
// restarts it at once: it did not exit "soon after its start".
func TestStoppedProcessHungAtFirstMissAndRestartedAtOnce(t *testing.T) {
	t.Parallel()
	w, sub := handWatcher(t)
	pid := w.proc.PID()
	w.healthySince = time.Now().Add(-time.Minute)
	w.lastAnswer = time.Now()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 5*time.Second, func() bool {
		st, err := procs.StateOf(pid)
		return err == nil && st.Stopped()
	}, "pid %d never showed stopped", pid)
	w.onCheck(checkResult{at: time.Now(), err: context.DeadlineExceeded})
	if w.state != Hung || !strings.Contains(w.status.Reason, "process is stopped (state T)") {
		t.Fatalf("after one miss of a stopped process: state %s, reason %q; want hung because it is stopped", w.state, w.status.Reason)
	}
	<-w.proc.Done()
	w.onExit()
	var last Event
	for len(sub.C) > 0 {
		if e := <-sub.C; e.From == Hung {
			last = e
		}
	}
	if last.To != Down || !strings.Contains(last.Reason, "restarting at once") {
		t.Errorf("a hung node with a healthy run: %s → %s %q, want down and an immediate restart", last.From, last.To, last.Reason)
	}
	if w.proc == nil || w.proc.PID() == pid {
		t.Errorf("not restarted at once (state %s)", w.state)
	}
}
