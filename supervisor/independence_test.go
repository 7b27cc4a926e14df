package supervisor

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

// TestNeighbourRecoversWhileOthersFail kills a healthy node while one
// neighbour crash-loops (its port is taken) and another is hung (SIGSTOP,
// with a long check timeout so that its watcher spends its time waiting on
// PINGs): the killed node is restarted at once, as if alone.
func TestNeighbourRecoversWhileOthersFail(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 3, "check-interval 500ms", "check-timeout 500ms")
	busyPort(t, node(t, c, "n0").Addr())
	s := newSupervisor(t, Options{Cluster: c})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "n1", Up, 20*time.Second)
	up := waitState(t, s, "n2", Up, 20*time.Second)
	r.wait(t, "n0", 0, 10*s.cluster.Settings().BackoffMax+slack, "failed", toState(Failed))

	// Only an exit after a healthy run is restarted at once: let n2 run
	// that long.
	redistest.Eventually(t, healthyAfter+slack, func() bool {
		return time.Since(up.Since) > healthyAfter+100*time.Millisecond
	}, "time stands still")
	if st := nodeStatus(t, s, "n2"); st.State != Up || st.PID != up.PID {
		t.Fatalf("n2 not steadily up: %s", describe(&st))
	}

	hungPID := nodeStatus(t, s, "n1").PID
	t.Cleanup(func() {
		if alive(hungPID) {
			_ = syscall.Kill(hungPID, syscall.SIGCONT)
			_ = syscall.Kill(hungPID, syscall.SIGKILL)
		}
	})
	from := r.settle(t, s, "n2")
	if err := syscall.Kill(hungPID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(up.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()

	down, i := r.wait(t, "n2", from, 3*time.Second, "exit", func(e Event) bool { return e.From == Up })
	if down.To != Down || !strings.Contains(down.Reason, "at once") {
		t.Errorf("n2's exit: %s → %s %q, want an immediate restart", down.From, down.To, down.Reason)
	}
	if down.Err != "killed by signal SIGKILL" {
		t.Errorf("n2's exit error %q, want just the signal", down.Err)
	}
	back, _ := r.wait(t, "n2", i, 3*time.Second, "up again", toState(Up))
	t.Logf("n2 kill -9 → up in %s while n0 %s and n1 hung", back.Time.Sub(killed).Round(time.Millisecond), nodeStatus(t, s, "n0").State)
	for _, e := range r.events("n2")[from:] {
		if e.To == Backoff || e.To == Failed {
			t.Errorf("n2 went through %s: %q", e.To, e.Reason)
		}
	}
	st := nodeStatus(t, s, "n2")
	if st.Restarts != 1 || st.PID == up.PID {
		t.Errorf("n2: %s, want one restart with a new pid", describe(&st))
	}
	if err := ping(node(t, c, "n2").Addr()); err != nil {
		t.Errorf("n2 does not answer: %v", err)
	}
	// The hung neighbour is dealt with as well, in its own time.
	n1, _ := r.wait(t, "n1", 0, hungBound(s)+slack, "hung", toState(Hung))
	t.Logf("n1 SIGSTOP → hung in %s", n1.Time.Sub(killed).Round(time.Millisecond))
}
