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
	redis := redistest.Binary(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	err := run(ctx, []string{"-scenario", "kill", "-supervisor", "twined", "-n", "2", "-trials", "1", "-redis-server", redis, "-json"}, &out, &errb)
	t.Logf("progress:\n%s", errb.String())
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	var rep struct {
		Command string
		Results []struct {
			Scenario, Supervisor, Unit string
			Nodes, Trials, Missing     int
			P50                        *float64
			Failed                     bool
			Note                       string
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode -json output: %v\n%s", err, out.String())
	}
	if len(rep.Results) != 1 {
		t.Fatalf("%d results, want 1:\n%s", len(rep.Results), out.String())
	}
	r := rep.Results[0]
	if r.Scenario != "kill" || r.Supervisor != "twined" || r.Nodes != 2 || r.Trials != 1 || r.Missing != 0 || r.Failed || r.P50 == nil || *r.P50 <= 0 || r.Unit != "ms" {
		t.Errorf("result = %+v", r)
	}
	if !strings.Contains(rep.Command, "-scenario kill") {
		t.Errorf("command = %q", rep.Command)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the bench left files in its temporary directory: %v", left)
	}
	if procs := processesMentioning(tmp); len(procs) > 0 {
		t.Errorf("processes left running: %s", strings.Join(procs, "; "))
	}
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
