package supervisor

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

// stayState checks that node stays in state want, with no process and no
// event, while the watcher of node other completes more than checks health
// checks: the supervisor's loops run, and leave node alone.
func stayState(t *testing.T, s *Supervisor, r *recorder, node, other string, want State, checks int) {
	t.Helper()
	from := r.settle(t, s, node)
	seen := map[time.Time]bool{}
	redistest.Eventually(t, time.Duration(checks)*s.cluster.Settings().CheckInterval+slack, func() bool {
		if st := nodeStatus(t, s, node); st.State != want || st.PID != 0 {
			t.Fatalf("%s left state %s: %s", node, want, describe(&st))
		}
		seen[nodeStatus(t, s, other).LastCheck] = true
		return len(seen) > checks
	}, "%s's health checks did not run %d times", other, checks)
	if evs := r.events(node)[from:]; len(evs) != 0 {
		t.Errorf("%s had events while %s: %s", node, want, eventList(evs))
	}
}

func TestControlStopStartRestart(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 2)
	s := newSupervisor(t, Options{Cluster: c})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitAllUp(t, s)
	ctx := context.Background()
	addr := node(t, c, "n0").Addr()
	first := nodeStatus(t, s, "n0").PID

	// Stop: the process ends, the node stays stopped.
	if err := s.Stop(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "n0", Stopped, s.cluster.Settings().StopTimeout+slack)
	if alive(first) {
		t.Errorf("stopped node's pid %d still alive", first)
	}
	if ping(addr) == nil {
		t.Errorf("stopped node still answers")
	}
	stayState(t, s, r, "n0", "n1", Stopped, 5)
	if snap := s.Snapshot(); snap.Status != Halt || snap.Up != 1 {
		t.Errorf("snapshot with n0 stopped: %s up %d, want HALT up 1", snap.Status, snap.Up)
	}
	// Stop again: nothing to do, no error.
	if err := s.Stop(ctx, "n0"); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	// Start: up again with a new process.
	if err := s.StartNode(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	second := waitState(t, s, "n0", Up, slack).PID
	if second == first || second == 0 {
		t.Errorf("pid after start = %d (was %d)", second, first)
	}
	if err := ping(addr); err != nil {
		t.Errorf("started node does not answer: %v", err)
	}

	// Restart: a new process, up.
	from := r.settle(t, s, "n0")
	if err := s.Restart(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	back, _ := r.wait(t, "n0", from, s.cluster.Settings().StopTimeout+slack, "up after restart", toState(Up))
	if back.PID == second || alive(second) {
		t.Errorf("restart kept pid %d (now %d)", second, back.PID)
	}
	got := states(r.events("n0")[from:])
	if !slices.Equal(got, []State{Down, Starting, Up}) {
		t.Errorf("restart went through %v, want [down starting up]", got)
	}
	if err := ping(addr); err != nil {
		t.Errorf("restarted node does not answer: %v", err)
	}
	if st := nodeStatus(t, s, "n1"); st.Restarts != 0 || st.State != Up {
		t.Errorf("n1 disturbed: %s", describe(&st))
	}

	// Unknown names.
	for _, op := range []func(context.Context, string) error{s.Stop, s.StartNode, s.Restart} {
		if err := op(ctx, "nope"); !errors.Is(err, ErrUnknownNode) {
			t.Errorf("control of an unknown node: %v, want ErrUnknownNode", err)
		}
	}

	// After Close.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.StartNode(ctx, "n0"); !errors.Is(err, ErrClosed) {
		t.Errorf("StartNode after Close: %v, want ErrClosed", err)
	}
}

func TestOptionsStoppedHonoured(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 2)
	s := newSupervisor(t, Options{Cluster: c, Stopped: map[string]bool{"n1": true}})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	// WaitReady does not wait for a node the operator stopped.
	waitAllUp(t, s)
	if st := nodeStatus(t, s, "n0"); st.State != Up {
		t.Fatalf("n0: %s", describe(&st))
	}
	stayState(t, s, r, "n1", "n0", Stopped, 3)
	if ping(node(t, c, "n1").Addr()) == nil {
		t.Error("n1 answers though stopped")
	}
	if err := s.StartNode(context.Background(), "n1"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "n1", Up, slack)
	if err := ping(node(t, c, "n1").Addr()); err != nil {
		t.Errorf("n1 does not answer after StartNode: %v", err)
	}
}

func TestWaitReady(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 3)
	busyPort(t, node(t, c, "n1").Addr())
	s := startSupervisor(t, c)
	waitState(t, s, "n0", Up, 20*time.Second)
	waitState(t, s, "n2", Up, 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	missing := s.WaitReady(ctx)
	if !slices.Equal(missing, []string{"n1"}) {
		t.Fatalf("WaitReady = %v, want [n1]", missing)
	}
	if ctx.Err() == nil {
		t.Error("WaitReady returned before its context ended")
	}

	// With every node up it returns nil, at once.
	ok := testCluster(t, 2)
	s2 := startSupervisor(t, ok)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	if missing := s2.WaitReady(ctx2); missing != nil {
		t.Fatalf("WaitReady = %v, want nil", missing)
	}
	for _, n := range s2.Snapshot().Nodes {
		if n.State != Up {
			t.Errorf("WaitReady returned with %s %s", n.Name, n.State)
		}
	}
}

// TestStopFailingNode stops a node that is in a crash loop: the retries
// end, and StartNode resumes them.
func TestStopFailingNode(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 2)
	release := busyPort(t, node(t, c, "n0").Addr())
	s := newSupervisor(t, Options{Cluster: c})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "n1", Up, 20*time.Second)
	r.wait(t, "n0", 0, 10*s.cluster.Settings().BackoffMax+slack, "failed", toState(Failed))
	ctx := context.Background()
	if err := s.Stop(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "n0", Stopped, s.cluster.Settings().StopTimeout+slack)
	// Longer than the crash loop's retry pace: no retry comes.
	checks := int(2*s.cluster.Settings().BackoffMax/s.cluster.Settings().CheckInterval) + 1
	stayState(t, s, r, "n0", "n1", Stopped, checks)
	if st := nodeStatus(t, s, "n0"); !st.RetryAt.IsZero() {
		t.Errorf("stopped node still shows a retry at %s", st.RetryAt)
	}

	release()
	if err := s.StartNode(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "n0", Up, slack)
	if err := ping(node(t, c, "n0").Addr()); err != nil {
		t.Errorf("n0 does not answer: %v", err)
	}
}

func TestStartTwiceAndAfterClose(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 1)
	s := newSupervisor(t, Options{Cluster: c})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := New(Options{Cluster: c, Host: "elsewhere"}); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("New for a host without nodes: %v, want ErrUnknownNode", err)
	}

	s2 := startSupervisor(t, c)
	if err := s2.Start(); err == nil {
		t.Error("second Start: no error")
	}
	waitAllUp(t, s2)
}
