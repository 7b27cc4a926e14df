package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

func TestMain(m *testing.M) {
	if isReaper() { // the bench re-executes its own binary as the reaper
		os.Exit(reap(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestSmokeKill runs the kill scenario against twined with two nodes and
// one trial, end to end: build, twine.conf, start, healthy run, kill -9,
// replacement, teardown.
func TestSmokeKill(t *testing.T) {
	command, rows := runSmoke(t, 3*time.Minute, "-scenario", "kill", "-supervisor", "twined", "-n", "2", "-trials", "1")
	if len(rows) != 1 {
		t.Fatalf("%d results, want 1: %+v", len(rows), rows)
	}
	r := rows[0]
	if r.Scenario != "kill" || r.Supervisor != "twined" || r.Nodes != 2 || r.Trials != 1 || r.Missing != 0 || r.Failed || r.P50 == nil || *r.P50 <= 0 || r.Unit != "ms" {
		t.Errorf("result = %+v", r)
	}
	if !strings.Contains(command, "-scenario kill") {
		t.Errorf("command = %q", command)
	}
}

// TestSmokeFailover runs the fail-over scenarios with one trial each, end
// to end: three hosts, each with its twined (or, for the sentinel row,
// plain redis-servers and Sentinels), a healthy set, writes acknowledged
// by both replicas, the master (or its whole host) killed, the first
// write another member takes, the acknowledged writes checked, teardown.
// Timings are checked only against the generous targets.
func TestSmokeFailover(t *testing.T) {
	_, rows := runSmoke(t, 5*time.Minute, "-scenario", "failover,hostlost", "-supervisor", "monit", "-trials", "1")
	type key struct{ scenario, supervisor, metric string }
	want := []key{
		{"failover", "twined", "kill9_to_write"}, {"failover", "twined", "acked_writes_lost"},
		{"failover", "sentinel", "kill9_to_write"}, {"failover", "sentinel", "acked_writes_lost"},
		{"hostlost", "twined", "hostlost_to_write"}, {"hostlost", "twined", "acked_writes_lost"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d results, want %d (-supervisor must not change the fail-over rows): %+v", len(rows), len(want), rows)
	}
	for i, r := range rows {
		if got := (key{r.Scenario, r.Supervisor, r.Metric}); got != want[i] {
			t.Errorf("result %d is %v, want %v", i, got, want[i])
			continue
		}
		if r.Nodes != 3 || r.Trials != 1 || r.Missing != 0 || r.Failed || r.Max == nil {
			t.Errorf("result %d = %+v, want one sample", i, r)
			continue
		}
		switch {
		case r.Metric == "acked_writes_lost" && *r.Max != 0:
			t.Errorf("%s %s lost %v acknowledged writes (%s)", r.Scenario, r.Supervisor, *r.Max, r.Note)
		case r.Metric == "kill9_to_write" && r.Supervisor == "twined" && (*r.Max <= 0 || *r.Max >= 4000):
			t.Errorf("%s %s: a replica took a write %vms after the kill, want 0 < t < 4000", r.Scenario, r.Supervisor, *r.Max)
		case r.Metric != "acked_writes_lost" && *r.Max <= 0:
			t.Errorf("%s %s: sample %vms", r.Scenario, r.Supervisor, *r.Max)
		}
	}
}

// smokeRow is one result of the bench's -json output, as the smoke tests
// read it.
type smokeRow struct {
	Scenario, Supervisor, Metric, Unit string
	Nodes, Trials, Missing             int
	P50, Max                           *float64
	Failed                             bool
	Note                               string
}

// runSmoke runs the bench with args and -json, its temporary directory
// under the test's, within timeout, and returns its command line and
// results. It fails the test when the run fails or leaves files or
// processes behind.
func runSmoke(t *testing.T, timeout time.Duration, args ...string) (string, []smokeRow) {
	t.Helper()
	redis := redistest.Binary(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errb bytes.Buffer
	err := run(ctx, append(args, "-redis-server", redis, "-json"), &out, &errb)
	t.Logf("progress:\n%s", errb.String())
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	var rep struct {
		Command string
		Results []smokeRow
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode -json output: %v\n%s", err, out.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the bench left files in its temporary directory: %v", left)
	}
	if procs := processesMentioning(tmp); len(procs) > 0 {
		t.Errorf("processes left running: %s", strings.Join(procs, "; "))
	}
	return rep.Command, rep.Results
}

// processesMentioning lists the live processes whose command line holds s.
func processesMentioning(s string) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		if line := cmdline(pid); strings.Contains(line, s) && alive(pid) {
			out = append(out, fmt.Sprintf("%d %s", pid, line))
		}
	}
	return out
}

// TestSmokeCluster runs the cluster scenario at its smallest, end to end:
// three hosts of one node each and a status node, a twined per host, one
// idle window, the command's runs, one host killed → HALT, teardown.
func TestSmokeCluster(t *testing.T) {
	_, rows := runSmoke(t, 2*time.Minute, "-scenario", "cluster", "-hosts", "3", "-n", "3", "-trials", "1", "-duration", "1s")
	want := []string{"cluster_cpu_percent", "alpha_cpu_percent", "status_node_bytes_per_second", "hostlost_to_halt", "status_cluster_command_ms"}
	if len(rows) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(rows), len(want), rows)
	}
	for i, r := range rows {
		if r.Scenario != "cluster" || r.Supervisor != "twined" || r.Metric != want[i] || r.Nodes != 3 || r.Failed || r.Missing != 0 || r.Max == nil {
			t.Errorf("result %d = %+v, want %s with samples", i, r, want[i])
		}
	}
	if r := rows[2]; r.Max != nil && *r.Max <= 0 {
		t.Errorf("the status node moved %v bytes per second, want some", *r.Max)
	}
	if r := rows[3]; r.Trials != 1 || r.Max != nil && (*r.Max <= 0 || *r.Max >= float64(haltLimit.Milliseconds())) {
		t.Errorf("hostlost_to_halt = %+v, want one sample within %s", r, haltLimit)
	}
	if r := rows[4]; r.Trials != commandRuns {
		t.Errorf("status_cluster_command_ms has %d runs, want %d", r.Trials, commandRuns)
	}
}
