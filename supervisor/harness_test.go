package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/procs/redistest"
)

// testHost is the host of every test cluster.
const testHost = "127.0.0.1"

// TestMain silences go-redis's process-wide logger, as twined does: a
// refused dial while a node starts is expected and reported by the
// supervisor itself.
func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{})
	os.Exit(m.Run())
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// testCluster writes a twine.conf with n data nodes on free loopback ports
// and fast checks, plus extra `set` lines ("key value"; an extra line
// replaces the default of the same key, redis-server included), and parses
// it.
func testCluster(t *testing.T, n int, extra ...string) *config.Cluster {
	t.Helper()
	return testClusterPorts(t, freePorts(t, n), extra...)
}

// freePorts returns n distinct TCP ports of 127.0.0.1 that were free a
// moment ago (all held at once while choosing, so that no two are equal).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find free port: %v", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// testClusterPorts is testCluster with the nodes' ports given.
func testClusterPorts(t *testing.T, ports []int, extra ...string) *config.Cluster {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	defaults := map[string]string{
		"redis-server": redistest.Binary(t),
		"httpd":        fmt.Sprintf("127.0.0.1:%d", otherPort(t, ports)),
		// Fast, but with a timeout that three scheduling stalls in a
		// row on a loaded machine under -race do not exceed: a missed
		// PING is a hang to the supervisor.
		"check-interval": "200ms",
		"check-timeout":  "200ms",
		"backoff-min":    "20ms",
		"backoff-max":    "500ms",
		"stop-timeout":   "5s",
	}
	for _, e := range extra {
		delete(defaults, strings.Fields(e)[0])
		fmt.Fprintf(&b, "set %s\n", e)
	}
	for k, v := range defaults {
		fmt.Fprintf(&b, "set %s %s\n", k, v)
	}
	for i, port := range ports {
		fmt.Fprintf(&b, "n%d=data %d %s %d 0\n", i, i, testHost, port)
	}
	path := filepath.Join(dir, "twine.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("load test config: %v", err)
	}
	return c
}

// otherPort returns a free port that is none of ports.
func otherPort(t *testing.T, ports []int) int {
	t.Helper()
	for {
		if p := redistest.FreePort(t); !slices.Contains(ports, p) {
			return p
		}
	}
}

// startSupervisor starts a supervisor on the cluster's only host and ends
// it, and every redis-server it may have left, when the test ends.
func startSupervisor(t *testing.T, c *config.Cluster) *Supervisor {
	t.Helper()
	return startSupervisorOpts(t, Options{Cluster: c})
}

// startSupervisorOpts is startSupervisor with options; Host and Logger are
// filled in when empty.
func startSupervisorOpts(t *testing.T, o Options) *Supervisor {
	t.Helper()
	s := newSupervisor(t, o)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// newSupervisor is startSupervisorOpts without the Start, for a test that
// subscribes first.
func newSupervisor(t *testing.T, o Options) *Supervisor {
	t.Helper()
	if o.Host == "" {
		o.Host = testHost
	}
	if o.Logger == nil {
		o.Logger = redistest.Logger(t)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeAndReap(t, s) })
	return s
}

// captureLogger returns a logger writing to the test log and to a buffer
// that the test can search.
func captureLogger(t *testing.T) (hclog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return hclog.New(&hclog.LoggerOptions{
		Level:  hclog.Debug,
		Output: io.MultiWriter(buf, testWriter{redistest.Logger(t)}),
	}), buf
}

// testWriter turns a logger back into a writer of whole lines.
type testWriter struct{ l hclog.Logger }

func (w testWriter) Write(b []byte) (int, error) {
	w.l.Info(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// logBuffer is a bytes.Buffer safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the lines logged so far that contain every one of subs.
func (l *logBuffer) lines(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// closeAndReap closes s and SIGKILLs, by PID, any node process that
// outlived it.
func closeAndReap(t *testing.T, s *Supervisor) {
	pids := map[int]bool{}
	for _, n := range s.Snapshot().Nodes {
		if n.PID > 0 {
			pids[n.PID] = true
		}
	}
	_ = s.Close()
	for pid := range pids {
		if alive(pid) {
			t.Logf("killing leftover node process %d", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// waitState waits until node is in state want and returns its status.
func waitState(t *testing.T, s *Supervisor, node string, want State, timeout time.Duration) NodeStatus {
	t.Helper()
	var last NodeStatus
	redistest.Eventually(t, timeout, func() bool {
		last = nodeStatus(t, s, node)
		return last.State == want
	}, "node %s never reached state %s (last: %s)", node, want, describe(&last))
	return last
}

// describe renders a status for failure messages. It takes a pointer so
// that the message shows the value at the time of the failure.
func describe(n *NodeStatus) fmt.Stringer { return statusText{n} }

type statusText struct{ n *NodeStatus }

func (s statusText) String() string {
	n := s.n
	return fmt.Sprintf("state %s pid %d restarts %d reason %q error %q", n.State, n.PID, n.Restarts, n.Reason, n.Error)
}

func nodeStatus(t *testing.T, s *Supervisor, node string) NodeStatus {
	t.Helper()
	for _, n := range s.Snapshot().Nodes {
		if n.Name == node {
			return n
		}
	}
	t.Fatalf("no node %s in snapshot", node)
	return NodeStatus{}
}

// waitAllUp waits until WaitReady returns and then until every node that
// is not stopped is up: WaitReady also accepts a node still loading its
// data, which answers other commands with LOADING.
func waitAllUp(t *testing.T, s *Supervisor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if missing := s.WaitReady(ctx); missing != nil {
		t.Fatalf("nodes not up: %v", missing)
	}
	var last []NodeStatus
	redistest.Eventually(t, 20*time.Second, func() bool {
		last = s.Snapshot().Nodes
		for _, n := range last {
			if n.State != Up && n.State != Stopped {
				return false
			}
		}
		return true
	}, "nodes not up after WaitReady: %v", &last)
}

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

// node returns the config of a node of c.
func node(t *testing.T, c *config.Cluster, name string) config.Node {
	t.Helper()
	n, ok := c.Node(name)
	if !ok {
		t.Fatalf("no node %s in config", name)
	}
	return n
}

// ping PINGs addr once with a fresh connection.
func ping(addr string) error {
	c := redis.NewClient(&redis.Options{
		Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1, DialerRetries: 1,
		DialTimeout: time.Second, ReadTimeout: time.Second,
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// alive reports whether pid is a live process: it exists and is not a
// zombie (PID 1 here does not reap orphans, so an exited process that is
// not our child can linger as one).
func alive(pid int) bool {
	st := procState(pid)
	return st != "gone" && st != "Z" && st != "X"
}

// procState returns the state letter of pid in /proc/PID/stat (R, S, T,
// Z...), or "gone".
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "gone"
	}
	// pid (comm) S ...: comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return "gone"
	}
	return string(b[i+2])
}

// busyPort listens on addr, accepting and closing every connection, until
// the returned func (idempotent) is called or the test ends.
func busyPort(t *testing.T, addr string) (release func()) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("take port %s: %v", addr, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			l.Close()
			<-done
		})
	}
	t.Cleanup(release)
	return release
}

// recorder keeps every event of a subscription, for assertions after the
// fact and for waiting on an event.
type recorder struct {
	sub  *Subscription
	mu   sync.Mutex
	evs  []Event
	done chan struct{}
}

// record subscribes to s with a buffer large enough that no test loses an
// event, and records until the subscription ends.
func record(t *testing.T, s *Supervisor) *recorder {
	r := &recorder{sub: s.Subscribe(4096), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for e := range r.sub.C {
			r.mu.Lock()
			r.evs = append(r.evs, e)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		r.sub.Cancel()
		<-r.done
	})
	return r
}

// events returns the events recorded so far for node ("" = all).
func (r *recorder) events(node string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.evs {
		if node == "" || e.Node == node {
			out = append(out, e)
		}
	}
	return out
}

// wait waits for the first event of node (after index from of its
// events) that satisfies match, and returns it and its index.
func (r *recorder) wait(t *testing.T, node string, from int, timeout time.Duration, what string, match func(Event) bool) (Event, int) {
	t.Helper()
	var got Event
	idx := -1
	redistest.Eventually(t, timeout, func() bool {
		evs := r.events(node)
		for i := from; i < len(evs); i++ {
			if match(evs[i]) {
				got, idx = evs[i], i
				return true
			}
		}
		return false
	}, "no event of %s: %s; events: %s", node, what, eventList(r.events(node)))
	return got, idx
}

// settle waits until the recorder has caught up with node's current
// (steady) state: its last event leads into the state the status shows.
// It returns the number of node's events, for a later wait to start from.
// The status changes before the event is delivered, so a count taken
// right after waitState may miss the event that led there.
func (r *recorder) settle(t *testing.T, s *Supervisor, node string) int {
	t.Helper()
	var n int
	redistest.Eventually(t, slack, func() bool {
		evs := r.events(node)
		n = len(evs)
		return n > 0 && evs[n-1].To == nodeStatus(t, s, node).State
	}, "events of %s never caught up with its state %s: %s", node, nodeStatus(t, s, node).State, eventList(r.events(node)))
	return n
}

// toState matches a state change into st.
func toState(st State) func(Event) bool {
	return func(e Event) bool { return e.Kind == StateChange && e.To == st }
}

func eventList(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  #%d %s %s→%s %q err=%q", e.Seq, e.Node, e.From, e.To, e.Reason, e.Err)
	}
	return b.String()
}

// states returns the To states of evs, in order.
func states(evs []Event) []State {
	var out []State
	for _, e := range evs {
		if e.Kind == StateChange {
			out = append(out, e.To)
		}
	}
	return out
}

// countTo counts the state changes into st.
func countTo(evs []Event, st State) int {
	return len(slices.DeleteFunc(states(evs), func(s State) bool { return s != st }))
}
