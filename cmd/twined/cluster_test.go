package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route"
	"github.com/twine/twine/config/route/replset"
	"github.com/twine/twine/procs/redistest"
)

// clusterHosts are the hosts of the many-host tests: every 127/8 address
// is loopback on Linux, so three hosts share this machine.
var clusterHosts = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}

// testCluster is a cluster of several hosts, one twined process each.
type testCluster struct {
	t       *testing.T
	path    string
	dir     string
	c       *config.Cluster
	httpd   map[string]string  // by host
	daemons map[string]*daemon // by host
}

// newTestCluster writes a twine.conf: the given node lines, where PORT
// after a host becomes a free port of that host, fast checks, and extra
// `set` lines. Node processes left behind are killed at the end.
func newTestCluster(t *testing.T, extra []string, nodes ...string) *testCluster {
	t.Helper()
	tc := &testCluster{t: t, dir: t.TempDir(), httpd: map[string]string{}, daemons: map[string]*daemon{}}
	inc := filepath.Join(tc.dir, "fast-sync.conf")
	if err := os.WriteFile(inc, []byte("repl-diskless-sync-delay 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "set redis-server %s\nset redis-include %s\n", redistest.Binary(t), inc)
	fmt.Fprintf(&b, "set check-interval 200ms\nset check-timeout 200ms\nset backoff-min 20ms\nset backoff-max 500ms\nset stop-timeout 5s\n")
	for _, e := range extra {
		fmt.Fprintf(&b, "set %s\n", e)
	}
	for _, line := range nodes {
		f := strings.Fields(line)
		for i, x := range f {
			if x == "PORT" {
				f[i] = fmt.Sprint(redistest.FreePortOn(t, f[i-1]))
			}
		}
		b.WriteString(strings.Join(f, " ") + "\n")
	}
	tc.path = filepath.Join(tc.dir, "twine.conf")
	if err := os.WriteFile(tc.path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(tc.path)
	if err != nil {
		t.Fatal(err)
	}
	tc.c = c
	taken := map[int]bool{}
	for _, n := range c.Nodes() {
		taken[n.Port] = true
	}
	for _, h := range c.Hosts() {
		// A host in another network namespace cannot be bound from here:
		// its test chooses its address. The listener's port is none of
		// the nodes' (each was free when chosen, and is again).
		for try := 0; try < 100; try++ {
			l, err := net.Listen("tcp", net.JoinHostPort(h, "0"))
			if err != nil {
				break
			}
			port := l.Addr().(*net.TCPAddr).Port
			l.Close()
			if !taken[port] {
				taken[port] = true
				tc.httpd[h] = net.JoinHostPort(h, fmt.Sprint(port))
				break
			}
		}
	}
	killNodes(t, tc.dir)
	return tc
}

// sentinelCluster is partition 0 with its master m0 on 127.0.0.1 and
// replicas r1, r2 on 127.0.0.2 and 127.0.0.3, one Sentinel per host.
func sentinelCluster(t *testing.T, extra ...string) *testCluster {
	return newTestCluster(t, extra,
		"m0=data 0 127.0.0.1 PORT 0", "r1=data 0 127.0.0.2 PORT 0", "r2=data 0 127.0.0.3 PORT 0",
		"s1=sentinel 127.0.0.1 PORT", "s2=sentinel 127.0.0.2 PORT", "s3=sentinel 127.0.0.3 PORT")
}

// start runs the twined of host and waits until all its nodes answer.
func (tc *testCluster) start(host string) *daemon {
	tc.t.Helper()
	d := startDaemon(tc.t, tc.path, "-host", host, "-httpd", tc.httpd[host])
	tc.daemons[host] = d
	d.waitLog(tc.t, 1, "every node answers")
	return d
}

// startAll runs every host's twined.
func (tc *testCluster) startAll() {
	tc.t.Helper()
	for _, h := range tc.c.Hosts() {
		d := startDaemon(tc.t, tc.path, "-host", h, "-httpd", tc.httpd[h])
		tc.daemons[h] = d
	}
	for _, h := range tc.c.Hosts() {
		tc.daemons[h].waitLog(tc.t, 1, "every node answers")
	}
}

// pid returns the PID of a node from its pidfile.
func (tc *testCluster) pid(name string) int {
	tc.t.Helper()
	n, _ := tc.c.Node(name)
	return readPID(tc.t, tc.c.Files(n).Pidfile)
}

// client returns a client of a node, closed at the end of the test.
func (tc *testCluster) client(name string) *redis.Client {
	tc.t.Helper()
	n, ok := tc.c.Node(name)
	if !ok {
		tc.t.Fatalf("no node %s", name)
	}
	cl := redis.NewClient(&redis.Options{Addr: n.Addr(), Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	tc.t.Cleanup(func() { cl.Close() })
	return cl
}

// sentinelsReady waits until every Sentinel knows replicas replicas of
// partition 0 and every other Sentinel.
func (tc *testCluster) sentinelsReady(replicas int) {
	tc.t.Helper()
	name := tc.c.MasterName(tc.c.ReplicaSet(0)[0])
	for _, s := range tc.c.Sentinels() {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), Protocol: 2, DisableIdentity: true})
		var reps, peers int
		redistest.Eventually(tc.t, 30*time.Second, func() bool {
			r, err1 := sc.Replicas(context.Background(), name).Result()
			p, err2 := sc.Sentinels(context.Background(), name).Result()
			reps, peers = 0, len(p)
			for _, x := range r {
				if x["master-link-status"] == "ok" {
					reps++
				}
			}
			return err1 == nil && err2 == nil && reps >= replicas && peers == len(tc.c.Sentinels())-1
		}, "sentinel %s knows %d replicas in sync and %d sentinels of %s", s.Name, reps, peers, name)
		sc.Close()
	}
}

// master waits until the Sentinels agree on a master of partition 0 other
// than not (a name, "" for any) that answers ROLE as a master, and returns
// its name.
func (tc *testCluster) master(not string, timeout time.Duration) string {
	tc.t.Helper()
	s := replset.NewSentinels(tc.c, "", "", time.Second)
	defer s.Close()
	name := tc.c.MasterName(tc.c.ReplicaSet(0)[0])
	var got string
	redistest.Eventually(tc.t, timeout, func() bool {
		v := s.Master(context.Background(), name)
		n, ok := tc.c.NodeAt(v.Addr)
		if !ok || !v.Majority() || n.Name == not {
			return false
		}
		r, err := replset.RoleOf(context.Background(), v.Addr, "", time.Second)
		got = n.Name
		return err == nil && r.Master()
	}, "no master of partition 0 other than %q agreed by the sentinels (last %q)", not, got)
	return got
}

// role returns a node's ROLE.
func (tc *testCluster) role(name string) replset.NodeRole {
	tc.t.Helper()
	n, _ := tc.c.Node(name)
	r, err := replset.RoleOf(context.Background(), n.Addr(), "", time.Second)
	if err != nil {
		tc.t.Fatalf("ROLE of %s: %v", name, err)
	}
	return r
}

// writeAcked writes keys prefix0..prefix(n-1), each batch acknowledged by
// replicas replicas (WAIT).
func writeAcked(t *testing.T, m *redis.Client, prefix string, n, replicas int) {
	t.Helper()
	ctx := context.Background()
	p := m.Pipeline()
	for i := range n {
		p.Set(ctx, fmt.Sprintf("%s%d", prefix, i), i, 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Wait(ctx, replicas, 5000).Result(); err != nil || got < int64(replicas) {
		t.Fatalf("WAIT %d: %d replicas acknowledged (%v)", replicas, got, err)
	}
}

// keys returns how many keys a node holds.
func keys(t *testing.T, cl *redis.Client) int64 {
	t.Helper()
	n, err := cl.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatalf("DBSIZE of %s: %v", cl.Options().Addr, err)
	}
	return n
}

// waitKeys waits until a node holds want keys.
func waitKeys(t *testing.T, cl *redis.Client, want int64, timeout time.Duration) {
	t.Helper()
	var got int64
	redistest.Eventually(t, timeout, func() bool {
		n, err := cl.DBSize(context.Background()).Result()
		got = n
		return err == nil && n == want
	}, "%s holds %d keys, want %d", cl.Options().Addr, got, want)
}

// httpCode GETs a path of a daemon and returns the status code and body.
func httpCode(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// A whole host is lost: its twined, its master and its Sentinel are
// SIGKILLed. The other Sentinels fail partition 0 over after
// sentinel-down-after; every acknowledged write is on the new master.
// When the host's twined comes back, the old master rejoins as a replica
// of the new one, with the writes made while it was gone.
func TestHostLostFailsOverAndRejoins(t *testing.T) {
	tc := sentinelCluster(t, "sentinel-down-after 2s")
	tc.startAll()
	tc.sentinelsReady(2)
	writeAcked(t, tc.client("m0"), "k", 1000, 2)

	lost := tc.daemons["127.0.0.1"]
	m0, s1 := tc.pid("m0"), tc.pid("s1")
	begin := time.Now()
	_ = lost.cmd.Process.Signal(syscall.SIGKILL)
	<-lost.done
	for _, pid := range []int{m0, s1} {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	next := tc.master("m0", 30*time.Second)
	took := time.Since(begin)
	t.Logf("host lost: %s is master after %s", next, took)
	if took < 2*time.Second {
		t.Errorf("fail-over after %s, before sentinel-down-after (2s): who decided?", took)
	}
	nm := tc.client(next)
	if got := keys(t, nm); got != 1000 {
		t.Fatalf("new master %s holds %d keys, want the 1000 acknowledged", next, got)
	}
	if err := nm.Set(context.Background(), "after", "1", 0).Err(); err != nil {
		t.Fatalf("write to the new master: %v", err)
	}
	code, body := httpCode(t, tc.httpd[tc.c.Hosts()[1]], "/partition/0/master")
	if want := next == "r1"; (code == 200) != want {
		t.Errorf("127.0.0.2 /partition/0/master = %d %q with master %s", code, body, next)
	}

	tc.start("127.0.0.1")
	waitKeys(t, tc.client("m0"), 1001, 20*time.Second)
	nn, _ := tc.c.Node(next)
	if r := tc.role("m0"); r.Role != "replica" || r.Upstream != nn.Addr() {
		t.Errorf("m0 came back as %+v, want a replica of %s", r, next)
	}
	if code, body := httpCode(t, tc.httpd["127.0.0.1"], "/partition/0/master"); code != http.StatusServiceUnavailable {
		t.Errorf("127.0.0.1 /partition/0/master = %d %q, want 503: m0 is a replica", code, body)
	}
	if code, body := httpCode(t, tc.httpd["127.0.0.1"], "/partition/0/replica"); code != http.StatusOK {
		t.Errorf("127.0.0.1 /partition/0/replica = %d %q, want 200", code, body)
	}
}

// ackWriter writes key i = i, one command after another, through the
// twine client library (route), and remembers which writes were
// acknowledged, across fail-overs.
type ackWriter struct {
	stop  chan struct{}
	done  chan struct{}
	acked []int
	errs  []string
}

func startWriter(t *testing.T, c *config.Cluster) *ackWriter {
	t.Helper()
	r, err := route.New(c, route.Options{NoCache: true, ReadTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := &ackWriter{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer r.Close()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			rep, err := r.Do(context.Background(), [][]byte{[]byte("SET"), []byte(fmt.Sprintf("w%d", i)), []byte(fmt.Sprint(i))})
			switch {
			case err != nil:
				w.errs = append(w.errs, err.Error())
			case rep.IsError():
				w.errs = append(w.errs, string(rep.Str))
			default:
				w.acked = append(w.acked, i)
			}
		}
	}()
	return w
}

// finish stops the writer and returns the acknowledged writes.
func (w *ackWriter) finish() []int {
	close(w.stop)
	<-w.done
	return w.acked
}

// missing returns the acknowledged writes that cl does not hold.
func missing(t *testing.T, cl *redis.Client, acked []int) []int {
	t.Helper()
	var out []int
	ctx := context.Background()
	for start := 0; start < len(acked); start += 1000 {
		batch := acked[start:min(start+1000, len(acked))]
		ks := make([]string, len(batch))
		for i, n := range batch {
			ks[i] = fmt.Sprintf("w%d", n)
		}
		vals, err := cl.MGet(ctx, ks...).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if v == nil {
				out = append(out, batch[i])
			}
		}
	}
	return out
}

// A planned switchover (twined -failover 0) and then a hung master
// (SIGSTOP: twined kills it and has Sentinel fail over) while a client
// writes through the twine client library: the client follows both
// switches, and every write it saw acknowledged is on the last master.
func TestFailoverCommandAndHungMasterLoseNoWrite(t *testing.T) {
	tc := sentinelCluster(t)
	tc.startAll()
	tc.sentinelsReady(2)
	w := startWriter(t, tc.c)
	time.Sleep(300 * time.Millisecond) // let it write for a while: what is measured is what it wrote

	code, out, errOut := runCLI(t, "-failover", "0", "-config", tc.path)
	if code != 0 {
		t.Fatalf("twined -failover 0: code %d\n%s%s", code, out, errOut)
	}
	t.Logf("twined -failover 0: %s", strings.TrimSpace(out))
	first := tc.master("m0", 10*time.Second)
	if !strings.Contains(out, "master is now "+first) {
		t.Errorf("-failover output does not name the new master %s: %q", first, out)
	}
	time.Sleep(300 * time.Millisecond)

	host := func(name string) string { n, _ := tc.c.Node(name); return n.Host }
	if err := syscall.Kill(tc.pid(first), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	second := tc.master(first, 30*time.Second)
	t.Logf("after SIGSTOP of %s: %s is master", first, second)
	time.Sleep(300 * time.Millisecond)
	acked := w.finish()
	if len(acked) < 100 {
		t.Fatalf("only %d writes acknowledged: the writer did not get through", len(acked))
	}
	t.Logf("%d writes acknowledged, %d refused or failed (first: %v)", len(acked), len(w.errs), firstN(w.errs, 3))
	last := tc.client(second)
	if lost := missing(t, last, acked); len(lost) > 0 {
		t.Fatalf("%d acknowledged writes lost, e.g. %v", len(lost), firstN(lost, 10))
	}
	if code, body := httpCode(t, tc.httpd[host(second)], "/partition/0/master"); code != http.StatusOK {
		t.Errorf("%s /partition/0/master = %d %q, want 200", host(second), code, body)
	}
	// The hung master was killed and rejoins as a replica.
	redistest.Eventually(t, 30*time.Second, func() bool {
		n, _ := tc.c.Node(first)
		r, err := replset.RoleOf(context.Background(), n.Addr(), "", time.Second)
		sn, _ := tc.c.Node(second)
		return err == nil && r.Role == "replica" && r.Upstream == sn.Addr()
	}, "%s did not rejoin as a replica of %s", first, second)
}

func firstN[T any](s []T, n int) []T { return s[:min(n, len(s))] }

// After a switchover the whole cluster is stopped (every twined SIGTERMed:
// nodes save and exit) and started again: partition 0 has exactly one
// master, the latest one, not twine.conf's first line. Then a reload adds
// partition 1 as a replica set: every Sentinel monitors it.
func TestFullRestartKeepsTheLatestMasterAndReloadAddsASet(t *testing.T) {
	tc := sentinelCluster(t)
	tc.startAll()
	tc.sentinelsReady(2)
	if code, out, errOut := runCLI(t, "-failover", "0", "-config", tc.path); code != 0 {
		t.Fatalf("twined -failover 0: code %d\n%s%s", code, out, errOut)
	}
	latest := tc.master("m0", 10*time.Second)
	writeAcked(t, tc.client(latest), "k", 500, 2)

	for _, d := range tc.daemons {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
	}
	for h, d := range tc.daemons {
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("twined of %s did not stop", h)
		}
	}
	tc.startAll()
	var masters []string
	redistest.Eventually(t, 20*time.Second, func() bool {
		masters = masters[:0]
		for _, n := range tc.c.ReplicaSet(0) {
			r, err := replset.RoleOf(context.Background(), n.Addr(), "", time.Second)
			if err != nil {
				return false
			}
			if r.Master() {
				masters = append(masters, n.Name)
			} else if r.State != "connected" {
				return false
			}
		}
		return len(masters) == 1
	}, "after the restart the masters of partition 0 are %v, want exactly one", masters)
	if masters[0] != latest {
		t.Errorf("after the restart %s is master, want the latest, %s", masters[0], latest)
	}
	if got := keys(t, tc.client(latest)); got != 500 {
		t.Errorf("%s holds %d keys after the restart, want 500", latest, got)
	}

	// A reload that adds a replicated partition 1.
	conf, err := os.ReadFile(tc.path)
	if err != nil {
		t.Fatal(err)
	}
	add := fmt.Sprintf("m1=data 1 127.0.0.2 %d 0\nr1b=data 1 127.0.0.3 %d 0\n", redistest.FreePortOn(t, "127.0.0.2"), redistest.FreePortOn(t, "127.0.0.3"))
	if err := os.WriteFile(tc.path, append(conf, add...), 0o644); err != nil {
		t.Fatal(err)
	}
	next, err := config.Load(tc.path)
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := next.Node("m1")
	for _, s := range next.Sentinels() {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), Protocol: 2, DisableIdentity: true})
		var got map[string]string
		redistest.Eventually(t, 30*time.Second, func() bool {
			got, err = sc.Master(context.Background(), "twine-1").Result()
			return err == nil && net.JoinHostPort(got["ip"], got["port"]) == m1.Addr() && got["num-slaves"] == "1"
		}, "sentinel %s does not monitor twine-1 at m1 with its replica: %v %v", s.Name, got, err)
		sc.Close()
	}
}
