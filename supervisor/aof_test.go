package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	_ "time/tzdata" // for the daylight-saving case of TestAOFWindow

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/procs/redistest"
	"github.com/twine/twine/supervisor/setup"
)

// aofKeys is how many keys each node holds in the AOF tests, so that a
// rewrite has work to do.
const aofKeys = 20000

// With appendonly on and a short period, every node is rewritten again and
// again, and with concurrency 1 never two at once: both seen from Redis
// itself (its aof_rewrites counter, and INFO persistence sampled all along).
func TestAOFRewriteEveryNodeOneAtATime(t *testing.T) {
	s, clients := aofCluster(t, 4, "aof-rewrite 1s")
	base := rewriteCounts(t, clients)
	sm := sampleRewrites(t, clients)
	redistest.Eventually(t, 30*time.Second, func() bool {
		return allRose(rewriteCounts(t, clients), base, 2)
	}, "not every node was rewritten twice from aof_rewrites %v", base)
	most, seen := sm.stop(t)
	t.Logf("rewrites seen in progress: %d; most at once: %d; samples: %d", seen, most, sm.samples())
	if most != 1 {
		t.Errorf("at most %d nodes rewrote at once, want 1 (aof-rewrite-concurrency 1)", most)
	}
	if seen < len(clients) {
		t.Errorf("only %d rewrites were seen in progress, want at least %d: the sampler proves nothing", seen, len(clients))
	}
	for i, c := range clients {
		name := fmt.Sprintf("n%d", i)
		// twined learns of a rewrite's end at its next poll, after Redis
		// has counted it: wait for its status to catch up.
		var st NodeStatus
		ok := redistest.Poll(10*time.Second, func() bool {
			st = nodeStatus(t, s, name)
			return st.AOFRewrites >= 2 && st.LastAOFRewriteStatus == "ok" && !st.LastAOFRewrite.IsZero()
		})
		if !ok {
			t.Errorf("%s status: aof_rewrites %d, last %v, status %q; want >= 2, a time, ok",
				name, st.AOFRewrites, st.LastAOFRewrite, st.LastAOFRewriteStatus)
		}
		if n, err := c.DBSize(context.Background()).Result(); err != nil || n != aofKeys {
			t.Errorf("%s holds %d keys (%v) after its rewrites, want %d", name, n, err, aofKeys)
		}
	}
}

// aof-rewrite-concurrency 2 lets two nodes rewrite at once, never three.
func TestAOFRewriteConcurrencyTwo(t *testing.T) {
	_, clients := aofCluster(t, 4, "aof-rewrite 1s", "aof-rewrite-concurrency 2")
	base := rewriteCounts(t, clients)
	sm := sampleRewrites(t, clients)
	redistest.Eventually(t, 30*time.Second, func() bool {
		return allRose(rewriteCounts(t, clients), base, 1) && sm.most() >= 2
	}, "never saw two rewrites at once, or a node was not rewritten from aof_rewrites %v", base)
	most, seen := sm.stop(t)
	t.Logf("rewrites seen in progress: %d; most at once: %d; samples: %d", seen, most, sm.samples())
	if most != 2 {
		t.Errorf("at most %d nodes rewrote at once, want 2", most)
	}
}

// A node in the middle of a BGSAVE, or of a rewrite it was asked for by
// someone else, is skipped and tried again after the retry delay. The
// scheduler is driven by hand, on a fake clock.
//
// The nodes require a password here, which the scheduler's clients give.
func TestAOFSkipsBusyNode(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "redis.pass")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, clients := aofCluster(t, 1, "aof-rewrite 0", "redis-password-file "+pw)
	c := clients[0]
	clk := newFakeClock()
	a := handScheduler(t, s, clk, aofOptions{period: time.Hour, retry: time.Minute})
	n := a.nodes[0]
	for i, busy := range []struct{ cmd, field string }{
		{"bgsave", "rdb_bgsave_in_progress"},
		{"bgrewriteaof", "aof_rewrite_in_progress"},
	} {
		t.Run(busy.cmd, func(t *testing.T) {
			clk.advance(time.Hour) // n0 is due (again)
			if err := c.Do(context.Background(), busy.cmd).Err(); err != nil {
				t.Fatalf("%s: %v", busy.cmd, err)
			}
			if info := persistence(t, c); info[busy.field] != "1" {
				t.Fatalf("%s:%s right after %s; the test needs it running", busy.field, info[busy.field], busy.cmd)
			}
			a.step()
			if a.active != 1 {
				t.Fatalf("step started %d jobs, want 1", a.active)
			}
			r := await(t, a)
			if r.outcome != aofBusy || r.reason != busy.field+":1" {
				t.Fatalf("result %+v, want busy with %s:1", r, busy.field)
			}
			a.finish(r)
			if want := clk.now().Add(time.Minute); !n.due.Equal(want) {
				t.Errorf("next try at %v, want after the retry delay, %v", n.due, want)
			}
			if st := nodeStatus(t, s, "n0"); st.AOFRewrites != i {
				t.Errorf("status counts %d rewrites, want %d: the skip was counted", st.AOFRewrites, i)
			}
			a.step()
			if a.active != 0 {
				t.Fatal("a skipped node was tried again before its retry delay")
			}
			redistest.Eventually(t, 30*time.Second, func() bool {
				return persistence(t, c).busy() == ""
			}, "%s did not end", busy.cmd)
			before := rewriteCounts(t, clients)[0]
			clk.advance(time.Minute)
			a.step()
			r = await(t, a)
			a.finish(r)
			if r.outcome != aofDone || r.status != "ok" {
				t.Fatalf("retry: result %+v, want done ok", r)
			}
			if got := rewriteCounts(t, clients)[0]; got != before+1 {
				t.Errorf("aof_rewrites %d after the retry, want %d", got, before+1)
			}
			if st := nodeStatus(t, s, "n0"); st.AOFRewrites != i+1 || st.LastAOFRewriteStatus != "ok" {
				t.Errorf("status: %d rewrites, %q; want %d, ok", st.AOFRewrites, st.LastAOFRewriteStatus, i+1)
			}
			if want := clk.now().Add(time.Hour); !n.due.Equal(want) {
				t.Errorf("next rewrite at %v, want one period after this one, %v", n.due, want)
			}
		})
	}
}

// A node that is not up is put off without being asked; the others go on,
// and it is rewritten once it is back.
func TestAOFPutsOffNodeNotUp(t *testing.T) {
	s, clients := aofCluster(t, 3, "aof-rewrite 0")
	clk := newFakeClock()
	a := handScheduler(t, s, clk, aofOptions{period: time.Hour, retry: time.Minute, concurrency: 3})
	ctx := context.Background()
	if err := s.Stop(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "n1", Stopped, 20*time.Second)
	clk.advance(time.Hour)
	a.step()
	if got := activeNames(a); !slices.Equal(got, []string{"n0", "n2"}) {
		t.Fatalf("jobs for %v, want n0 and n2", got)
	}
	if want := clk.now().Add(time.Minute); !a.nodes[1].due.Equal(want) {
		t.Errorf("n1 next try at %v, want %v", a.nodes[1].due, want)
	}
	for range 2 {
		r := await(t, a)
		if r.outcome != aofDone {
			t.Errorf("%s: result %+v, want done", r.node.w.node.Name, r)
		}
		a.finish(r)
	}
	if err := s.StartNode(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "n1", Up, 20*time.Second)
	before := rewriteCounts(t, clients)
	clk.advance(time.Minute)
	a.step()
	if got := activeNames(a); !slices.Equal(got, []string{"n1"}) {
		t.Fatalf("jobs for %v, want n1 alone", got)
	}
	a.finish(await(t, a))
	after := rewriteCounts(t, clients)
	if after[1] != before[1]+1 || after[0] != before[0] || after[2] != before[2] {
		t.Errorf("aof_rewrites %v → %v; want n1 alone to rise by one", before, after)
	}
	for _, name := range []string{"n0", "n1", "n2"} {
		if st := nodeStatus(t, s, name); st.AOFRewrites != 1 || st.LastAOFRewriteStatus != "ok" {
			t.Errorf("%s status: %d rewrites, %q; want 1, ok", name, st.AOFRewrites, st.LastAOFRewriteStatus)
		}
	}
}

// Rewrites start only inside the daily window, here across midnight.
func TestAOFWindowAcrossMidnight(t *testing.T) {
	s, _ := aofCluster(t, 2, "aof-rewrite 0")
	clk := newFakeClock() // 12:00
	a := handScheduler(t, s, clk, aofOptions{
		period: time.Hour,
		window: config.DailyWindow{Start: 22 * time.Hour, End: 2 * time.Hour},
	})
	at := func(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, time.UTC) }
	steps := []struct {
		at   time.Time
		want []string
	}{
		{at(10, 13, 0), nil},             // both due, window closed
		{at(10, 21, 59), nil},            //
		{at(10, 23, 30), []string{"n0"}}, // open: the earliest due first
		{at(11, 2, 0), nil},              // closed again (the end is excluded)
		{at(11, 21, 0), nil},             //
		{at(11, 22, 0), []string{"n1"}},
	}
	for _, st := range steps {
		clk.set(st.at)
		a.step()
		if got := activeNames(a); !slices.Equal(got, st.want) {
			t.Fatalf("%s: jobs for %v, want %v", st.at.Format("Jan 2 15:04"), got, st.want)
		}
		if st.want != nil {
			r := await(t, a)
			a.finish(r)
			if r.outcome != aofDone || r.status != "ok" {
				t.Fatalf("result %+v, want done ok", r)
			}
		}
	}
	if st := nodeStatus(t, s, "n0"); st.AOFRewrites != 1 || !st.LastAOFRewrite.Equal(at(10, 23, 30)) {
		t.Errorf("n0 status: %d rewrites, last %v; want 1 at 23:30", st.AOFRewrites, st.LastAOFRewrite)
	}
}

// A rewrite whose child dies ends with aof_last_bgrewrite_status:err: an
// AOFRewriteFailed event for the node, and the status says so.
func TestAOFRewriteFailedEvent(t *testing.T) {
	s, clients := aofCluster(t, 1, "aof-rewrite 0")
	c := clients[0]
	// One key in two sleeps during the rewrite: several seconds, time
	// enough to find the child and kill it.
	if err := c.ConfigSet(context.Background(), "rdb-key-save-delay", "-2").Err(); err != nil {
		t.Fatal(err)
	}
	sub := s.Subscribe(64)
	clk := newFakeClock()
	a := handScheduler(t, s, clk, aofOptions{period: time.Hour})
	clk.advance(time.Hour)
	a.step()
	node := nodeStatus(t, s, "n0")
	var child int
	redistest.Eventually(t, 10*time.Second, func() bool {
		child = childOf(t, node.PID)
		return child != 0
	}, "no rewrite child of redis-server %d appeared", node.PID)
	t.Logf("killing the rewrite child %d of node %d", child, node.PID)
	if err := syscall.Kill(child, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := await(t, a)
	if r.outcome != aofDone || r.status != "err" {
		t.Fatalf("result %+v, want done with status err", r)
	}
	a.finish(r)
	deadline := time.After(10 * time.Second)
	for {
		var e Event
		select {
		case e = <-sub.C:
		case <-deadline:
			t.Fatal("no AOFRewriteFailed event")
		}
		if e.Kind != AOFRewriteFailed {
			continue
		}
		if e.Node != "n0" || e.From != Up || e.To != Up || e.PID != node.PID ||
			!strings.Contains(e.Reason, "AOF rewrite failed") || e.Err != "aof_last_bgrewrite_status:err" {
			t.Errorf("event %+v; want n0, up → up, pid %d, a reason and the status", e, node.PID)
		}
		break
	}
	if st := nodeStatus(t, s, "n0"); st.AOFRewrites != 1 || st.LastAOFRewriteStatus != "err" || st.State != Up {
		t.Errorf("status: %d rewrites, %q, %s; want 1, err, up", st.AOFRewrites, st.LastAOFRewriteStatus, st.State)
	}
}

// The first rewrites are spread over one period, and a node whose watcher
// does not see it up is put off by the retry delay without a job. No
// process runs here: the watchers are fresh, in state stopped.
func TestAOFFirstRewritesSpread(t *testing.T) {
	c := testCluster(t, 4, "appendonly yes")
	env := nodeEnv{cluster: c, settings: c.Settings(), logger: hclog.NewNullLogger(), now: time.Now}
	var ws []*watcher
	for _, n := range c.NodesOn("127.0.0.1") {
		ws = append(ws, newWatcher(n, env))
	}
	clk := newFakeClock()
	start := clk.now()
	a := newAOFScheduler(context.Background(), ws, aofOptions{
		period: time.Hour, concurrency: 1, retry: time.Minute, now: clk.now, logger: hclog.NewNullLogger(),
	})
	defer a.close()
	for i, n := range a.nodes {
		if want := start.Add(time.Duration(i+1) * 15 * time.Minute); !n.due.Equal(want) {
			t.Errorf("%s first due %v, want %v", n.w.node.Name, n.due.Sub(start), want.Sub(start))
		}
	}
	clk.advance(31 * time.Minute) // n0 and n1 due
	a.step()
	if a.active != 0 {
		t.Fatalf("%d jobs for nodes that are not up", a.active)
	}
	for i, want := range []time.Duration{32, 32, 45, 60} {
		if got := a.nodes[i].due.Sub(start); got != want*time.Minute {
			t.Errorf("n%d due at +%v, want +%v", i, got, want*time.Minute)
		}
	}
}

// appendonly no, or aof-rewrite 0, means no scheduler; otherwise the
// options follow the settings.
func TestAOFOptions(t *testing.T) {
	tests := []struct {
		extra []string
		ok    bool
	}{
		{[]string{"appendonly no", "aof-rewrite 1h"}, false},
		{[]string{"appendonly yes", "aof-rewrite 0"}, false},
		{[]string{"appendonly yes"}, true},
		{[]string{"appendonly yes", "aof-rewrite 2s", "aof-rewrite-concurrency 3", "aof-rewrite-window 02:00-05:00"}, true},
	}
	for _, tt := range tests {
		c := testCluster(t, 1, tt.extra...)
		env := nodeEnv{cluster: c, settings: c.Settings(), password: "pw", logger: hclog.NewNullLogger(), now: time.Now}
		o, ok := aofOptionsFor(env)
		if ok != tt.ok {
			t.Errorf("%q: scheduler %v, want %v", tt.extra, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		s := c.Settings()
		if o.period != s.AOFRewrite || o.window != s.AOFRewriteWindow || o.concurrency != s.AOFRewriteConcurrency || o.password != "pw" {
			t.Errorf("%q: options %+v do not follow the settings", tt.extra, o)
		}
		if o.tick <= 0 || o.tick > time.Second || o.poll <= 0 || o.retry < o.tick || o.retry > time.Minute {
			t.Errorf("%q: pacing tick %v poll %v retry %v out of bounds", tt.extra, o.tick, o.poll, o.retry)
		}
	}
}

func TestAOFParseInfo(t *testing.T) {
	info := parseInfo("# Persistence\r\nloading:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:1\r\nrdb_bgsave_in_progress:0\r\naof_last_bgrewrite_status:ok\r\n")
	if info["aof_last_bgrewrite_status"] != "ok" || info.busy() != "aof_rewrite_scheduled:1" || !info.rewriting() {
		t.Errorf("parsed %v: busy %q rewriting %v", info, info.busy(), info.rewriting())
	}
	if idle := parseInfo("aof_rewrite_in_progress:0\nrdb_bgsave_in_progress:0\n"); idle.busy() != "" || idle.rewriting() {
		t.Errorf("idle node reads busy %q rewriting %v", idle.busy(), idle.rewriting())
	}
}

// aofCluster starts a supervisor on n appendonly nodes with the extra
// settings (a redis-password-file among them is used by the clients), fills each node with aofKeys keys through pipelines, and slows
// each node's rewrites (rdb-key-save-delay: a 1µs sleep, ~0.15ms here, for
// one key in eight) so that one lasts a few hundred milliseconds. It
// returns a client per node, in node order.
func aofCluster(t *testing.T, n int, extra ...string) (*Supervisor, []*redis.Client) {
	t.Helper()
	// Health checks at an easier pace than the harness's: a loaded test
	// machine running several forks must not get nodes killed as hung.
	c := testCluster(t, n, append([]string{"appendonly yes", "check-interval 250ms", "check-timeout 250ms"}, extra...)...)
	password, err := setup.ReadPassword(c.Settings().RedisPasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	s := startSupervisor(t, c)
	waitAllUp(t, s)
	var clients []*redis.Client
	for _, node := range c.NodesOn("127.0.0.1") {
		cl := redis.NewClient(&redis.Options{Addr: node.Addr(), Password: password, MaxRetries: -1, DialerRetries: 1})
		t.Cleanup(func() { cl.Close() })
		fill(t, cl, aofKeys)
		if err := cl.ConfigSet(context.Background(), "rdb-key-save-delay", "-8").Err(); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, cl)
	}
	return s, clients
}

// fill writes keys keys, in pipelines of 2000 commands.
func fill(t *testing.T, c *redis.Client, keys int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < keys; i += 2000 {
		p := c.Pipeline()
		for j := i; j < min(i+2000, keys); j++ {
			p.Set(ctx, "key:"+strconv.Itoa(j), "twenty bytes of data", 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatalf("fill %s: %v", c.Options().Addr, err)
		}
	}
}

func persistence(t *testing.T, c *redis.Client) infoFields {
	t.Helper()
	text, err := c.Info(context.Background(), "persistence").Result()
	if err != nil {
		t.Fatalf("INFO persistence of %s: %v", c.Options().Addr, err)
	}
	return parseInfo(text)
}

// rewriteCounts returns each node's aof_rewrites, Redis's count of
// rewrites begun.
func rewriteCounts(t *testing.T, clients []*redis.Client) []int {
	t.Helper()
	var out []int
	for _, c := range clients {
		n, err := strconv.Atoi(persistence(t, c)["aof_rewrites"])
		if err != nil {
			t.Fatalf("aof_rewrites of %s: %v", c.Options().Addr, err)
		}
		out = append(out, n)
	}
	return out
}

func allRose(now, base []int, by int) bool {
	for i := range now {
		if now[i] < base[i]+by {
			return false
		}
	}
	return true
}

// handScheduler builds a scheduler over s's watchers, driven by hand on
// clk; zero options get test defaults. It is closed at cleanup, before the
// supervisor.
func handScheduler(t *testing.T, s *Supervisor, clk *fakeClock, o aofOptions) *aofScheduler {
	t.Helper()
	s.mu.Lock()
	ws := s.watchers
	s.mu.Unlock()
	o.password = ws[0].env.password
	o.concurrency = max(o.concurrency, 1)
	o.poll = 20 * time.Millisecond
	o.retry = orDefault(o.retry, time.Minute)
	o.now = clk.now
	o.publish = s.bus.publish
	o.logger = redistest.Logger(t).Named("aof")
	a := newAOFScheduler(context.Background(), ws, o)
	t.Cleanup(a.close)
	return a
}

func orDefault(d, otherwise time.Duration) time.Duration {
	if d == 0 {
		return otherwise
	}
	return d
}

// String shows a result in test failures.
func (r aofResult) String() string {
	return fmt.Sprintf("{%s outcome %d status %q reason %q err %v}", r.node.w.node.Name, r.outcome, r.status, r.reason, r.err)
}

// await returns the next job result.
func await(t *testing.T, a *aofScheduler) aofResult {
	t.Helper()
	select {
	case r := <-a.results:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no job result within 30s")
		return aofResult{}
	}
}

func activeNames(a *aofScheduler) []string {
	var out []string
	for _, n := range a.nodes {
		if n.active {
			out = append(out, n.w.node.Name)
		}
	}
	return out
}

// childOf returns the PID of a child process of pid (redis-server's fork
// for a rewrite or a save), or 0.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if f := strings.Fields(string(stat[i+1:])); i > 0 && len(f) > 1 && f[1] == strconv.Itoa(pid) && f[0] != "Z" {
			return p
		}
	}
	return 0
}

// fakeClock is a clock that moves only when told; safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rewriteSampler reads aof_rewrite_in_progress of every node, round robin,
// as fast as it can. Samples are numbered in the order taken. A run of
// consecutive in-progress samples of one node, from sample i to sample j,
// proves the node was rewriting throughout (a node cannot end a rewrite
// and begin another in the few milliseconds between two of its samples),
// so the nodes whose runs cover one sample number were certainly rewriting
// at the same moment. Sampling cannot make a false overlap out of one
// rewrite ending as another begins.
type rewriteSampler struct {
	clients []*redis.Client
	stopc   chan struct{}
	done    chan struct{}

	mu   sync.Mutex
	seq  int
	open []*sampleRun // per node, the run going on
	runs []sampleRun  // ended runs
	errs []error
}

type sampleRun struct{ start, end int }

func sampleRewrites(t *testing.T, clients []*redis.Client) *rewriteSampler {
	s := &rewriteSampler{clients: clients, stopc: make(chan struct{}), done: make(chan struct{}),
		open: make([]*sampleRun, len(clients))}
	go s.loop()
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *rewriteSampler) loop() {
	defer close(s.done)
	for {
		for i, c := range s.clients {
			select {
			case <-s.stopc:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			text, err := c.Info(ctx, "persistence").Result()
			cancel()
			s.record(i, err == nil && parseInfo(text)["aof_rewrite_in_progress"] == "1", err)
		}
	}
}

func (s *rewriteSampler) record(node int, rewriting bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if err != nil && len(s.errs) < 10 {
		s.errs = append(s.errs, err)
	}
	switch r := s.open[node]; {
	case rewriting && r == nil:
		s.open[node] = &sampleRun{start: s.seq, end: s.seq}
	case rewriting:
		r.end = s.seq
	case r != nil: // ended, or unknown after an error: either way the run ends
		s.runs = append(s.runs, *r)
		s.open[node] = nil
	}
}

// most returns how many nodes were certainly rewriting at once, at most,
// so far.
func (s *rewriteSampler) most() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	most, _ := s.overlap()
	return most
}

func (s *rewriteSampler) samples() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// overlap sweeps the runs; it returns the most runs covering one sample
// and the number of runs (rewrites seen in progress).
func (s *rewriteSampler) overlap() (most, runs int) {
	type edge struct{ at, d int }
	var edges []edge
	all := slices.Clone(s.runs)
	for _, r := range s.open {
		if r != nil {
			all = append(all, *r)
		}
	}
	for _, r := range all {
		edges = append(edges, edge{r.start, 1}, edge{r.end, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			return a.at - b.at
		}
		return b.d - a.d // a run that starts and ends on one sample counts
	})
	cur := 0
	for _, e := range edges {
		cur += e.d
		most = max(most, cur)
	}
	return most, len(all)
}

// stop ends the sampling (idempotent) and returns the most nodes seen
// rewriting at once and the number of rewrites seen. Errors of the
// sampler's INFO calls fail the test.
func (s *rewriteSampler) stop(t *testing.T) (most, runs int) {
	select {
	case <-s.stopc:
	default:
		close(s.stopc)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, err := range s.errs {
		t.Errorf("sampler: INFO persistence: %v", err)
	}
	s.errs = nil
	return s.overlap()
}

// The window is read on the wall clock of the time's own location; it may
// wrap midnight; its end is excluded.
func TestAOFWindow(t *testing.T) {
	hm := func(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }
	night := config.DailyWindow{Start: hm(22, 0), End: hm(2, 0)}
	early := config.DailyWindow{Start: hm(2, 0), End: hm(5, 30)}
	late := config.DailyWindow{Start: hm(23, 0), End: hm(24, 0)}
	east := time.FixedZone("UTC+9", 9*3600)
	at := func(day, h, m, s int, loc *time.Location) time.Time { return time.Date(2026, 3, day, h, m, s, 0, loc) }
	type windowCase struct {
		w     config.DailyWindow
		t     time.Time
		in    bool
		opens time.Time
	}
	tests := []windowCase{
		{config.DailyWindow{}, at(10, 12, 0, 0, time.UTC), true, at(10, 12, 0, 0, time.UTC)},
		{early, at(10, 1, 59, 59, time.UTC), false, at(10, 2, 0, 0, time.UTC)},
		{early, at(10, 2, 0, 0, time.UTC), true, at(10, 2, 0, 0, time.UTC)},
		{early, at(10, 5, 29, 59, time.UTC), true, at(10, 5, 29, 59, time.UTC)},
		{early, at(10, 5, 30, 0, time.UTC), false, at(11, 2, 0, 0, time.UTC)},
		{early, at(10, 23, 0, 0, time.UTC), false, at(11, 2, 0, 0, time.UTC)},
		{night, at(10, 21, 59, 0, time.UTC), false, at(10, 22, 0, 0, time.UTC)},
		{night, at(10, 22, 0, 0, time.UTC), true, at(10, 22, 0, 0, time.UTC)},
		{night, at(10, 23, 59, 59, time.UTC), true, at(10, 23, 59, 59, time.UTC)},
		{night, at(11, 0, 0, 0, time.UTC), true, at(11, 0, 0, 0, time.UTC)},
		{night, at(11, 1, 59, 0, time.UTC), true, at(11, 1, 59, 0, time.UTC)},
		{night, at(11, 2, 0, 0, time.UTC), false, at(11, 22, 0, 0, time.UTC)},
		{night, at(11, 12, 0, 0, time.UTC), false, at(11, 22, 0, 0, time.UTC)},
		{late, at(10, 23, 59, 59, time.UTC), true, at(10, 23, 59, 59, time.UTC)},
		{late, at(11, 0, 0, 0, time.UTC), false, at(11, 23, 0, 0, time.UTC)},
		{late, at(31, 23, 30, 0, time.UTC).Add(time.Hour), false, time.Date(2026, 4, 1, 23, 0, 0, 0, time.UTC)},
		// 13:30 UTC is 22:30 in UTC+9: the window follows the location.
		{night, at(10, 13, 30, 0, time.UTC).In(east), true, at(10, 22, 30, 0, east)},
		{night, at(10, 13, 30, 0, time.UTC), false, at(10, 22, 0, 0, time.UTC)},
	}
	// Berlin skips 02:00-03:00 on 29 March 2026: a window opening at 02:00
	// opens when the clock reads 03:00 that night.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests = append(tests, windowCase{early, time.Date(2026, 3, 29, 1, 59, 0, 0, berlin), false, time.Date(2026, 3, 29, 3, 0, 0, 0, berlin)})
	for _, tt := range tests {
		if got := inWindow(tt.w, tt.t); got != tt.in {
			t.Errorf("inWindow(%s, %s) = %v, want %v", windowText(tt.w), tt.t.Format(time.DateTime+" MST"), got, tt.in)
		}
		if got := windowOpens(tt.w, tt.t); !got.Equal(tt.opens) {
			t.Errorf("windowOpens(%s, %s) = %s, want %s", windowText(tt.w), tt.t.Format(time.DateTime+" MST"),
				got.Format(time.DateTime+" MST"), tt.opens.Format(time.DateTime+" MST"))
		}
	}
}
