package supervisor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/procs/redistest"
	"github.com/twine/twine/supervisor/setup"
)

// killLater kills pid in the test's cleanup if it is still alive.
func killLater(t *testing.T, pid int) {
	t.Cleanup(func() {
		if alive(pid) {
			t.Logf("killing leftover process %d", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// adoptAndKill starts a supervisor on c, whose nodes run already with the
// given PIDs, checks that it adopts every one of them, then kill -9s n0 and
// checks that the exit is seen through the pidfd (before any health check
// could have noticed) and that n0 is replaced. c's check interval must be
// long (seconds) for the pidfd check to mean anything.
func adoptAndKill(t *testing.T, c *config.Cluster, s *Supervisor, r *recorder, pids map[string]int) {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitAllUp(t, s)
	for name, pid := range pids {
		st := nodeStatus(t, s, name)
		if st.PID != pid || st.State != Up || !st.Adopted || st.Restarts != 0 {
			t.Errorf("%s: %s adopted %v, want pid %d up and adopted", name, describe(&st), st.Adopted, pid)
		}
		r.wait(t, name, 0, slack, "adopted", toState(Up))
		evs := r.events(name)
		if evs[0].To != Up || !strings.Contains(evs[0].Reason, "adopted") {
			t.Errorf("%s: first events %s, want adoption", name, eventList(evs))
		}
		if n := countTo(evs, Starting); n != 0 {
			t.Errorf("%s: started %d times though running", name, n)
		}
	}

	adoptedAt := r.events("n0")[0].Time
	from := r.settle(t, s, "n0")
	logged, err := os.ReadFile(c.Files(node(t, c, "n0")).Log)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pids["n0"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	interval := s.cluster.Settings().CheckInterval
	ex, i := r.wait(t, "n0", from, interval/2, "exit of the adopted process", func(e Event) bool { return e.From == Up })
	t.Logf("kill -9 of adopted pid %d → exit seen in %s (%s → %s: %s)", pids["n0"], ex.Time.Sub(killed).Round(time.Microsecond), ex.From, ex.To, ex.Err)
	// The first health check of an adopted node is due a check interval
	// after the adoption: an exit seen before then came from the pidfd.
	if !ex.Time.Before(adoptedAt.Add(interval)) {
		t.Errorf("exit seen at %s, not before the first health check (%s)", ex.Time, adoptedAt.Add(interval))
	}
	// A kill -9 leaves no word in the log: what redis logged before the
	// adoption (its start) says nothing about this exit.
	for _, line := range ex.LogTail {
		if strings.Contains(string(logged), line) {
			t.Errorf("exit event carries a log line from before the adoption: %q", line)
		}
	}
	if want := "exited (status unknown: adopted process)"; ex.Err != want {
		t.Errorf("exit error %q, want %q", ex.Err, want)
	}
	up, _ := r.wait(t, "n0", i, s.cluster.Settings().BackoffMax+slack, "up again", toState(Up))
	st := nodeStatus(t, s, "n0")
	if st.PID == pids["n0"] || st.PID == 0 || st.Adopted || st.Restarts != 1 {
		t.Errorf("n0 after the kill: %s adopted %v, want a new process", describe(&st), st.Adopted)
	}
	if up.PID != st.PID {
		t.Errorf("up event pid %d, status pid %d", up.PID, st.PID)
	}
	if alive(pids["n0"]) {
		t.Errorf("killed pid %d still alive", pids["n0"])
	}
	t.Logf("killed adopted pid %d is now: %s", pids["n0"], procState(pids["n0"]))
	if st := nodeStatus(t, s, "n1"); st.PID != pids["n1"] || st.State != Up || !st.Adopted {
		t.Errorf("n1 disturbed: %s", describe(&st))
	}
}

func TestAdoptAfterSupervisorDeath(t *testing.T) {
	t.Parallel()
	// Long checks: only the pidfd can see an exit quickly.
	c := testCluster(t, 2, "check-interval 10s", "check-timeout 500ms")
	a := startSupervisorOpts(t, Options{Cluster: c, leaveRunning: true})
	waitAllUp(t, a)
	pids := map[string]int{}
	for _, n := range a.Snapshot().Nodes {
		pids[n.Name] = n.PID
		killLater(t, n.PID)
	}
	if err := a.Close(); err != nil { // as if SIGKILLed: nodes keep running
		t.Fatal(err)
	}
	for name, pid := range pids {
		if !alive(pid) {
			t.Fatalf("%s (pid %d) did not outlive its supervisor", name, pid)
		}
		if err := ping(node(t, c, name).Addr()); err != nil {
			t.Fatalf("%s does not answer after its supervisor died: %v", name, err)
		}
	}

	b := newSupervisor(t, Options{Cluster: c})
	adoptAndKill(t, c, b, record(t, b), pids)
}

// TestAdoptOrphans adopts nodes that are not children of this process
// (started through a shell that exits, as after a real twined's death):
// PID 1 here does not reap them, so a killed one lingers as a zombie; the
// pidfd still reports its exit.
func TestAdoptOrphans(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 2, "check-interval 10s", "check-timeout 500ms")
	if _, err := setup.Host(c, testHost); err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{}
	for _, name := range []string{"n0", "n1"} {
		n := node(t, c, name)
		f := c.Files(n)
		script := fmt.Sprintf("%q %q </dev/null >/dev/null 2>&1 & echo $!", c.Settings().RedisServer, f.Conf)
		out, err := exec.Command("sh", "-c", script).Output()
		if err != nil {
			t.Fatalf("start orphan %s: %v", name, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("start orphan %s: %q: %v", name, out, err)
		}
		killLater(t, pid)
		pids[name] = pid
		redistest.WaitPing(t, n.Addr(), 20*time.Second)
		redistest.Eventually(t, 10*time.Second, func() bool {
			b, err := os.ReadFile(f.Pidfile)
			return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid)
		}, "%s: pidfile %s never named pid %d", name, f.Pidfile, pid)
	}
	b := newSupervisor(t, Options{Cluster: c})
	adoptAndKill(t, c, b, record(t, b), pids)
}

func TestStalePidfileUnrelatedProcess(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 1)
	n := node(t, c, "n0")
	f := c.Files(n)
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	spid := sleep.Process.Pid
	t.Cleanup(func() {
		_ = sleep.Process.Kill()
		_ = sleep.Wait()
	})
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Pidfile, []byte(strconv.Itoa(spid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// untouched reports whether the sleep is alive and neither stopped nor
	// traced (a SIGSTOP would leave it alive but in state T).
	untouched := func() bool {
		st := procState(spid)
		return st == "S" || st == "R"
	}

	s := startSupervisor(t, c)
	waitAllUp(t, s)
	st := nodeStatus(t, s, "n0")
	if st.PID == spid || st.Adopted {
		t.Fatalf("adopted the unrelated process: %s", describe(&st))
	}
	if err := ping(n.Addr()); err != nil {
		t.Fatalf("fresh node does not answer: %v", err)
	}
	if !untouched() {
		t.Fatalf("the unrelated process %d was signalled", spid)
	}
	// Operator actions and the supervisor's own stop act on the node it
	// started, never on the pidfile's stale PID.
	ctx := context.Background()
	if err := s.Restart(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, slack+s.cluster.Settings().StopTimeout, func() bool {
		n := nodeStatus(t, s, "n0")
		return n.State == Up && n.PID != st.PID
	}, "n0 not restarted")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !untouched() {
		t.Fatalf("the unrelated process %d was signalled", spid)
	}
	if sleep.ProcessState != nil {
		t.Fatal("sleep was reaped early")
	}
}
