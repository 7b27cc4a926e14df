package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/procs/redistest"
)

// writeConf writes twine.conf in dir from settings and node lines and
// loads it.
func writeConf(t *testing.T, dir string, lines ...string) *config.Cluster {
	t.Helper()
	head := fmt.Sprintf("set redis-server %s\nset check-timeout 50ms\nset backoff-min 20ms\nset backoff-max 500ms\nset stop-timeout 5s\n", redistest.Binary(t))
	path := filepath.Join(dir, "twine.conf")
	if err := os.WriteFile(path, []byte(head+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

func TestReloadAppliesADiff(t *testing.T) {
	dir := t.TempDir()
	p := []int{redistest.FreePort(t), redistest.FreePort(t), redistest.FreePort(t), redistest.FreePort(t), redistest.FreePort(t)}
	httpd := fmt.Sprintf("set httpd 127.0.0.1:%d", redistest.FreePort(t))
	c := writeConf(t, dir, httpd, "set check-interval 100ms",
		fmt.Sprintf("n0=data 0 127.0.0.1 %d 0", p[0]),
		fmt.Sprintf("n1=data 1 127.0.0.1 %d 0", p[1]),
		fmt.Sprintf("n2=data 2 127.0.0.1 %d 0", p[2]))
	s := startSupervisor(t, c)
	waitAllUp(t, s)
	before := map[string]NodeStatus{}
	for _, n := range s.Snapshot().Nodes {
		before[n.Name] = n
	}
	sub := s.Subscribe(256)

	// n0 untouched (but moved down a line), n1 on a new port, n2 removed,
	// n3 added; a live setting changes.
	c2 := writeConf(t, dir, httpd, "set check-interval 200ms", "# a comment moves every line",
		fmt.Sprintf("n0=data 0 127.0.0.1 %d 0", p[0]),
		fmt.Sprintf("n1=data 1 127.0.0.1 %d 0", p[3]),
		fmt.Sprintf("n3=data 2 127.0.0.1 %d 0", p[4]))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := s.Reload(ctx, c2)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	t.Logf("reload: %s", res)
	if !slices.Equal(res.Added, []string{"n3"}) || !slices.Equal(res.Removed, []string{"n2"}) ||
		!slices.Equal(res.Restarted, []string{"n1"}) || !slices.Equal(res.Settings, []string{"check-interval"}) {
		t.Errorf("reload result %+v", res)
	}
	after := map[string]NodeStatus{}
	var names []string
	for _, n := range s.Snapshot().Nodes {
		after[n.Name] = n
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"n0", "n1", "n3"}) {
		t.Errorf("nodes after reload: %v", names)
	}
	if after["n0"].PID != before["n0"].PID {
		t.Errorf("untouched n0 changed process: %d → %d", before["n0"].PID, after["n0"].PID)
	}
	if !after["n1"].State.Alive() || after["n1"].PID == before["n1"].PID || after["n1"].Port != p[3] {
		t.Errorf("n1 after reload: %+v", after["n1"])
	}
	if err := client(t, fmt.Sprintf("127.0.0.1:%d", p[3])).Ping(ctx).Err(); err != nil {
		t.Errorf("n1 on its new port: %v", err)
	}
	if syscall.Kill(before["n2"].PID, 0) == nil && !zombie(before["n2"].PID) {
		t.Errorf("removed n2 (pid %d) still runs", before["n2"].PID)
	}
	waitState(t, s, "n3", Up, 20*time.Second)

	var reloaded bool
	for !reloaded {
		select {
		case e := <-sub.C:
			reloaded = e.Kind == ConfigReloaded && strings.Contains(e.Reason, "added n3")
		case <-ctx.Done():
			t.Fatal("no ConfigReloaded event")
		}
	}
}

func TestReloadRefusesADirMove(t *testing.T) {
	dir := t.TempDir()
	node := fmt.Sprintf("n0=data 0 127.0.0.1 %d 0", redistest.FreePort(t))
	httpd := fmt.Sprintf("set httpd 127.0.0.1:%d", redistest.FreePort(t))
	c := writeConf(t, dir, httpd, "set check-interval 100ms", node)
	s := startSupervisor(t, c)
	waitAllUp(t, s)
	pid := nodeStatus(t, s, "n0").PID
	c2 := writeConf(t, dir, httpd, "set check-interval 100ms", "set dir elsewhere", node)
	_, err := s.Reload(context.Background(), c2)
	if !errors.Is(err, ErrReloadRefused) || !strings.Contains(err.Error(), "set dir") {
		t.Fatalf("reload with a new dir: %v", err)
	}
	if n := nodeStatus(t, s, "n0"); n.PID != pid || n.State != Up {
		t.Errorf("n0 disturbed by a refused reload: %+v", n)
	}
}

// zombie reports whether pid is a zombie (exited, not reaped).
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}
