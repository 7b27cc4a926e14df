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
	"github.com/twine/twine/procs/redistest"
)

// testCluster writes a twine.conf with n data nodes on free loopback ports
// and fast checks, plus extra `set` lines, and parses it.
func testCluster(t *testing.T, n int, extra ...string) *config.Cluster {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "set redis-server %s\n", redistest.Binary(t))
	fmt.Fprintf(&b, "set httpd 127.0.0.1:%d\n", redistest.FreePort(t))
	defaults := map[string]string{
		"check-interval": "100ms",
		"check-timeout":  "50ms",
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
	for i := range n {
		fmt.Fprintf(&b, "n%d=data %d 127.0.0.1 %d 0\n", i, i, redistest.FreePort(t))
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

// startSupervisor starts a supervisor on the cluster's only host and ends
// it, and every redis-server it may have left, when the test ends.
func startSupervisor(t *testing.T, c *config.Cluster) *Supervisor {
	t.Helper()
	s, err := New(Options{Cluster: c, Host: "127.0.0.1", Logger: redistest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeAndReap(t, s) })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
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
		if syscall.Kill(pid, 0) == nil {
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
	}, "node %s never reached state %s", node, want)
	return last
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

func waitAllUp(t *testing.T, s *Supervisor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if missing := s.WaitReady(ctx); missing != nil {
		t.Fatalf("nodes not up: %v", missing)
	}
}

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}
