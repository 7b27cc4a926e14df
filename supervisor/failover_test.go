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

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
	"github.com/twine/twine/procs/redistest"
)

// replConf writes a twine.conf from lines in which every "HOST:PORT" of
// the form "127.0.0.N:0" gets a free port of that host, plus fast test
// settings, and loads it.
func replConf(t *testing.T, extra []string, nodes ...string) *config.Cluster {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "set redis-server %s\n", redistest.Binary(t))
	fmt.Fprintf(&b, "set httpd 127.0.0.1:%d\n", redistest.FreePortOn(t, "127.0.0.1"))
	defaults := map[string]string{
		"check-interval": "200ms", "check-timeout": "200ms",
		"backoff-min": "20ms", "backoff-max": "500ms", "stop-timeout": "5s",
	}
	for _, e := range extra {
		delete(defaults, strings.Fields(e)[0])
		fmt.Fprintf(&b, "set %s\n", e)
	}
	for k, v := range defaults {
		fmt.Fprintf(&b, "set %s %s\n", k, v)
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
	path := filepath.Join(t.TempDir(), "twine.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("load test config: %v", err)
	}
	return c
}

// startHosts starts one supervisor per host of c, each with its own
// logger name, and waits until every node of every host is up.
func startHosts(t *testing.T, c *config.Cluster) map[string]*Supervisor {
	t.Helper()
	out := map[string]*Supervisor{}
	for _, h := range c.Hosts() {
		out[h] = startSupervisorOpts(t, Options{Cluster: c, Host: h, Logger: redistest.Logger(t).Named(h)})
	}
	for _, s := range out {
		waitAllUp(t, s)
	}
	return out
}

// nodeClient returns a client of a node of c, closed at the end of the test.
func nodeClient(t *testing.T, c *config.Cluster, name string) *redis.Client {
	t.Helper()
	n, ok := c.Node(name)
	if !ok {
		t.Fatalf("no node %s", name)
	}
	cl := redis.NewClient(&redis.Options{Addr: n.Addr(), Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { cl.Close() })
	return cl
}

// writeAcked writes keys k0..k(n-1) to the master and has each batch
// acknowledged by replicas replicas (WAIT), failing the test otherwise.
func writeAcked(t *testing.T, m *redis.Client, n, replicas int) {
	t.Helper()
	ctx := context.Background()
	const batch = 500
	for i := 0; i < n; i += batch {
		p := m.Pipeline()
		for j := i; j < min(i+batch, n); j++ {
			p.Set(ctx, fmt.Sprintf("k%d", j), j, 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := m.Wait(ctx, replicas, 5000).Result(); err != nil || got < int64(replicas) {
			t.Fatalf("WAIT %d: %d replicas acknowledged (%v)", replicas, got, err)
		}
	}
}

// waitKeys waits until the node holds want keys.
func waitKeys(t *testing.T, cl *redis.Client, want int64, timeout time.Duration) {
	t.Helper()
	var got int64
	var err error
	redistest.Eventually(t, timeout, func() bool {
		got, err = cl.DBSize(context.Background()).Result()
		return err == nil && got == want
	}, "%s holds %d keys (%v), want %d", cl.Options().Addr, got, err, want)
}

// roleOf returns a node's ROLE, failing the test when it does not answer.
func roleOf(t *testing.T, c *config.Cluster, name string) replset.NodeRole {
	t.Helper()
	n, _ := c.Node(name)
	r, err := replset.RoleOf(context.Background(), n.Addr(), "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The reproduction of the data-loss defect, without Sentinels: a master
// with a replica that holds 2000 acknowledged keys is kill -9ed. twined
// must not restart it from its own files (an RDB snapshot older than the
// keys; an AOF that, fsynced every second, may lack its last two seconds
// of writes, as loaded test machines show): it holds it down, the
// partition is HALT, the replica keeps the keys; the operator's
// switchover promotes the replica, and the old master rejoins as its
// replica with every key.
func TestMasterCrashWithoutSentinelKeepsData(t *testing.T) {
	for _, tt := range []struct {
		name     string
		settings []string
	}{{"rdb", nil}, {"aof", []string{"appendonly yes"}}} {
		t.Run(tt.name, func(t *testing.T) { masterCrashKeepsData(t, tt.settings) })
	}
}

func masterCrashKeepsData(t *testing.T, settings []string) {
	c := replConf(t, settings, "m0=data 0 127.0.0.1 PORT 0", "r0=data 0 127.0.0.1 PORT 0")
	s := startHosts(t, c)[testHost]
	m, r := nodeClient(t, c, "m0"), nodeClient(t, c, "r0")
	writeAcked(t, m, 2000, 1)
	before := nodeStatus(t, s, "m0")
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	held := waitState(t, s, "m0", Held, 10*time.Second)
	if !strings.Contains(held.Reason, "twined -failover 0") || !strings.Contains(held.Reason, "twined -start m0") {
		t.Errorf("held reason does not give the two choices: %q", held.Reason)
	}
	if snap := s.Snapshot(); snap.Status != Halt {
		t.Errorf("host status %s with the master held, want HALT", snap.Status)
	}
	waitKeys(t, r, 2000, time.Second)
	// The master stays down while nothing is decided.
	time.Sleep(3 * c.Settings().CheckInterval)
	if st := nodeStatus(t, s, "m0"); st.State != Held || st.PID != 0 {
		t.Fatalf("m0 is %s (pid %d), want held with no process", st.State, st.PID)
	}

	sw, err := replset.Switchover(context.Background(), replset.SwitchoverOptions{
		Name: c.MasterName(c.ReplicaSet(0)[0]), Set: c.ReplicaSet(0), Timeout: time.Second,
		CatchUp: 5 * time.Second, Failover: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("switchover: %v", err)
	}
	r0, _ := c.Node("r0")
	if sw.New != r0.Addr() || !sw.OldDown {
		t.Errorf("switchover %+v, want r0 promoted from a down master", sw)
	}
	waitState(t, s, "m0", Up, 10*time.Second)
	waitKeys(t, m, 2000, 10*time.Second)
	if role := roleOf(t, c, "m0"); role.Role != "replica" || role.Upstream != r0.Addr() {
		t.Errorf("m0 ROLE %+v, want a replica of r0", role)
	}
	if err := r.Set(context.Background(), "after", "1", 0).Err(); err != nil {
		t.Errorf("write to the new master r0: %v", err)
	}
}

// A master that died while its twined was down (twined SIGKILLed, then the
// node) is not restarted from its snapshot by the next twined either: its
// last stop was not a clean one, so it is held like a crash seen live.
// A node stopped cleanly by twined restarts as master.
func TestUncleanMasterHeldAtStart(t *testing.T) {
	c := replConf(t, nil, "m0=data 0 127.0.0.1 PORT 0", "r0=data 0 127.0.0.1 PORT 0")
	first := startSupervisorOpts(t, Options{Cluster: c, leaveRunning: true})
	waitAllUp(t, first)
	writeAcked(t, nodeClient(t, c, "m0"), 100, 1)
	pid := nodeStatus(t, first, "m0").PID
	r0pid := nodeStatus(t, first, "r0").PID
	t.Cleanup(func() { _ = syscall.Kill(r0pid, syscall.SIGKILL) })
	_ = first.Close() // as if SIGKILLed: the nodes keep running
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	second := startSupervisorOpts(t, Options{Cluster: c})
	waitState(t, second, "m0", Held, 10*time.Second)
	if st := waitState(t, second, "r0", Up, 10*time.Second); !st.Adopted {
		t.Errorf("r0 was not adopted: %s", describe(&st))
	}
	_ = second.Close()

	// Stopped cleanly now (r0 saved on SIGTERM; m0 has nothing to save):
	// the next start is not held.
	third := startSupervisorOpts(t, Options{Cluster: c})
	waitState(t, third, "m0", Held, 10*time.Second) // still the unclean exit of before: nothing cleared it
	if err := third.StartNode(context.Background(), "m0"); err != nil {
		t.Fatal(err)
	}
	waitState(t, third, "m0", Up, 10*time.Second)
	_ = third.Close()
	fourth := startSupervisorOpts(t, Options{Cluster: c})
	waitAllUp(t, fourth)
}

// sentinelConf is a partition with its master on 127.0.0.1 and replicas
// on 127.0.0.2 and 127.0.0.3, and one Sentinel per host.
func sentinelConf(t *testing.T, extra ...string) *config.Cluster {
	t.Helper()
	inc := filepath.Join(t.TempDir(), "fast-sync.conf")
	if err := os.WriteFile(inc, []byte("repl-diskless-sync-delay 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return replConf(t, append([]string{"redis-include " + inc}, extra...),
		"m0=data 0 127.0.0.1 PORT 0", "r1=data 0 127.0.0.2 PORT 0", "r2=data 0 127.0.0.3 PORT 0",
		"s1=sentinel 127.0.0.1 PORT", "s2=sentinel 127.0.0.2 PORT", "s3=sentinel 127.0.0.3 PORT")
}

// waitSentinelsReady waits until every Sentinel knows both replicas of
// name and the two other Sentinels.
func waitSentinelsReady(t *testing.T, c *config.Cluster, name string, replicas int) {
	t.Helper()
	for _, s := range c.Sentinels() {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), Protocol: 2, DisableIdentity: true})
		var reps, peers int
		redistest.Eventually(t, 30*time.Second, func() bool {
			ctx := context.Background()
			r, err1 := sc.Replicas(ctx, name).Result()
			p, err2 := sc.Sentinels(ctx, name).Result()
			reps, peers = 0, len(p)
			for _, x := range r {
				if x["master-link-status"] == "ok" {
					reps++
				}
			}
			return err1 == nil && err2 == nil && reps >= replicas && peers == len(c.Sentinels())-1
		}, "sentinel %s knows %d replicas and %d sentinels of %s", s.Name, reps, peers, name)
		sc.Close()
	}
}

// The master's process is kill -9ed while its twined runs: twined holds it
// down and has Sentinel fail over at once; a replica is master and takes
// writes, holding every write acknowledged by WAIT 2 before the crash; the
// old master comes back as a replica of the new one, with that data.
func TestFailoverOnMasterKill(t *testing.T) {
	c := sentinelConf(t)
	hosts := startHosts(t, c)
	name := c.MasterName(c.ReplicaSet(0)[0])
	waitSentinelsReady(t, c, name, 2)
	m := nodeClient(t, c, "m0")
	writeAcked(t, m, 2000, 2)
	s1 := hosts["127.0.0.1"]
	before := nodeStatus(t, s1, "m0")
	sub := s1.Subscribe(64)
	defer sub.Cancel()
	killed := time.Now()
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var fo Event
	redistest.Eventually(t, 30*time.Second, func() bool {
		for {
			select {
			case e := <-sub.C:
				if e.Kind == Failover || e.Kind == FailoverFailed {
					fo = e
					return true
				}
			default:
				return false
			}
		}
	}, "no fail-over event")
	if fo.Kind != Failover || fo.Failover == nil || fo.Failover.New == "" {
		t.Fatalf("fail-over event %+v (%s), want a new master", fo, fo.Err)
	}
	t.Logf("%s after %s", fo.Reason, time.Since(killed))
	var newName string
	for _, n := range c.ReplicaSet(0) {
		if strings.HasPrefix(fo.Failover.New, n.Name+" ") {
			newName = n.Name
		}
	}
	if newName != "r1" && newName != "r2" {
		t.Fatalf("new master %q, want r1 or r2", fo.Failover.New)
	}
	nm := nodeClient(t, c, newName)
	waitKeys(t, nm, 2000, 5*time.Second)
	if err := nm.Set(context.Background(), "after", "1", 0).Err(); err != nil {
		t.Errorf("write to the new master: %v", err)
	}
	waitState(t, s1, "m0", Up, 20*time.Second)
	waitKeys(t, m, 2001, 20*time.Second)
	newNode, _ := c.Node(newName)
	if r := roleOf(t, c, "m0"); r.Role != "replica" || r.Upstream != newNode.Addr() {
		t.Errorf("m0 ROLE %+v, want a replica of %s", r, newName)
	}
}
