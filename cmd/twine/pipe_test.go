package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twine/twine/config/route/routetest"
)

func TestPipe(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 4, DB: true})
	a, b := c.KeyIn(t, "a", 0), c.KeyIn(t, "b", 3)
	input := strings.Join([]string{
		`SET counter 1`,                    // 1
		`SET "with space" 'x y'`,           // 2
		`INCR counter`,                     // 3
		`SET word abc`,                     // 4
		`INCR word`,                        // 5: error reply
		`PING`,                             // 6: no key, not sent
		`RENAME ` + a + ` ` + b,            // 7: across partitions, not sent
		`SET k "unbalanced`,                // 8: does not parse
		``,                                 // 9: blank
		`MSET ` + a + ` 1 ` + b + " \"2\"", // 10: split
		`  GET   "\x41\x42"  `,             // 11
		`NOSUCHCOMMAND x`,                  // 12: Redis's error
		`SET last "no newline at the end"`, // 13
	}, "\n")
	r := twine(t, input, "-pipe")
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (errors)", r.code)
	}
	want(t, "report", r.stdout, "commands: 12\n", "replies:  9\n", "errors:   5 (3 not sent)\n", "time:", "rate:")
	want(t, "errors", r.stderr,
		"line 5: (error) ERR value is not an integer or out of range\n",
		"line 6: PING has no key to route by (give -partition N or -node NAME)\n",
		"line 7: RENAME refused",
		"line 8: unbalanced quotes\n",
		"line 12: (error) ERR unknown command 'NOSUCHCOMMAND'")
	ctx := context.Background()
	check := map[string]string{"counter": "2", "with space": "x y", a: "1", b: "2", "last": "no newline at the end"}
	for k, v := range check {
		p, _ := c.Config.Partition([]byte(k))
		if got, err := c.Client(t, p).Get(ctx, k).Result(); err != nil || got != v {
			t.Errorf("%q on partition %d = %q, %v; want %q", k, p, got, err, v)
		}
	}
}

func TestPipeBulk(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 4})
	const n = 20000
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "SET key:%d %d\r\n", i, i)
	}
	for i := range n {
		fmt.Fprintf(&in, "GET key:%d\n", i)
	}
	r := twine(t, in.String(), "-pipe")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("-pipe: %+v", r)
	}
	want(t, "report", r.stdout, fmt.Sprintf("commands: %d\nreplies:  %d\nerrors:   0\n", 2*n, 2*n))
	if out := ok(t, "-all", "DBSIZE"); !strings.HasSuffix(out, fmt.Sprintf("total: %d\n", n)) {
		t.Errorf("-all DBSIZE after -pipe: %q", out)
	}
	for i := 0; i < n; i += 499 {
		key := fmt.Sprintf("key:%d", i)
		p, _ := c.Config.Partition([]byte(key))
		if got := c.Where(t, key); !slices.Equal(got, []int{p}) {
			t.Errorf("%s in %v, want [%d]", key, got, p)
		}
	}
}

func TestPipeTarget(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3})
	r := twine(t, "SET a 1\nSET b 2\nPING\nSET c 3\n", "-pipe", "-partition", "1")
	if r.code != 0 {
		t.Fatalf("-pipe -partition 1: %+v", r)
	}
	want(t, "report", r.stdout, "commands: 4\n", "errors:   0\n")
	for _, k := range []string{"a", "b", "c"} {
		if got := c.Where(t, k); !slices.Equal(got, []int{1}) {
			t.Errorf("%s in %v, want [1]", k, got)
		}
	}
}

func TestPipeLongLine(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 2})
	big := strings.Repeat("x", 3<<20) // longer than the line reader's buffer
	r := twine(t, "SET big "+big+"\nSTRLEN big\n", "-pipe")
	if r.code != 0 {
		t.Fatalf("-pipe with a long line: %+v", r)
	}
	p, _ := c.Config.Partition([]byte("big"))
	if n, err := c.Client(t, p).StrLen(context.Background(), "big").Result(); err != nil || n != int64(len(big)) {
		t.Errorf("STRLEN big = %d, %v", n, err)
	}
}

func TestPipeNoLiveNode(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 2})
	t.Setenv(ConfigEnv, writeConfig(t, "a=data 0 127.0.0.1 1 0\n"))
	r := twine(t, "SET a 1\n", "-pipe")
	if r.code != 1 {
		t.Errorf("exit %d", r.code)
	}
	want(t, "stderr", r.stderr, "no node of the cluster answered", "node a (127.0.0.1:1, partition 0) is down")
}

// genRedisProto is the Redis mass-insertion docs' gen_redis_proto: one
// command in the Redis protocol.
func genRedisProto(args ...string) string {
	proto := fmt.Sprintf("*%d\r\n", len(args))
	for _, a := range args {
		proto += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
	}
	return proto
}

func TestPipeRESP(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 4, DB: true})
	const n = 1000
	var in strings.Builder
	for i := range n {
		in.WriteString(genRedisProto("SET", fmt.Sprintf("Key%d", i), fmt.Sprintf("Value%d", i)))
	}
	r := twine(t, in.String(), "-pipe")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("-pipe with RESP: %+v", r)
	}
	want(t, "report", r.stdout, fmt.Sprintf("commands: %d\nreplies:  %d\nerrors:   0\n", n, n))
	if out := ok(t, "-all", "DBSIZE"); !strings.HasSuffix(out, fmt.Sprintf("total: %d\n", n)) {
		t.Errorf("-all DBSIZE after -pipe: %q", out)
	}
	ctx := context.Background()
	parts := make(map[int]bool)
	for i := 0; i < n; i += 97 {
		key := fmt.Sprintf("Key%d", i)
		p, _ := c.Config.Partition([]byte(key))
		parts[p] = true
		if got, err := c.Client(t, p).Get(ctx, key).Result(); err != nil || got != fmt.Sprintf("Value%d", i) {
			t.Errorf("%s on partition %d = %q, %v", key, p, got, err)
		}
	}
	if len(parts) != 4 {
		t.Errorf("the keys checked are in partitions %v, want all 4", parts)
	}
}

func TestPipeMixed(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3})
	a, b := c.KeyIn(t, "a", 0), c.KeyIn(t, "b", 2)
	input := "SET counter 1\n" + // line 1
		genRedisProto("SET", "multi\r\nline", "bin\x00\xff value") + // lines 2-9: the key holds a line end
		"INCR counter\r\n" + // 10
		genRedisProto("MSET", a, "1", b, "2") + // 11-21: split
		genRedisProto("PING") + // 22-24: no key, not sent
		"SET word abc\n" + // 25
		genRedisProto("INCR", "word") + // 26-30: error reply
		"GET counter" // 31, no final newline
	r := twine(t, input, "-pipe")
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	want(t, "report", r.stdout, "commands: 8\n", "replies:  7\n", "errors:   2 (1 not sent)\n")
	want(t, "errors", r.stderr,
		"line 22: PING has no key to route by (give -partition N or -node NAME)\n",
		"line 26: (error) ERR value is not an integer or out of range\n")
	ctx := context.Background()
	for k, v := range map[string]string{"counter": "2", "multi\r\nline": "bin\x00\xff value", a: "1", b: "2", "word": "abc"} {
		p, _ := c.Config.Partition([]byte(k))
		if got, err := c.Client(t, p).Get(ctx, k).Result(); err != nil || got != v {
			t.Errorf("%q on partition %d = %q, %v; want %q", k, p, got, err, v)
		}
	}
}

func TestPipeBadRESP(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 2})
	input := genRedisProto("SET", "before", "1") + // lines 1-7, bytes 0-31
		"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nabc\r\n" + // 8-14, from byte 32: $5 for 3 bytes
		"SET lost 1\n" + // 15: taken as the end of the 5 bytes, then skipped
		genRedisProto("SET", "after", "2") + // 16-22
		"SET inline 3\n" + // 23
		"*2\r\n$3\r\nGET\r\n$6\r\nbef" // 24-28, from byte 118: truncated
	r := twine(t, input, "-pipe")
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	want(t, "report", r.stdout, "commands: 5\n", "replies:  3\n", "errors:   2 (2 not sent)\n")
	want(t, "errors", r.stderr,
		"line 8: bad RESP command at byte offset 32: argument 3 of 3: its 5 bytes are not followed by CRLF; line 15 skipped\n",
		"line 24: truncated RESP command at byte offset 118: the input ends in argument 2 of 2 (3 of its 6 bytes)\n")
	for k, v := range map[string]string{"before": "1\n", "after": "2\n", "inline": "3\n", "lost": "\n", "key": "\n"} {
		if out := ok(t, "GET", k); out != v {
			t.Errorf("GET %s = %q, want %q", k, out, v)
		}
	}
}
