package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/config/route/routetest"
	"github.com/twine/twine/procs/redistest"
)

// fill writes n string keys user:I and, every 5th, a hash h:I, and
// returns the keys by partition.
func fill(t *testing.T, c *routetest.Cluster, n int) map[int][]string {
	t.Helper()
	byPart := make(map[int][]string)
	var in strings.Builder
	for i := range n {
		for _, k := range []string{fmt.Sprintf("user:%d", i), fmt.Sprintf("h:%d", i)} {
			if k[0] == 'h' && i%5 != 0 {
				continue
			}
			p, _ := c.Config.Partition([]byte(k))
			byPart[p] = append(byPart[p], k)
			if k[0] == 'h' {
				fmt.Fprintf(&in, "HSET %s f v\n", k)
			} else {
				fmt.Fprintf(&in, "SET %s v\n", k)
			}
		}
	}
	if r := twine(t, in.String(), "-pipe"); r.code != 0 {
		t.Fatalf("-pipe: %+v", r)
	}
	return byPart
}

// lines returns the lines of out.
func lines(out string) []string {
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// only returns the keys of keys that keep says to.
func only(keys []string, keep func(string) bool) []string {
	var out []string
	for _, k := range keys {
		if keep(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func TestScan(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3, DB: true})
	byPart := fill(t, c, 60)
	var all []string
	for p := range 3 {
		if len(byPart[p]) == 0 {
			t.Fatalf("no key in partition %d", p)
		}
		all = append(all, byPart[p]...)
	}

	out := ok(t, "-scan")
	got := lines(out)
	// Partition by partition, in partition order.
	at := 0
	for p := range 3 {
		part := slices.Sorted(slices.Values(got[at:min(at+len(byPart[p]), len(got))]))
		if !slices.Equal(part, only(byPart[p], func(string) bool { return true })) {
			t.Errorf("lines %d to %d of -scan are not partition %d's keys: %q", at+1, at+len(byPart[p]), p, part)
		}
		at += len(byPart[p])
	}
	if len(got) != len(all) {
		t.Errorf("-scan printed %d keys, want %d", len(got), len(all))
	}

	isUser := func(k string) bool { return strings.HasPrefix(k, "user:") }
	if got := slices.Sorted(slices.Values(lines(ok(t, "-scan", "-pattern", "user:*", "-count", "7")))); !slices.Equal(got, only(all, isUser)) {
		t.Errorf("-scan -pattern user:* = %q", got)
	}
	if got := slices.Sorted(slices.Values(lines(ok(t, "-scan", "-type", "hash")))); !slices.Equal(got, only(all, func(k string) bool { return !isUser(k) })) {
		t.Errorf("-scan -type hash = %q", got)
	}
	if got := slices.Sorted(slices.Values(lines(ok(t, "-scan", "-partition", "1")))); !slices.Equal(got, only(byPart[1], func(string) bool { return true })) {
		t.Errorf("-scan -partition 1 = %q, want %q", got, byPart[1])
	}
	if out := ok(t, "-scan", "-pattern", "nothing:*"); out != "" {
		t.Errorf("-scan matching nothing printed %q", out)
	}

	// Raw when piped, quoted on a terminal, as redis-cli --scan does.
	ok(t, "SET", "odd key\n", "v")
	if out := ok(t, "-scan", "-pattern", "odd*"); out != "odd key\n\n" {
		t.Errorf("raw odd key: %q", out)
	}
	if out, code := onTerminal(t, "", "-scan", "-pattern", "odd*"); code != 0 || out != "\"odd key\\n\"\n" {
		t.Errorf("odd key on a terminal: %q, exit %d", out, code)
	}
}

func TestScanNodeDown(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3})
	byPart := fill(t, c, 30)
	if err := syscall.Kill(c.Servers[1].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, func() bool {
		return c.Client(t, 1).Ping(context.Background()).Err() != nil
	}, "partition 1 still answers after SIGKILL")
	r := twine(t, "", "-scan")
	if r.code != 1 {
		t.Errorf("-scan with a node down: exit %d, want 1", r.code)
	}
	live := slices.Sorted(slices.Values(append(slices.Clone(byPart[0]), byPart[2]...)))
	if got := slices.Sorted(slices.Values(lines(r.stdout))); !slices.Equal(got, live) {
		t.Errorf("-scan printed %q, want the keys of partitions 0 and 2: %q", got, live)
	}
	want(t, "stderr", r.stderr, "node p1 (", "partition 1) is down", "scan incomplete: 1 of 3 nodes not fully scanned: p1")
}
