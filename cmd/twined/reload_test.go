package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/twine/twine/procs/redistest"
	"github.com/twine/twine/supervisor"
)

// TestReloadEndToEnd edits the config of a running twined: an invalid
// save changes nothing, a rename-over edit adds a node, a burst of saves
// makes one reload, and SIGHUP reloads at once.
func TestReloadEndToEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "twine.conf")
	killNodes(t, dir)
	httpd := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	head := fmt.Sprintf("set redis-server %s\nset httpd %s\nset check-interval 200ms\nset check-timeout 200ms\nset stop-timeout 5s\n", redistest.Binary(t), httpd)
	n0 := fmt.Sprintf("n0=data 0 127.0.0.1 %d 0\n", redistest.FreePort(t))
	n1 := fmt.Sprintf("n1=data 1 127.0.0.1 %d 0\n", redistest.FreePort(t))
	n2port := redistest.FreePort(t)
	n2 := fmt.Sprintf("n2=data 2 127.0.0.1 %d 0\n", n2port)
	n2p1 := fmt.Sprintf("n2=data 1 127.0.0.1 %d 0\n", n2port) // n2 takes partition 1
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(head + n0 + n1)
	d := startDaemon(t, path)
	d.waitLog(t, 1, "every node answers")
	pids := map[string]int{}
	for _, n := range fetchStatus(t, httpd).Nodes {
		pids[n.Name] = n.PID
	}

	// An invalid save: every error logged with its line, nothing changes.
	write(head + n0 + n1 + "n2=data 2 127.0.0.1 99999 0\nset check-intervl 1s\n")
	d.waitLog(t, 1, "twine.conf:8: port 99999 is out of range")
	d.waitLog(t, 1, "twine.conf:9: unknown setting")
	for _, n := range fetchStatus(t, httpd).Nodes {
		if n.PID != pids[n.Name] || n.State != supervisor.Up {
			t.Errorf("%s disturbed by an invalid config: %+v", n.Name, n)
		}
	}

	// An editor's save: a new file renamed over the old one adds n2.
	tmp := filepath.Join(dir, ".twine.conf.swp")
	if err := os.WriteFile(tmp, []byte(head+n0+n1+n2), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	s := waitStatus(t, httpd, "n2 up", func(s supervisor.Snapshot) bool { return nodeIn(s, "n2").State == supervisor.Up })
	for _, name := range []string{"n0", "n1"} {
		if nodeIn(s, name).PID != pids[name] {
			t.Errorf("%s restarted by a reload that did not change it", name)
		}
	}
	d.waitLog(t, 1, "config reloaded")
	before := strings.Count(d.output(), "config reloaded")
	s2pid := nodeIn(s, "n2").PID

	// A burst of saves ending without n1: one reload.
	for i := range 20 {
		write(head + n0 + n2p1 + fmt.Sprintf("# save %d\n", i))
	}
	s = waitStatus(t, httpd, "n1 removed", func(s supervisor.Snapshot) bool { return len(s.Nodes) == 2 && nodeIn(s, "n1").Name == "" })
	if nodeIn(s, "n0").PID != pids["n0"] || nodeIn(s, "n2").PID != s2pid {
		t.Error("n0 or n2 restarted by the removal of n1")
	}
	if p := nodeIn(s, "n2").Partition; p != 1 {
		t.Errorf("n2 shown in partition %d, want 1", p)
	}
	if alive(pids["n1"]) {
		t.Errorf("removed n1 (pid %d) still runs", pids["n1"])
	}
	d.waitLog(t, before+1, "config reloaded")
	// SIGHUP reloads at once; had the burst made two reloads, the count
	// would be one higher after it.
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog(t, 1, "SIGHUP: reloading")
	d.waitLog(t, before+2, "config reloaded")
	if got := strings.Count(d.output(), "config reloaded"); got != before+2 {
		t.Errorf("%d reloads after a burst of saves and a SIGHUP, want %d", got-before, 2)
	}
}
