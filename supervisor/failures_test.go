package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

// slack absorbs a loaded machine (other tests, -race) in bounds that are
// derived from the settings.
const slack = 5 * time.Second

// hungBound is how long a watcher takes, by its settings, to declare a
// node that stopped answering hung: up to a check interval until the next
// PING, then missesToHung PINGs in a row, each waiting the check timeout
// and the next one interval later.
func hungBound(s *Supervisor) time.Duration {
	set := s.cluster.Settings()
	return set.CheckInterval + missesToHung*(set.CheckTimeout+set.CheckInterval)
}

func TestSigstopHungReplaced(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 1)
	s := startSupervisor(t, c)
	r := record(t, s)
	waitAllUp(t, s)
	old := nodeStatus(t, s, "n0").PID
	t.Cleanup(func() {
		if alive(old) {
			_ = syscall.Kill(old, syscall.SIGCONT)
			_ = syscall.Kill(old, syscall.SIGKILL)
		}
	})
	from := r.settle(t, s, "n0")
	if err := syscall.Kill(old, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()

	bound := hungBound(s)
	hung, i := r.wait(t, "n0", from, bound+slack, "hung", toState(Hung))
	t.Logf("SIGSTOP → hung in %s (settings allow %s)", hung.Time.Sub(stopped).Round(time.Millisecond), bound)
	if hung.PID != old {
		t.Errorf("hung event names pid %d, want %d", hung.PID, old)
	}
	up, _ := r.wait(t, "n0", i, s.cluster.Settings().BackoffMax+slack, "up again", toState(Up))
	t.Logf("SIGSTOP → up again in %s", up.Time.Sub(stopped).Round(time.Millisecond))
	if alive(old) {
		t.Errorf("the stopped process %d is still alive after its replacement", old)
	}
	now := nodeStatus(t, s, "n0")
	if now.PID == old || now.PID == 0 {
		t.Errorf("pid after replacement = %d (was %d)", now.PID, old)
	}
	if err := ping(node(t, c, "n0").Addr()); err != nil {
		t.Errorf("replacement does not answer: %v", err)
	}
	if now.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", now.Restarts)
	}
}

// pacing checks that a node that cannot start is never retried in a tight
// loop: once failed, consecutive attempts are at least backoff-max/2 apart
// (the jittered crash-loop pace), and over the whole run the number of
// attempts is bounded by the elapsed time.
func pacing(t *testing.T, s *Supervisor, evs []Event, attempt State) {
	t.Helper()
	set := s.cluster.Settings()
	var starts []time.Time
	failed := false
	for _, e := range evs {
		if e.Kind != StateChange {
			continue
		}
		if e.To == Failed {
			failed = true
		}
		if e.To == attempt {
			if failed && len(starts) > 0 {
				if gap := e.Time.Sub(starts[len(starts)-1]); gap < set.BackoffMax/2 {
					t.Errorf("attempts %s apart in the crash loop, want ≥ %s", gap, set.BackoffMax/2)
				}
			}
			starts = append(starts, e.Time)
		}
	}
	if len(starts) < 2 {
		t.Fatalf("%d attempts: not retried", len(starts))
	}
	elapsed := starts[len(starts)-1].Sub(starts[0])
	// At most the 5 attempts up to the crash loop, then one per
	// backoff-max/2.
	limit := 5 + int(elapsed/(set.BackoffMax/2)) + 1
	t.Logf("%d attempts in %s (limit %d)", len(starts), elapsed.Round(time.Millisecond), limit)
	if len(starts) > limit {
		t.Errorf("%d attempts in %s: a tight loop (limit %d)", len(starts), elapsed, limit)
	}
}

func TestPortBusyBacksOffAndRecovers(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 1)
	addr := node(t, c, "n0").Addr()
	release := busyPort(t, addr)
	logger, logs := captureLogger(t)
	s := newSupervisor(t, Options{Cluster: c, Logger: logger})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}

	const inUse = "Address already in use"
	b, i := r.wait(t, "n0", 0, slack, "backoff", toState(Backoff))
	if !strings.Contains(b.Err, inUse) || !strings.Contains(b.Err, addr) {
		t.Errorf("backoff event error %q does not say that %s is in use", b.Err, addr)
	}
	f, i := r.wait(t, "n0", i, 10*s.cluster.Settings().BackoffMax+slack, "failed", toState(Failed))
	if !strings.Contains(f.Err, inUse) {
		t.Errorf("failed event error %q does not say %q", f.Err, inUse)
	}
	if !strings.Contains(strings.Join(f.LogTail, "\n"), inUse) {
		t.Errorf("failed event's log tail lacks %q: %q", inUse, f.LogTail)
	}
	st := nodeStatus(t, s, "n0")
	if (st.State != Failed && st.State != Starting) || !strings.Contains(st.Error, inUse) {
		t.Errorf("status: %s, want failed with %q", describe(&st), inUse)
	}
	if len(logs.lines(inUse, "n0")) == 0 {
		t.Errorf("the supervisor's log never says %q for n0", inUse)
	}
	// A few retries at the crash-loop pace.
	r.wait(t, "n0", i+1, 4*s.cluster.Settings().BackoffMax+slack, "a third retry in failed", func(e Event) bool {
		return countTo(r.events("n0")[i:], Failed) >= 3
	})
	pacing(t, s, r.events("n0"), Starting)

	// The port frees: the node comes back by itself, within backoff-max
	// of the freeing (plus redis's own start).
	from := len(r.events("n0"))
	release()
	freed := time.Now()
	up, _ := r.wait(t, "n0", from, s.cluster.Settings().BackoffMax+slack, "up after the port freed", toState(Up))
	t.Logf("port freed → up in %s", up.Time.Sub(freed).Round(time.Millisecond))
	if err := ping(addr); err != nil {
		t.Errorf("node does not answer: %v", err)
	}
	if st := nodeStatus(t, s, "n0"); st.Error != "" {
		t.Errorf("error kept once up: %q", st.Error)
	}
}

// TestPortTakenByAnotherRedis: the process on the node's port answers PING,
// but it is not the node. The node must not be reported up while its own
// redis-server fails to bind, and the other server is left alone.
func TestPortTakenByAnotherRedis(t *testing.T) {
	t.Parallel()
	other := redistest.Server(t)
	c := testClusterPorts(t, []int{other.Port})
	s := newSupervisor(t, Options{Cluster: c})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	f, _ := r.wait(t, "n0", 0, 10*s.cluster.Settings().BackoffMax+slack, "failed", toState(Failed))
	if !strings.Contains(f.Err, "Address already in use") {
		t.Errorf("failed event's error %q does not say the address is in use", f.Err)
	}
	for _, e := range r.events("n0") {
		if e.To == Up || e.To == Loading {
			t.Errorf("reported %s though its process cannot bind: %q", e.To, e.Reason)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if missing := s.WaitReady(ctx); len(missing) != 1 {
		t.Errorf("WaitReady = %v, want [n0]", missing)
	}
	if !alive(other.PID) {
		t.Fatal("the other redis-server died")
	}
	if err := ping(other.Addr); err != nil {
		t.Errorf("the other redis-server does not answer: %v", err)
	}
}

func TestRedisServerPathWrong(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 1, "redis-server /nonexistent/redis-server")
	s := newSupervisor(t, Options{Cluster: c})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	b, i := r.wait(t, "n0", 0, slack, "backoff", toState(Backoff))
	for _, want := range []string{"set redis-server", "/nonexistent/redis-server", c.File()} {
		if !strings.Contains(b.Err, want) {
			t.Errorf("error %q does not name %q", b.Err, want)
		}
	}
	_, i = r.wait(t, "n0", i, 10*s.cluster.Settings().BackoffMax+slack, "failed", toState(Failed))
	st := nodeStatus(t, s, "n0")
	if (st.State != Failed) || !strings.Contains(st.Error, "set redis-server") {
		t.Errorf("status: %s, want failed naming the setting", describe(&st))
	}
	r.wait(t, "n0", i+1, 4*s.cluster.Settings().BackoffMax+slack, "a third retry in failed", func(e Event) bool {
		return countTo(r.events("n0")[i:], Failed) >= 3
	})
	// Every attempt fails at once: each is one event into backoff or
	// failed.
	var attempts []Event
	for _, e := range r.events("n0") {
		if e.To == Backoff || e.To == Failed {
			e.To = Backoff // count both as attempts
			attempts = append(attempts, e)
		}
	}
	pacing(t, s, attempts, Backoff)
}

func TestDataDirNotADirectory(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, []byte("not a directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := testCluster(t, 1, "dir "+filepath.Join(file, "data"))
	s := newSupervisor(t, Options{Cluster: c})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	b, i := r.wait(t, "n0", 0, slack, "backoff", toState(Backoff))
	if !strings.Contains(b.Err, "not a directory") || !strings.Contains(b.Err, file) {
		t.Errorf("error %q does not say that %s is not a directory", b.Err, file)
	}
	if !strings.Contains(b.Err, "set dir") {
		t.Errorf("error %q does not name the setting `set dir`", b.Err)
	}
	r.wait(t, "n0", i, 10*s.cluster.Settings().BackoffMax+slack, "failed", toState(Failed))
	st := nodeStatus(t, s, "n0")
	if st.PID != 0 || !strings.Contains(st.Error, "not a directory") {
		t.Errorf("status: %s", describe(&st))
	}
}

func TestCorruptAOFCrashLoops(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 1, "appendonly yes")
	s := newSupervisor(t, Options{Cluster: c})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitAllUp(t, s)
	n := node(t, c, "n0")
	ctx := context.Background()
	if err := client(t, n.Addr()).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "n0", Stopped, slack+s.cluster.Settings().StopTimeout)
	from := r.settle(t, s, "n0")

	incr, err := filepath.Glob(filepath.Join(c.Files(n).Dir, "appendonlydir", "*.incr.aof"))
	if err != nil || len(incr) != 1 {
		t.Fatalf("incr AOF files: %v %v", incr, err)
	}
	fh, err := os.OpenFile(incr[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fh.WriteString("this is not a redis command\r\n")
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	if err := s.StartNode(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	const complaint = "Bad file format reading the append only file"
	f, _ := r.wait(t, "n0", from, 10*s.cluster.Settings().BackoffMax+slack, "failed", toState(Failed))
	if !strings.Contains(strings.Join(f.LogTail, "\n"), complaint) {
		t.Errorf("failed event's log tail lacks redis's complaint %q:\n%s", complaint, strings.Join(f.LogTail, "\n"))
	}
	if !strings.Contains(f.Err, complaint) || strings.Contains(f.Err, "Server initialized") {
		t.Errorf("failed event's error %q: want %q and no routine start-up line", f.Err, complaint)
	}
	if got := states(r.events("n0")[from:]); countTo(r.events("n0")[from:], Backoff) < 1 {
		t.Errorf("no backoff before the crash loop: %v", got)
	}
	if got := countTo(r.events("n0")[from:], Up); got != 0 {
		t.Errorf("a node with a corrupt AOF came up %d times", got)
	}
}

// TestRedisRefusesConfig: a redis-include with a directive redis-server
// does not know. redis prints its complaint on stderr before it opens its
// log file; the event carries it all the same.
func TestRedisRefusesConfig(t *testing.T) {
	t.Parallel()
	inc := filepath.Join(t.TempDir(), "extra.conf")
	if err := os.WriteFile(inc, []byte("no-such-directive yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := testCluster(t, 1, "redis-include "+inc)
	s := newSupervisor(t, Options{Cluster: c})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	f, _ := r.wait(t, "n0", 0, 10*s.cluster.Settings().BackoffMax+slack, "failed", toState(Failed))
	const complaint = "no-such-directive"
	if !strings.Contains(f.Err, complaint) {
		t.Errorf("failed event's error %q does not quote the bad directive", f.Err)
	}
	if !strings.Contains(strings.Join(f.LogTail, "\n"), "FATAL CONFIG FILE ERROR") {
		t.Errorf("failed event's log tail lacks redis's complaint:\n%s", strings.Join(f.LogTail, "\n"))
	}
}

// A node whose port is held by another process waits in backoff (here up
// to 30 s), but twined watches the port and starts it within about a
// second of the port freeing; status names the process holding the port.
func TestPortFreedStartsAtOnce(t *testing.T) {
	t.Parallel()
	c := testCluster(t, 1, "backoff-min 10s", "backoff-max 30s")
	addr := node(t, c, "n0").Addr()
	release := busyPort(t, addr)
	s := newSupervisor(t, Options{Cluster: c})
	r := record(t, s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	b, i := r.wait(t, "n0", 0, slack, "backoff", toState(Backoff))
	if want := fmt.Sprintf("held by pid %d", os.Getpid()); !strings.Contains(b.Err, want) {
		t.Errorf("backoff error %q does not say %q", b.Err, want)
	}
	if st := nodeStatus(t, s, "n0"); time.Until(st.RetryAt) < 3*time.Second {
		t.Fatalf("next retry in %s: the test needs a long backoff", time.Until(st.RetryAt))
	}
	release()
	freed := time.Now()
	up, _ := r.wait(t, "n0", i, 5*time.Second, "up soon after the port freed", toState(Up))
	t.Logf("port freed → up in %s (the backoff alone would have waited about 10s)", up.Time.Sub(freed).Round(time.Millisecond))
}
