package supervisor

import (
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

// TestMissedPingAtCrashKeepsHealthyRun drives a watcher by hand (no run
// goroutine) through the order of events that a kill -9 often produces:
// the PING in flight fails (connection reset) before the exit is handled.
// The node had a healthy run, so its exit must still be restarted at once,
// not treated as an early exit with backoff.
func TestMissedPingAtCrashKeepsHealthyRun(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 1)
	var b bus
	sub := b.subscribe(64)
	env := nodeEnv{
		cluster:  c,
		settings: c.Settings(),
		logger:   redistest.Logger(t),
		publish:  b.publish,
		now:      time.Now,
	}
	w := newWatcher(node(t, c, "n0"), env)
	t.Cleanup(func() {
		w.shutdown()
		w.closeClient()
	})
	if err := w.spawn(); err != nil {
		t.Fatal(err)
	}
	pid := w.proc.PID()
	redistest.WaitPing(t, node(t, c, "n0").Addr(), 20*time.Second)
	// A healthy run: up, answering since long enough.
	w.setState(Up, "test", "")
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
