package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/config/route/backup"
	"github.com/twine/twine/supervisor/cluster"
)

// backupCluster is one host with partitions 0 (a master m0 and its
// replica r0), 1 and 2, run by a twined process.
func backupCluster(t *testing.T, extra ...string) *testCluster {
	t.Helper()
	tc := newTestCluster(t, extra,
		"m0=data 0 127.0.0.1 PORT 0", "r0=data 0 127.0.0.1 PORT 0", "n1=data 1 127.0.0.1 PORT 0", "n2=data 2 127.0.0.1 PORT 0")
	tc.startAll()
	return tc
}

// fill writes count keys to each partition's master, and waits until the
// replica has them.
func fill(t *testing.T, tc *testCluster, prefix string, count int) {
	t.Helper()
	for _, name := range []string{"m0", "n1", "n2"} {
		p := tc.client(name).Pipeline()
		for i := range count {
			p.Set(context.Background(), fmt.Sprintf("%s:%s:%d", prefix, name, i), i, 0)
		}
		if _, err := p.Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	waitKeys(t, tc.client("r0"), keys(t, tc.client("m0")), 10*time.Second)
}

// takeBackup runs twined -backup and returns the backup's path (the last
// line of its output).
func takeBackup(t *testing.T, tc *testCluster) string {
	t.Helper()
	dir := filepath.Join(tc.dir, "backups")
	code, out, errOut := runCLI(t, "-backup", dir, "-config", tc.path)
	if code != 0 {
		t.Fatalf("twined -backup: code %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	t.Logf("twined -backup: %s", lines[0])
	return lines[len(lines)-1]
}

func backupRoundTrip(t *testing.T, extra ...string) {
	tc := backupCluster(t, extra...)
	fill(t, tc, "old", 300)
	path := takeBackup(t, tc)
	m, err := backup.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Keys != 900 || m.Partitions != 3 || m.Parts[0].Node != "m0" {
		t.Fatalf("manifest: %d keys, %d partitions, partition 0 from %s; want 900, 3, m0", m.Keys, m.Partitions, m.Parts[0].Node)
	}
	// Later writes, then the restore of everything.
	for _, name := range []string{"m0", "n1", "n2"} {
		if err := tc.client(name).FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	fill(t, tc, "new", 10)
	code, out, errOut := runCLI(t, "-restore", path, "-yes", "-config", tc.path, "-httpd", tc.httpd["127.0.0.1"])
	if code != 0 {
		t.Fatalf("twined -restore: code %d\n%s%s", code, out, errOut)
	}
	t.Logf("twined -restore:\n%s", out)
	for _, name := range []string{"m0", "n1", "n2"} {
		cl := tc.client(name)
		waitKeys(t, cl, 300, 20*time.Second)
		if n, _ := cl.Exists(context.Background(), "new:"+name+":0").Result(); n != 0 {
			t.Errorf("%s still holds a key written after the backup", name)
		}
	}
	waitKeys(t, tc.client("r0"), 300, 20*time.Second) // the restore reaches the replica
	if !strings.Contains(out, "pre-restore-") {
		t.Errorf("-restore does not say where the data before went:\n%s", out)
	}
	n, _ := tc.c.Node("n1")
	aside, _ := filepath.Glob(filepath.Join(tc.c.Files(n).Dir, "pre-restore-*"))
	if len(aside) != 1 {
		t.Errorf("n1's data before the restore: %v, want one pre-restore directory", aside)
	}
}

// Backup and restore of RDB nodes (a replicated partition among them).
func TestBackupRestoreRDB(t *testing.T) { backupRoundTrip(t) }

// Backup and restore of AOF nodes: the snapshot becomes the AOF base.
func TestBackupRestoreAOF(t *testing.T) { backupRoundTrip(t, "appendonly yes") }

// A restore of one partition leaves the others' processes and data alone;
// refused backups (a flipped byte, another partition count) change
// nothing; a restore whose node does not come back right rolls back.
func TestRestoreOnePartitionRefusalsAndRollback(t *testing.T) {
	tc := backupCluster(t)
	fill(t, tc, "old", 100)
	path := takeBackup(t, tc)
	fill(t, tc, "new", 10)
	pids := map[string]int{"m0": tc.pid("m0"), "n1": tc.pid("n1"), "n2": tc.pid("n2")}

	// -backups lists it, -verify re-checks it.
	code, out, errOut := runCLI(t, "-backups", filepath.Dir(path))
	if code != 0 || !strings.Contains(out, filepath.Base(path)) || !strings.Contains(out, "complete") {
		t.Errorf("-backups: code %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "-verify", path, "-config", tc.path)
	if code != 0 || !strings.Contains(out, "ok: 3 partitions, 300 keys") {
		t.Errorf("-verify: code %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "-restore", path, "-partition", "1", "-yes", "-config", tc.path, "-httpd", tc.httpd["127.0.0.1"])
	if code != 0 {
		t.Fatalf("-restore -partition 1: code %d\n%s%s", code, out, errOut)
	}
	waitKeys(t, tc.client("n1"), 100, 20*time.Second)
	for _, name := range []string{"m0", "n2"} {
		if got := tc.pid(name); got != pids[name] {
			t.Errorf("%s was restarted (pid %d, was %d) by a restore of partition 1", name, got, pids[name])
		}
		if got := keys(t, tc.client(name)); got != 110 {
			t.Errorf("%s holds %d keys, want its 110 untouched", name, got)
		}
	}

	// Without -yes and without a terminal: refused.
	if code, _, errOut := runCLI(t, "-restore", path, "-config", tc.path, "-httpd", tc.httpd["127.0.0.1"]); code == 0 || !strings.Contains(errOut, "refusing without confirmation") {
		t.Errorf("-restore without -yes: code %d, %s", code, errOut)
	}
	// A flipped byte: refused before anything is touched.
	bad := copyBackup(t, path)
	m, _ := backup.Read(bad)
	f := filepath.Join(bad, m.Parts[2].File)
	b, _ := os.ReadFile(f)
	b[len(b)/2] ^= 0x01
	os.WriteFile(f, b, 0o644)
	before := tc.pid("n2")
	if code, _, errOut := runCLI(t, "-restore", bad, "-yes", "-config", tc.path, "-httpd", tc.httpd["127.0.0.1"]); code == 0 || !strings.Contains(errOut, "does not verify; nothing changed") {
		t.Errorf("-restore of a corrupted backup: code %d, %s", code, errOut)
	}
	if tc.pid("n2") != before || keys(t, tc.client("n2")) != 110 {
		t.Errorf("a refused restore touched n2")
	}
	// Another partition count: refused.
	other := copyBackup(t, path)
	editManifest(t, other, func(m map[string]any) { m["partitions"] = 4 })
	if code, _, errOut := runCLI(t, "-restore", other, "-yes", "-config", tc.path, "-httpd", tc.httpd["127.0.0.1"]); code == 0 || !strings.Contains(errOut, "the backup has 4 partitions") {
		t.Errorf("-restore of a 4-partition backup: code %d, %s", code, errOut)
	}
	// The node does not hold what the manifest says: rolled back.
	wrong := copyBackup(t, path)
	editManifest(t, wrong, func(m map[string]any) {
		parts := m["partition_files"].([]any)
		parts[2].(map[string]any)["keys"] = 5000
	})
	code, _, errOut = runCLI(t, "-restore", wrong, "-partition", "2", "-yes", "-config", tc.path, "-httpd", tc.httpd["127.0.0.1"])
	if code == 0 || !strings.Contains(errOut, "its data of before is back") {
		t.Fatalf("-restore that cannot check: code %d, %s", code, errOut)
	}
	waitKeys(t, tc.client("n2"), 110, 20*time.Second)
}

// copyBackup copies a backup directory, to spoil the copy.
func copyBackup(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), filepath.Base(from))
	if err := os.MkdirAll(to, 0o750); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(from)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(to, e.Name()), b, 0o644)
	}
	return to
}

// editManifest changes a backup's manifest.
func editManifest(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, backup.ManifestFile)
	b, _ := os.ReadFile(p)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	os.WriteFile(p, b, 0o644)
}

// Three hosts with a status node: -backup from this machine takes each
// partition from its master wherever it runs, and -restore (no -httpd)
// reaches the master's host's twined at the address that twined publishes
// on the status node; the replica on a third host resyncs from it.
func TestBackupRestoreAcrossHosts(t *testing.T) {
	tc := newTestCluster(t, []string{"host-ttl 1s"},
		"n0=data 0 127.0.0.1 PORT 0", "m1=data 1 127.0.0.2 PORT 0", "r1=data 1 127.0.0.3 PORT 0",
		"st=status 127.0.0.1 PORT 0")
	tc.startAll()
	waitView(t, tc.path, "every host published", 20*time.Second, func(v cluster.View, _ int) bool {
		return v.Status == cluster.StatusOK && v.Alpha != "" && len(v.Hosts) == 3 &&
			!hostOf(v, "127.0.0.1").Lost && !hostOf(v, "127.0.0.2").Lost && !hostOf(v, "127.0.0.3").Lost
	})
	for _, name := range []string{"n0", "m1"} {
		p := tc.client(name).Pipeline()
		for i := range 200 {
			p.Set(context.Background(), fmt.Sprintf("old:%s:%d", name, i), i, 0)
		}
		if _, err := p.Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	waitKeys(t, tc.client("r1"), 200, 10*time.Second)
	path := takeBackup(t, tc)
	m, err := backup.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Parts[1]; p.Node != "m1" || p.Host != "127.0.0.2" || p.Keys != 200 {
		t.Fatalf("partition 1 in the manifest: %+v, want m1 on 127.0.0.2 with 200 keys", p)
	}
	if err := tc.client("m1").FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, tc.client("r1"), 0, 10*time.Second)
	n0pid := tc.pid("n0")
	code, out, errOut := runCLI(t, "-restore", path, "-partition", "1", "-yes", "-config", tc.path)
	if code != 0 {
		t.Fatalf("-restore -partition 1 from this machine: code %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "partition 1: m1 (127.0.0.2:") {
		t.Errorf("-restore output does not name m1 on 127.0.0.2:\n%s", out)
	}
	waitKeys(t, tc.client("m1"), 200, 20*time.Second)
	waitKeys(t, tc.client("r1"), 200, 20*time.Second)
	if tc.pid("n0") != n0pid || keys(t, tc.client("n0")) != 200 {
		t.Errorf("n0 on 127.0.0.1 was touched by a restore of partition 1")
	}
}
