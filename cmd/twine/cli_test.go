package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/config/hash"
	"github.com/twine/twine/config/route/routetest"
	"github.com/twine/twine/procs/redistest"
)

func TestRoutingAgreesWithHash(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 4, DB: true})
	used := make(map[int]bool)
	for i := range 24 {
		key := fmt.Sprintf("user:%d", i)
		p, err := strconv.Atoi(strings.TrimSpace(ok(t, "-hash", key)))
		if err != nil {
			t.Fatal(err)
		}
		used[p] = true
		if out := ok(t, "SET", key, "v"+strconv.Itoa(i)); out != "OK\n" {
			t.Errorf("SET %s printed %q", key, out)
		}
		if got := c.Where(t, key); !slices.Equal(got, []int{p}) {
			t.Errorf("%s: -hash says %d, the key is in %v", key, p, got)
		}
		if out := ok(t, "GET", key); out != "v"+strconv.Itoa(i)+"\n" {
			t.Errorf("GET %s printed %q", key, out)
		}
	}
	if len(used) != 4 {
		t.Errorf("keys used partitions %v, want all 4", used)
	}
}

func TestHashWithoutConfig(t *testing.T) {
	t.Setenv(ConfigEnv, "")
	crc, _ := hash.New("crc32")
	for _, key := range []string{"foo", "{user1}.name", ""} {
		want, _ := crc.Partition([]byte(key), 16)
		if out := ok(t, "-hash", key, "-partitions", "16"); out != strconv.Itoa(want)+"\n" {
			t.Errorf("-hash %q -partitions 16 = %q, want %d", key, out, want)
		}
	}
	// A config's hash function is used when there is one.
	dir := t.TempDir()
	conf := filepath.Join(dir, "twine.conf")
	os.WriteFile(conf, []byte("a=data 0 127.0.0.1 7000 0\nset hash fnv1a-64\n"), 0o644)
	fnv, _ := hash.New("fnv1a-64")
	crcP, _ := crc.Partition([]byte("somekey"), 1000)
	fnvP, _ := fnv.Partition([]byte("somekey"), 1000)
	if crcP == fnvP {
		t.Fatal("pick a key the two functions place apart")
	}
	if out := ok(t, "-config", conf, "-hash", "somekey", "-partitions", "1000"); out != strconv.Itoa(fnvP)+"\n" {
		t.Errorf("with set hash fnv1a-64: %q, want %d", out, fnvP)
	}
	// Without -partitions the config is needed.
	r := twine(t, "", "-hash", "foo")
	if r.code != 1 || !strings.Contains(r.stderr, "no config") || !strings.Contains(r.stderr, "TWINE_CONFIG") {
		t.Errorf("-hash without a config: %+v", r)
	}
}

func TestNodes(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "twine.conf")
	os.WriteFile(conf, []byte(`a=data 0 h1 7000 0
b=data 1 h1 7001 2
a2=data 0 h2 7000 0
s=status h1 7090 0
`), 0o644)
	got := ok(t, "-config", conf, "-nodes")
	wantOut := `PARTITION  ROLE     NODE  ADDRESS  DB
0          master   a     h1:7000  0
0          replica  a2    h2:7000  0
1          master   b     h1:7001  2
-          status   s     h1:7090  0
`
	if got != wantOut {
		t.Errorf("-nodes printed\n%s\nwant\n%s", got, wantOut)
	}
}

func TestMultiKeyCommands(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 4})
	k := []string{c.KeyIn(t, "a", 0), c.KeyIn(t, "b", 1), c.KeyIn(t, "c", 2), c.KeyIn(t, "d", 3)}
	if out := ok(t, "MSET", k[0], "0", k[1], "1", k[2], "2", k[3], "3"); out != "OK\n" {
		t.Errorf("MSET printed %q", out)
	}
	for i, key := range k {
		if got := c.Where(t, key); !slices.Equal(got, []int{i}) {
			t.Errorf("%s in %v, want [%d]", key, got, i)
		}
	}
	if out := ok(t, "MGET", k[3], "missing", k[1], k[0], k[2]); out != "3\n\n1\n0\n2\n" {
		t.Errorf("MGET printed %q", out)
	}
	if out := ok(t, "-no-raw", "MGET", k[2], "missing", k[0]); out != "1) \"2\"\n2) (nil)\n3) \"0\"\n" {
		t.Errorf("MGET -no-raw printed %q", out)
	}
	if out := ok(t, "EXISTS", k[0], k[1], k[2], k[3], "missing", k[0]); out != "5\n" {
		t.Errorf("EXISTS printed %q", out)
	}
	if out := ok(t, "-no-raw", "DEL", k[0], k[1], k[2], "missing"); out != "(integer) 3\n" {
		t.Errorf("DEL printed %q", out)
	}
	for _, key := range k[:3] {
		if got := c.Where(t, key); len(got) != 0 {
			t.Errorf("%s still in %v after DEL", key, got)
		}
	}
}

func TestCrossPartitionRefusal(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 4})
	a, b := c.KeyIn(t, "a", 0), c.KeyIn(t, "b", 2)
	ok(t, "SET", a, "1")
	r := twine(t, "", "RENAME", a, b)
	if r.code != 1 || r.stdout != "" {
		t.Errorf("cross-partition RENAME: %+v", r)
	}
	want(t, "refusal", r.stderr, "RENAME refused", "nothing was sent", fmt.Sprintf("%q in 0", a), fmt.Sprintf("%q in 2", b), "{hash tag}")
	if got := c.Where(t, a); !slices.Equal(got, []int{0}) {
		t.Errorf("%s moved to %v", a, got)
	}
	// With one tag the keys share a partition and the command runs.
	ok(t, "SET", "{t}x", "1")
	if out := ok(t, "RENAME", "{t}x", "{t}y"); out != "OK\n" {
		t.Errorf("RENAME in one tag: %q", out)
	}
}

func TestAll(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3, DB: true})
	ok(t, "MSET", c.KeyIn(t, "a", 0), "1", c.KeyIn(t, "b", 1), "1", c.KeyIn(t, "c", 1), "1")
	if out := ok(t, "-all", "DBSIZE"); out != "p0: 1\np1: 2\np2: 0\ntotal: 3\n" {
		t.Errorf("-all DBSIZE printed %q", out)
	}
	if out := ok(t, "-all", "-no-raw", "DBSIZE"); out != "p0: (integer) 1\np1: (integer) 2\np2: (integer) 0\ntotal: (integer) 3\n" {
		t.Errorf("-all -no-raw DBSIZE printed %q", out)
	}
	if out := ok(t, "-all", "-no-raw", "PING"); out != "p0: PONG\np1: PONG\np2: PONG\n" {
		t.Errorf("-all PING printed %q", out)
	}
	out := ok(t, "-all", "-no-raw", "KEYS", "*")
	want(t, "-all KEYS", out, "p0: 1) \"", "p1: 1) \"", "p1: 2) \"", "p2: (empty array)")
	out = ok(t, "-all", "INFO", "keyspace")
	want(t, "-all INFO keyspace", out, "p0: # Keyspace\n", "p0: db0:keys=1", "p1: db1:keys=2")

	// FLUSHDB on every master needs a terminal to confirm on, or -yes.
	r := twine(t, "yes\n", "-all", "FLUSHDB")
	if r.code != 2 || !strings.Contains(r.stderr, "-yes") {
		t.Errorf("-all FLUSHDB without a terminal: %+v", r)
	}
	if got := c.Where(t, c.KeyIn(t, "a", 0)); len(got) != 1 {
		t.Errorf("refused FLUSHDB flushed")
	}
	if out := ok(t, "-all", "-yes", "FLUSHDB"); out != "p0: OK\np1: OK\np2: OK\n" {
		t.Errorf("-all -yes FLUSHDB printed %q", out)
	}
	if out := ok(t, "-all", "DBSIZE"); out != "p0: 0\np1: 0\np2: 0\ntotal: 0\n" {
		t.Errorf("after FLUSHDB: %q", out)
	}
}

func TestTargets(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3})
	key := c.KeyIn(t, "k", 0)
	// An explicit target runs the command there, whatever the key.
	ok(t, "-partition", "2", "SET", key, "v")
	if got := c.Where(t, key); !slices.Equal(got, []int{2}) {
		t.Errorf("-partition 2 SET put the key in %v", got)
	}
	ok(t, "-node", "p1", "SET", key, "v")
	if got := c.Where(t, key); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("-node p1 SET: key in %v", got)
	}
	if out := ok(t, "-partition", "1", "DBSIZE"); out != "1\n" {
		t.Errorf("-partition 1 DBSIZE = %q", out)
	}
	r := twine(t, "", "-partition", "3", "PING")
	if r.code != 2 || !strings.Contains(r.stderr, "partitions 0 to 2") {
		t.Errorf("-partition 3: %+v", r)
	}
	r = twine(t, "", "-node", "nope", "PING")
	if r.code != 2 || !strings.Contains(r.stderr, "p0, p1, p2") {
		t.Errorf("-node nope: %+v", r)
	}
	r = twine(t, "", "PING")
	if r.code != 2 || !strings.Contains(r.stderr, "PING has no key") || !strings.Contains(r.stderr, "-partition N") {
		t.Errorf("PING without a target: %+v", r)
	}
}

func TestOutputModes(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 2})
	ok(t, "RPUSH", "list", "a b", "", "c\n")
	if out := ok(t, "LRANGE", "list", "0", "-1"); out != "a b\n\nc\n\n" {
		t.Errorf("raw (stdout not a terminal) LRANGE = %q", out)
	}
	if out := ok(t, "-raw", "LRANGE", "list", "0", "-1"); out != "a b\n\nc\n\n" {
		t.Errorf("-raw LRANGE = %q", out)
	}
	if out := ok(t, "-no-raw", "LRANGE", "list", "0", "-1"); out != "1) \"a b\"\n2) \"\"\n3) \"c\\n\"\n" {
		t.Errorf("-no-raw LRANGE = %q", out)
	}
	if out := ok(t, "-no-raw", "GET", "missing"); out != "(nil)\n" {
		t.Errorf("-no-raw GET missing = %q", out)
	}
	if out := ok(t, "-no-raw", "SET", "k", "OK"); out != "OK\n" {
		t.Errorf("-no-raw SET = %q", out)
	}
	if out := ok(t, "-no-raw", "GET", "k"); out != "\"OK\"\n" {
		t.Errorf("-no-raw GET = %q (a bulk OK is quoted)", out)
	}
	if out := ok(t, "-no-raw", "-partition", "0", "INFO", "server"); !strings.HasPrefix(out, "# Server\r\nredis_version:") {
		t.Errorf("-no-raw INFO is not raw: %.40q", out)
	}
	r := twine(t, "", "-raw", "-no-raw", "GET", "k")
	if r.code != 2 {
		t.Errorf("-raw -no-raw: %+v", r)
	}
}

func TestRedisErrors(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 2})
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"NOSUCHCOMMAND", "x"}, "ERR unknown command 'NOSUCHCOMMAND'"},
		{[]string{"GET"}, "ERR wrong number of arguments for 'get' command"},
		{[]string{"SET", "k"}, "ERR wrong number of arguments for 'set' command"},
	}
	for _, tt := range tests {
		r := twine(t, "", tt.args...)
		if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, "(error) "+tt.msg) {
			t.Errorf("raw %v: %+v; want exit 1 and %q on stderr", tt.args, r, tt.msg)
		}
		r = twine(t, "", append([]string{"-no-raw"}, tt.args...)...)
		if r.code != 1 || !strings.HasPrefix(r.stdout, "(error) "+tt.msg) {
			t.Errorf("-no-raw %v: %+v; want exit 1 and %q on stdout", tt.args, r, tt.msg)
		}
	}
	ok(t, "SET", "word", "abc")
	r := twine(t, "", "INCR", "word")
	if r.code != 1 || !strings.Contains(r.stderr, "(error) ERR value is not an integer") {
		t.Errorf("INCR word: %+v", r)
	}
	r = twine(t, "", "SUBSCRIBE", "ch")
	if r.code != 2 || !strings.Contains(r.stderr, "SUBSCRIBE is not supported") {
		t.Errorf("SUBSCRIBE: %+v", r)
	}
}

func TestNodeDown(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3})
	ok(t, "SET", c.KeyIn(t, "warm", 0), "1")
	if err := syscall.Kill(c.Servers[1].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, func() bool {
		return c.Client(t, 1).Ping(context.Background()).Err() != nil
	}, "partition 1 still answers after SIGKILL")
	key := c.KeyIn(t, "k", 1)
	r := twine(t, "", "GET", key)
	if r.code != 1 || r.stdout != "" {
		t.Errorf("GET on a dead node: %+v", r)
	}
	want(t, "node down error", r.stderr, "node p1", c.Servers[1].Addr, "partition 1", "is down", "connection refused")
	// Keys of live partitions still work.
	if out := ok(t, "SET", c.KeyIn(t, "k", 2), "v"); out != "OK\n" {
		t.Errorf("SET on a live partition: %q", out)
	}
	// -all answers for the live nodes and names the dead one.
	r = twine(t, "", "-all", "DBSIZE")
	if r.code != 1 || !strings.Contains(r.stdout, "p0: 1\n") || strings.Contains(r.stdout, "total") {
		t.Errorf("-all with a dead node: %+v", r)
	}
	want(t, "-all stderr", r.stderr, "node p1", "is down")
}

func TestConfigErrors(t *testing.T) {
	t.Setenv(ConfigEnv, "")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("a=data 0 127.0.0.1 7000 0\nb=data 0 127.0.0.1 99999 0\nset hash nope\n"), 0o644)
	r := twine(t, "", "-config", bad, "GET", "k")
	if r.code != 1 {
		t.Errorf("bad config: exit %d", r.code)
	}
	want(t, "config errors", r.stderr, bad+":2: ", bad+":3: ")
	// $TWINE_CONFIG is read when -config is not given.
	t.Setenv(ConfigEnv, bad)
	r = twine(t, "", "GET", "k")
	want(t, "config errors through $TWINE_CONFIG", r.stderr, bad+":2: ")
	// No config at all.
	t.Setenv(ConfigEnv, "")
	r = twine(t, "", "GET", "k")
	if r.code != 1 {
		t.Errorf("no config: exit %d", r.code)
	}
	want(t, "no config", r.stderr, "no config", "-config FILE", "TWINE_CONFIG")
	r = twine(t, "", "-config", filepath.Join(dir, "missing.conf"), "GET", "k")
	want(t, "missing -config", r.stderr, "missing.conf", "no such file")
}

func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string // in the message
	}{
		{[]string{"-nosuchflag"}, "-nosuchflag"},
		{[]string{"-partition", "1", "-all", "PING"}, "exclude each other"},
		{[]string{"-partition", "-1", "PING"}, "-partition -1"},
		{[]string{"-partitions", "4", "GET", "k"}, "-partitions goes with -hash"},
		{[]string{"-hash", "k", "-partitions", "0"}, "-partitions 0"},
		{[]string{"-hash", "k", "extra"}, `"extra"`},
		{[]string{"-yes", "PING"}, "-yes goes with -all"},
		{[]string{"-pipe", "-all"}, "-all does not go with -pipe"},
		{[]string{"-nodes", "-pipe"}, "exclude each other"},
		{[]string{"-nodes", "-partition", "1"}, "-partition, -node and -all go with"},
		{[]string{"-scan", "-pipe"}, "exclude each other"},
		{[]string{"-scan", "-all"}, "-all does not go with -scan"},
		{[]string{"-scan", "-count", "0"}, "-count 0"},
		{[]string{"-scan", "KEYS"}, `"KEYS"`},
		{[]string{"-pattern", "a*", "KEYS", "*"}, "-pattern goes with -scan"},
		{[]string{"-type", "hash"}, "-type goes with -scan"},
		{[]string{"-count", "5", "GET", "k"}, "-count goes with -scan"},
		{[]string{"-r", "0", "PING"}, "-r 0"},
		{[]string{"-r", "-2", "PING"}, "-r -2"},
		{[]string{"-r", "3"}, "-r goes with a command"},
		{[]string{"-r", "3", "-scan"}, "-r goes with a command"},
		{[]string{"-i", "1", "GET", "k"}, "-i goes with -r"},
		{[]string{"-r", "2", "-i", "soon", "GET", "k"}, "-i: want seconds (0.5) or a duration (500ms)"},
		{[]string{"-r", "2", "-i", "-1", "GET", "k"}, "-i: must not be negative"},
	} {
		r := twine(t, "", tt.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.msg) {
			t.Errorf("twine %q: exit %d, stderr %q; want exit 2 and %q", tt.args, r.code, r.stderr, tt.msg)
		}
	}
	if r := twine(t, "", "-help"); r.code != 0 || !strings.Contains(r.stderr, "Usage:") {
		t.Errorf("-help: %+v", r)
	}
	if out := ok(t, "-version"); !strings.HasPrefix(out, "twine ") {
		t.Errorf("-version: %q", out)
	}
}

func TestPassword(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 2, Password: "pw with space"})
	key := c.KeyIn(t, "k", 1)
	if out := ok(t, "SET", key, "v"); out != "OK\n" {
		t.Errorf("SET with a password file: %q", out)
	}
	if got := c.Where(t, key); !slices.Equal(got, []int{1}) {
		t.Errorf("key in %v", got)
	}
}
