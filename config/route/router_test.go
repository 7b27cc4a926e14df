package route

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/routetest"
	"github.com/twine/twine/procs/redistest"
)

// testRouter starts a cluster and returns a Router for it, with its cache
// in a temporary directory.
func testRouter(t *testing.T, o routetest.Options) (*Router, *routetest.Cluster) {
	t.Helper()
	c := routetest.Start(t, o)
	r, err := New(c.Config, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do runs a command line through r and fails the test on a Go error.
func do(t *testing.T, r *Router, line string) Reply {
	t.Helper()
	rep, err := r.Do(testContext(t), words(line))
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return rep
}

func TestRoutingPlacesKeysOnTheirPartition(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 4, DB: true})
	ctx := testContext(t)
	seen := make(map[int]bool)
	for i := range 64 {
		key := fmt.Sprintf("key:%d", i)
		want, err := c.Config.Partition([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		seen[want] = true
		if rep := do(t, r, "SET "+key+" v"+strconv.Itoa(i)); rep.Kind != Status || string(rep.Str) != "OK" {
			t.Fatalf("SET %s = %v", key, rep)
		}
		if got := c.Where(t, key); !slices.Equal(got, []int{want}) {
			t.Errorf("%s is in partitions %v, want only %d", key, got, want)
		}
		// The node's own db holds it (db p for partition p).
		if v, err := c.Client(t, want).Get(ctx, key).Result(); err != nil || v != "v"+strconv.Itoa(i) {
			t.Errorf("GET %s on partition %d directly = %q, %v", key, want, v, err)
		}
		if rep := do(t, r, "GET "+key); rep.Kind != Bulk || string(rep.Str) != "v"+strconv.Itoa(i) {
			t.Errorf("GET %s = %v", key, rep)
		}
	}
	if len(seen) != 4 {
		t.Errorf("64 keys used partitions %v, want all 4", seen)
	}
}

func TestHashTagsKeepKeysTogether(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 4})
	do(t, r, "SET {user42}.name ann")
	do(t, r, "SET {user42}.mail ann@example.com")
	a, b := c.Where(t, "{user42}.name"), c.Where(t, "{user42}.mail")
	if len(a) != 1 || !slices.Equal(a, b) {
		t.Fatalf("tagged keys in partitions %v and %v", a, b)
	}
	// A multi-key command on one tag is not split and not refused.
	if rep := do(t, r, "RENAME {user42}.name {user42}.first"); string(rep.Str) != "OK" {
		t.Errorf("RENAME within a tag = %v", rep)
	}
}

func TestSplitCommandsMerge(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 4, DB: true})
	ctx := testContext(t)
	keys := []string{c.KeyIn(t, "a", 0), c.KeyIn(t, "b", 1), c.KeyIn(t, "c", 2), c.KeyIn(t, "d", 3), c.KeyIn(t, "e", 1)}

	rep := do(t, r, fmt.Sprintf("MSET %s 0 %s 1 %s 2 %s 3 %s 4", keys[0], keys[1], keys[2], keys[3], keys[4]))
	if rep.Kind != Status || string(rep.Str) != "OK" {
		t.Fatalf("MSET = %v", rep)
	}
	for i, k := range keys {
		p, _ := c.Config.Partition([]byte(k))
		if v, err := c.Client(t, p).Get(ctx, k).Result(); err != nil || v != strconv.Itoa(i) {
			t.Errorf("after MSET, %s on partition %d = %q, %v", k, p, v, err)
		}
	}

	rep = do(t, r, fmt.Sprintf("MGET %s nokey %s %s %s %s %s", keys[3], keys[0], keys[4], keys[1], keys[2], keys[3]))
	want := []string{"3", "", "0", "4", "1", "2", "3"}
	if rep.Kind != Array || len(rep.Elems) != len(want) {
		t.Fatalf("MGET = %v", rep)
	}
	for i, w := range want {
		e := rep.Elems[i]
		if w == "" && e.Kind != Nil || w != "" && (e.Kind != Bulk || string(e.Str) != w) {
			t.Errorf("MGET element %d = %v, want %q", i, e, w)
		}
	}

	all := strings.Join(keys, " ")
	if rep := do(t, r, "EXISTS "+all+" nokey "+keys[0]); rep.Kind != Int || rep.Int != 6 {
		t.Errorf("EXISTS = %v, want 6 (duplicates count)", rep)
	}
	if rep := do(t, r, "TOUCH "+all); rep.Kind != Int || rep.Int != 5 {
		t.Errorf("TOUCH = %v, want 5", rep)
	}
	if rep := do(t, r, "DEL "+keys[0]+" "+keys[1]+" nokey"); rep.Kind != Int || rep.Int != 2 {
		t.Errorf("DEL = %v, want 2", rep)
	}
	if rep := do(t, r, "UNLINK "+all); rep.Kind != Int || rep.Int != 3 {
		t.Errorf("UNLINK = %v, want 3", rep)
	}
	for _, k := range keys {
		if got := c.Where(t, k); len(got) != 0 {
			t.Errorf("%s still in partitions %v", k, got)
		}
	}
}

func TestSplitErrorReply(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 2})
	a, b := c.KeyIn(t, "a", 0), c.KeyIn(t, "b", 1)
	// MSET with a key and no value: Redis's own arity error, nothing set.
	rep := do(t, r, "MSET "+a+" 1 "+b)
	if rep.Kind != Error || !strings.Contains(string(rep.Str), "wrong number of arguments") {
		t.Errorf("malformed MSET = %v, want Redis's arity error", rep)
	}
	if got := c.Where(t, a); len(got) != 0 {
		t.Errorf("malformed MSET set %s", a)
	}
}

func TestCrossPartitionRefused(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 4})
	a, b := c.KeyIn(t, "a", 1), c.KeyIn(t, "b", 3)
	for _, line := range []string{
		"MSETNX " + a + " 1 " + b + " 2",
		"RENAME " + a + " " + b,
		"EVAL return 2 " + a + " " + b,
		"SUNIONSTORE " + a + " " + b,
	} {
		_, err := r.Do(testContext(t), words(line))
		var ce *CrossPartitionError
		if !errors.Is(err, ErrCrossPartition) || !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a CrossPartitionError", line, err)
			continue
		}
		if !slices.Equal(ce.Partitions, []int{1, 3}) || !slices.Equal(ce.Keys, []string{a, b}) {
			t.Errorf("%s: partitions %v keys %v", line, ce.Partitions, ce.Keys)
		}
		msg := err.Error()
		for _, want := range []string{"nothing was sent", "{hash tag}", fmt.Sprintf("%q in 1", a), fmt.Sprintf("%q in 3", b)} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: message %q lacks %q", line, msg, want)
			}
		}
	}
	if got := c.Where(t, a); len(got) != 0 {
		t.Errorf("refused MSETNX set %s in %v", a, got)
	}
}

func TestKeylessAndUnknownCommands(t *testing.T) {
	r, _ := testRouter(t, routetest.Options{Partitions: 2})
	ctx := testContext(t)
	for _, line := range []string{"PING", "DBSIZE", "INFO", "SCAN 0", "EVAL return 0"} {
		if _, err := r.Do(ctx, words(line)); !errors.Is(err, ErrNoKeys) {
			t.Errorf("%s: err = %v, want ErrNoKeys", line, err)
		}
	}
	for line, want := range map[string]string{
		"NOSUCHCOMMAND a b":  "ERR unknown command 'NOSUCHCOMMAND'",
		"GET":                "ERR wrong number of arguments for 'get' command",
		"GET a b":            "ERR wrong number of arguments for 'get' command",
		"OBJECT NOSUCHSUB k": "ERR unknown subcommand 'NOSUCHSUB'",
		"EVAL return 5 k":    "ERR Number of keys can't be greater than number of args",
	} {
		rep, err := r.Do(ctx, words(line))
		if err != nil || rep.Kind != Error || !strings.HasPrefix(string(rep.Str), want) {
			t.Errorf("%s = %v, %v; want error reply %q", line, rep, err, want)
		}
	}
	// DoOn runs keyless commands where asked.
	rep, err := r.DoOn(ctx, r.Master(1), words("PING"))
	if err != nil || string(rep.Str) != "PONG" {
		t.Errorf("PING on partition 1 = %v, %v", rep, err)
	}
}

func TestGetKeysFromRedis(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 4})
	src := c.KeyIn(t, "list", 2)
	dst := c.KeyIn(t, "{"+src+"}", 2)
	do(t, r, "RPUSH "+src+" 3 1 2")
	// SORT's STORE key is found by COMMAND GETKEYS.
	rt, err := r.Route(testContext(t), words("SORT "+src+" STORE "+dst))
	if err != nil || rt.Partition != 2 || len(rt.Keys) != 2 || rt.Pos != nil {
		t.Fatalf("Route(SORT ... STORE) = %+v, %v", rt, err)
	}
	if rep := do(t, r, "SORT "+src+" STORE "+dst); rep.Kind != Int || rep.Int != 3 {
		t.Errorf("SORT STORE = %v", rep)
	}
	other := c.KeyIn(t, "x", 0)
	if _, err := r.Route(testContext(t), words("SORT "+src+" STORE "+other)); !errors.Is(err, ErrCrossPartition) {
		t.Errorf("SORT STORE across partitions: err = %v", err)
	}
}

func TestNodeDown(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 3})
	ctx := testContext(t)
	do(t, r, "SET warm up") // reads the table while every node is up
	if err := syscall.Kill(c.Servers[1].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, func() bool {
		_, err := r.DoOn(ctx, r.Master(1), words("PING"))
		return err != nil
	}, "partition 1 still answers after SIGKILL")
	key := c.KeyIn(t, "k", 1)
	_, err := r.Do(ctx, words("GET "+key))
	var ne *NodeError
	if !errors.Is(err, ErrNodeDown) || !errors.As(err, &ne) {
		t.Fatalf("GET on a dead node: err = %v, want a NodeError, ErrNodeDown", err)
	}
	msg := err.Error()
	for _, want := range []string{"p1", c.Servers[1].Addr, "partition 1", "down"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	// Other partitions still work, and a split command names the dead node.
	if rep := do(t, r, "SET "+c.KeyIn(t, "k", 2)+" v"); string(rep.Str) != "OK" {
		t.Errorf("SET on a live partition = %v", rep)
	}
	_, err = r.Do(ctx, words("MGET "+c.KeyIn(t, "k", 0)+" "+key))
	if !errors.Is(err, ErrNodeDown) || !strings.Contains(err.Error(), "partition 1") {
		t.Errorf("MGET across a dead node: %v", err)
	}
}

func TestNoLiveNode(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 2})
	for _, s := range c.Servers {
		syscall.Kill(s.PID, syscall.SIGKILL)
	}
	ctx := testContext(t)
	redistest.Eventually(t, 10*time.Second, func() bool {
		_, err0 := r.DoOn(ctx, r.Master(0), words("PING"))
		_, err1 := r.DoOn(ctx, r.Master(1), words("PING"))
		return err0 != nil && err1 != nil
	}, "nodes still answer after SIGKILL")
	_, err := r.Do(ctx, words("GET a"))
	if !errors.Is(err, ErrNoLiveNode) || !strings.Contains(err.Error(), "p0") || !strings.Contains(err.Error(), "p1") {
		t.Errorf("err = %v, want ErrNoLiveNode naming p0 and p1", err)
	}
}

func TestPassword(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 2, Password: "s3cret"})
	key := c.KeyIn(t, "k", 1)
	if rep := do(t, r, "SET "+key+" v"); string(rep.Str) != "OK" {
		t.Fatalf("SET with the password file = %v", rep)
	}
	if got := c.Where(t, key); !slices.Equal(got, []int{1}) {
		t.Errorf("key in %v", got)
	}
	// A wrong password is a node error, not "down".
	bad, err := New(c.Config, Options{NoCache: true, Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_, err = bad.DoOn(testContext(t), bad.Master(0), words("PING"))
	var ne *NodeError
	if !errors.As(err, &ne) || errors.Is(err, ErrNodeDown) || !strings.Contains(err.Error(), "p0") {
		t.Errorf("wrong password: err = %v", err)
	}
}

func TestBlockingCommandWithoutReadTimeout(t *testing.T) {
	c := routetest.Start(t, routetest.Options{Partitions: 2})
	r, err := New(c.Config, Options{NoCache: true, ReadTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	key := c.KeyIn(t, "q", 1)
	done := make(chan Reply, 1)
	go func() {
		rep, _ := r.Do(context.Background(), words("BLPOP "+key+" 0"))
		done <- rep
	}()
	// Push once the BLPOP is waiting on the node.
	redistest.Eventually(t, 10*time.Second, func() bool {
		n, err := c.Client(t, 1).Do(context.Background(), "info", "clients").Text()
		return err == nil && strings.Contains(n, "blocked_clients:1")
	}, "BLPOP never blocked")
	c.Client(t, 1).RPush(context.Background(), key, "x")
	select {
	case rep := <-done:
		if rep.Kind != Array || len(rep.Elems) != 2 || string(rep.Elems[1].Str) != "x" {
			t.Errorf("BLPOP = %v", rep)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("BLPOP did not return after RPUSH")
	}
}

func TestSharedTagSuggestion(t *testing.T) {
	for _, tt := range []struct{ keys, want []string }{
		{[]string{"a", "b"}, []string{"{tag}a", "{tag}b"}},
		{[]string{"{user:1}.name", "other"}, []string{"{user:1}.name", "{user:1}other"}},
		{[]string{"x", "{u2}.mail"}, []string{"{u2}x", "{u2}.mail"}},
		{[]string{"{a}1", "pre{b}post"}, []string{"{a}1", "pre{a}post"}},
		{[]string{"{}x", "y"}, []string{"{tag}{}x", "{tag}y"}},
	} {
		if got := sharedTag(tt.keys); !slices.Equal(got, tt.want) {
			t.Errorf("sharedTag(%q) = %q, want %q", tt.keys, got, tt.want)
		}
	}
}

func TestUnreachable(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{opErr, true},
		{fmt.Errorf("wrapped: %w", opErr), true},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true},
		{errors.New("redis: can't parse reply"), false},
		{ErrProtocol, false},
	} {
		if got := unreachable(tt.err); got != tt.want {
			t.Errorf("unreachable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestNotRedis(t *testing.T) {
	// A port that answers, but not as Redis: an error naming the node,
	// not "down".
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	cfg, err := config.Parse("twine.conf", []byte(fmt.Sprintf("web=data 0 127.0.0.1 %d 0\n", port)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.DoOn(testContext(t), r.Master(0), words("PING"))
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Node.Name != "web" || !strings.Contains(err.Error(), "node web (127.0.0.1:") {
		t.Errorf("err = %v, want a NodeError naming web", err)
	}
}
