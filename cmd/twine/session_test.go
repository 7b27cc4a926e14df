package main

import (
	"strings"
	"testing"

	"github.com/twine/twine/config/route/routetest"
)

func TestStdinCommands(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3, DB: true})
	a, o := c.KeyIn(t, "a", 2), c.KeyIn(t, "o", 0)
	input := strings.Join([]string{
		"SET " + a + " 1", // 1
		"GET " + a,        // 2
		"INCR " + a,       // 3
		"",                // 4
		"-partition 1",    // 5
		"SET " + o + " x", // 6: on partition 1, not its own
		"DBSIZE",          // 7
		"-auto",           // 8
		"PING",            // 9: no key
		`SET k "open`,     // 10: does not parse
		"INCR " + o,       // 11: by its key, on partition 0
		"-node p2 DBSIZE", // 12: once on p2
		"DBSIZE",          // 13: no key again
		"-all DBSIZE",     // 14
		"-all FLUSHDB",    // 15: refused, no terminal to confirm on
		"-partition 9",    // 16
		"SUBSCRIBE ch",    // 17
		"-nosuch",         // 18
		"quit",            // 19
		"SET after quit",  // 20: not run
	}, "\n")
	r := twine(t, input, "-no-raw")
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (failures)", r.code)
	}
	wantOut := "OK\n\"1\"\n(integer) 2\n" +
		"OK\n(integer) 1\n" +
		"(integer) 1\n" +
		"(integer) 1\n" +
		"p0: (integer) 1\np1: (integer) 1\np2: (integer) 1\ntotal: (integer) 3\n"
	if r.stdout != wantOut {
		t.Errorf("stdout\n%s\nwant\n%s", r.stdout, wantOut)
	}
	want(t, "stderr", r.stderr,
		"line 9: PING has no key to route by: run it with -partition N, -node NAME or -all",
		"line 10: unbalanced quotes\n",
		"line 13: DBSIZE has no key",
		"line 15: FLUSHDB on all 3 masters of "+c.Path+": stdin is not a terminal to confirm on; add -yes to go ahead\n",
		"line 16: -partition 9: the cluster has partitions 0 to 2\n",
		"line 17: SUBSCRIBE is not supported",
		"line 18: -nosuch: no such switch")
	if got := c.Where(t, "after"); len(got) != 0 {
		t.Errorf("a command after quit ran: key in %v", got)
	}

	// Raw output when stdout is not a terminal, error replies on stderr;
	// the flags' target is where the session starts.
	r = twine(t, "SET x 1\nGET x\nINCR x\nLPUSH x y\n", "-partition", "1")
	if r.code != 1 || r.stdout != "OK\n1\n2\n" || !strings.HasPrefix(r.stderr, "line 4: (error) WRONGTYPE") {
		t.Errorf("raw run: %+v", r)
	}
	if got := c.Where(t, "x"); len(got) != 1 || got[0] != 1 {
		t.Errorf("x in %v, want [1]", got)
	}
	// Exit 0 when all went well, including an empty stdin.
	if r = twine(t, "-all\nDBSIZE\n"); r.code != 0 || !strings.HasPrefix(r.stdout, "p0: 1\np1: 2\n") {
		t.Errorf("clean run: %+v", r)
	}
	if r = twine(t, ""); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("empty stdin: %+v", r)
	}
}
