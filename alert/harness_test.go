package alert

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twine/twine/alert/smtptest"
	"github.com/twine/twine/config"
	"github.com/twine/twine/procs/redistest"
	"github.com/twine/twine/supervisor"
)

// poll calls cond every 2ms until it returns true or timeout passes, and
// reports whether it did.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// waitTimeout bounds every wait of these tests: generous, for a loaded
// machine; a passing test never waits for it.
const waitTimeout = 20 * time.Second

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 7, 1, 3, 12, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// world stands in for a supervisor in the unit tests: node statuses the
// test changes by hand, published as events on a buffered channel and
// readable as snapshots, on the fake clock. Partition p has master m<p>
// (port 4200+p) and replica r<p> (port 4300+p); all start up.
type world struct {
	clock  *fakeClock
	events chan supervisor.Event

	mu    sync.Mutex
	nodes []supervisor.NodeStatus
	seq   uint64
}

func newWorld(clock *fakeClock, partitions int) *world {
	w := &world{clock: clock, events: make(chan supervisor.Event, 1024)}
	for p := range partitions {
		for i, role := range []string{"master", "replica"} {
			w.nodes = append(w.nodes, supervisor.NodeStatus{
				Name: fmt.Sprintf("%c%d", role[0], p), Kind: "data", Partition: p, Host: "127.0.0.1",
				Port: 4200 + 100*i + p, Role: role, State: supervisor.Up, Since: clock.Now(), PID: 1000 + p,
			})
		}
	}
	return w
}

// set changes a node's state now and publishes the event; publish=false
// changes it without an event (as if the event had been dropped).
func (w *world) change(name string, to supervisor.State, reason, errStr string, publish bool, tail ...string) {
	w.mu.Lock()
	var e supervisor.Event
	for i := range w.nodes {
		n := &w.nodes[i]
		if n.Name != name {
			continue
		}
		w.seq++
		now := w.clock.Now()
		e = supervisor.Event{Seq: w.seq, Time: now, Node: name, From: n.State, To: to, Reason: reason, Err: errStr, PID: n.PID, LogTail: tail}
		n.State, n.Since, n.Reason = to, now, reason
		if errStr != "" || to.Alive() || to == supervisor.Stopped {
			n.Error = errStr
		}
		switch to {
		case supervisor.Backoff:
			n.RetryAt = now.Add(2 * time.Second)
			n.Restarts++
		case supervisor.Failed:
			n.RetryAt = now.Add(30 * time.Second)
			n.Restarts++
		}
	}
	w.mu.Unlock()
	if e.Node == "" {
		panic("no node " + name)
	}
	if publish {
		w.events <- e
	}
}

func (w *world) set(name string, to supervisor.State, reason, errStr string, tail ...string) {
	w.change(name, to, reason, errStr, true, tail...)
}

// down puts a node in backoff with an error and a log tail, as an early
// exit does.
func (w *world) down(name string) {
	w.set(name, supervisor.Down, "exited", "exit status 1: bind: Address already in use")
	w.set(name, supervisor.Backoff, "exited soon after its start (attempt 1); restarting in 2s",
		"exit status 1: bind: Address already in use",
		"# Warning: Could not create server TCP listening socket *:"+name, "# Failed listening on port (tcp), aborting.")
}

func (w *world) publish(e supervisor.Event) {
	w.mu.Lock()
	w.seq++
	e.Seq = w.seq
	e.Time = w.clock.Now()
	w.mu.Unlock()
	w.events <- e
}

func (w *world) snapshot() supervisor.Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := supervisor.Snapshot{Host: "db1", Time: w.clock.Now(), Nodes: append([]supervisor.NodeStatus(nil), w.nodes...)}
	for _, n := range s.Nodes {
		if n.State.Alive() {
			s.Up++
		}
	}
	return s
}

// harness runs an Alerter on a world with a fake clock against a real
// SMTP server.
type harness struct {
	t      *testing.T
	clock  *fakeClock
	world  *world
	srv    *smtptest.Server
	a      *Alerter
	dir    string // spool
	cancel context.CancelFunc
	done   chan struct{}
}

// testSettings parses a twine.conf with the given `set` lines (after
// defaults pointing at srv with mail-tls off).
func testSettings(t *testing.T, srv *smtptest.Server, lines ...string) config.Settings {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "set dir %s\n", t.TempDir())
	if srv != nil {
		fmt.Fprintf(&b, "set mailserver %s\nset mail-from twine@db1.example.com\n", srv.Addr)
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "mail-tls ") }) {
			b.WriteString("set mail-tls off\n")
		}
	}
	b.WriteString("set alert ops@example.com\nset alert oncall@example.com\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "set %s\n", l)
	}
	b.WriteString("n0=data 0 db1 4200 0\n")
	c, err := config.Parse(filepath.Join(t.TempDir(), "twine.conf"), []byte(b.String()))
	if err != nil {
		t.Fatalf("test settings: %v", err)
	}
	return c.Settings()
}

func testOptions(t *testing.T, s config.Settings, clock *fakeClock) Options {
	return Options{
		Settings:     s,
		Host:         "db1",
		ConfigFile:   "/etc/twine/twine.conf",
		Logger:       redistest.Logger(t),
		Now:          clock.Now,
		Tick:         2 * time.Millisecond,
		RetryMin:     10 * time.Millisecond,
		RetryMax:     100 * time.Millisecond,
		SendTimeout:  5 * time.Second,
		CloseTimeout: 5 * time.Second,
	}
}

func newHarness(t *testing.T, partitions int, lines ...string) *harness {
	t.Helper()
	clock := newClock()
	srv := smtptest.Start(t)
	s := testSettings(t, srv, lines...)
	h := &harness{t: t, clock: clock, world: newWorld(clock, partitions), srv: srv}
	h.start(testOptions(t, s, clock))
	return h
}

// start creates the Alerter and runs it until the test ends.
func (h *harness) start(o Options) {
	h.t.Helper()
	a, err := New(o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.a, h.dir = a, o.SpoolDir
	if h.dir == "" {
		h.dir = SpoolDir(o.Settings, o.Host)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() { defer close(h.done); a.Run(ctx, h.world.events, h.world.snapshot) }()
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	h.cancel()
	<-h.done
	_ = h.a.Close()
}

// settle waits until the Alerter has consumed every event published so
// far and evaluated its rules at least once after that.
func (h *harness) settle() {
	h.t.Helper()
	if !poll(waitTimeout, func() bool { return len(h.world.events) == 0 }) {
		h.t.Fatalf("alerter does not consume events")
	}
	n := h.a.evaluations.Load()
	if !poll(waitTimeout, func() bool { return h.a.evaluations.Load() >= n+2 }) {
		h.t.Fatalf("alerter does not evaluate")
	}
}

// advance moves the clock and waits for the Alerter to see it.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.settle() // events published so far happened before the move
	h.clock.Advance(d)
	h.settle()
}

// noMail asserts that nothing was composed (so nothing can reach the
// server) and the server holds no mail.
func (h *harness) noMail(when string) {
	h.t.Helper()
	if n := h.a.composed.Load(); n != 0 {
		h.t.Fatalf("%s: %d mails composed, want none", when, n)
	}
	if got := h.srv.Received(); len(got) != 0 {
		h.t.Fatalf("%s: server got %q, want nothing", when, smtptest.Subjects(got))
	}
}

// mails waits for exactly n mails: n composed, n received.
func (h *harness) mails(n int) []smtptest.Received {
	h.t.Helper()
	got := h.srv.WaitMails(n, waitTimeout)
	if c := h.a.composed.Load(); c != uint64(n) || len(got) != n {
		h.t.Fatalf("composed %d, received %d %q; want %d", c, len(got), smtptest.Subjects(got), n)
	}
	return got
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, text)
		}
	}
}

func mustNotContain(t *testing.T, what, text string, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(text, w) {
			t.Errorf("%s contains %q:\n%s", what, w, text)
		}
	}
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
