package route

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/config/route/routetest"
	"github.com/twine/twine/procs/redistest"
)

// failures records OnError calls.
type failures struct {
	mu   sync.Mutex
	errs map[int64]error
}

func (f *failures) add(id int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.errs == nil {
		f.errs = make(map[int64]error)
	}
	if _, dup := f.errs[id]; dup {
		panic(fmt.Sprintf("OnError called twice for %d", id))
	}
	f.errs[id] = err
}

func (f *failures) ids() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int64
	for id := range f.errs {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func TestPipeRoutesEveryCommand(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 4, DB: true})
	ctx := testContext(t)
	var f failures
	p := r.NewPipe(ctx, PipeOptions{Batch: 100, OnError: f.add})
	const n = 5000
	var id int64
	send := func(line string) {
		t.Helper()
		id++
		if err := p.Send(id, words(line)); err != nil {
			t.Fatalf("Send(%s): %v", line, err)
		}
	}
	for i := range n {
		send(fmt.Sprintf("SET k:%d %d", i, i))
	}
	// Order within a partition is kept: the INCRs see the SET, the list
	// grows in order.
	send("SET counter 1")
	for range 100 {
		send("INCR counter")
	}
	for i := range 300 {
		send("RPUSH list " + strconv.Itoa(i))
	}
	// Error replies are reported with the command's id.
	send("SET word abc")
	send("INCR word")
	wantErr := id
	// A split command counts once.
	a, b := c.KeyIn(t, "a", 0), c.KeyIn(t, "b", 3)
	send("MSET " + a + " 1 " + b + " 2")
	st := p.Close()

	total := int64(n + 1 + 100 + 300 + 2 + 1)
	if st.Sent != total || st.Done != total || st.Errors != 1 {
		t.Errorf("stats %+v, want %d sent and done, 1 error", st, total)
	}
	if ids := f.ids(); !slices.Equal(ids, []int64{wantErr}) {
		t.Errorf("failed ids %v, want [%d]", ids, wantErr)
	}
	var re *ReplyError
	if err := f.errs[wantErr]; !errors.As(err, &re) || re.Msg != "ERR value is not an integer or out of range" {
		t.Errorf("INCR word failed with %v", err)
	}

	var sum int64
	for part := range 4 {
		got, err := c.Client(t, part).DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		sum += got
	}
	if want := int64(n + 5); sum != want {
		t.Errorf("%d keys in the cluster, want %d", sum, want)
	}
	for i := 0; i < n; i += 97 {
		key := fmt.Sprintf("k:%d", i)
		want, _ := c.Config.Partition([]byte(key))
		if got := c.Where(t, key); !slices.Equal(got, []int{want}) {
			t.Errorf("%s in %v, want [%d]", key, got, want)
		}
	}
	if rep := do(t, r, "GET counter"); string(rep.Str) != "101" {
		t.Errorf("counter = %v, want 101", rep)
	}
	rep := do(t, r, "LRANGE list 0 -1")
	for i, e := range rep.Elems {
		if string(e.Str) != strconv.Itoa(i) {
			t.Fatalf("list[%d] = %q: order not kept", i, e.Str)
		}
	}
	if len(rep.Elems) != 300 {
		t.Errorf("list has %d elements, want 300", len(rep.Elems))
	}
	if rep := do(t, r, "MGET "+a+" "+b); len(rep.Elems) != 2 || string(rep.Elems[1].Str) != "2" {
		t.Errorf("after a piped MSET: %v", rep)
	}
}

func TestPipeRefusesBeforeSending(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 2})
	var f failures
	p := r.NewPipe(testContext(t), PipeOptions{OnError: f.add})
	a, b := c.KeyIn(t, "a", 0), c.KeyIn(t, "b", 1)
	if err := p.Send(1, words("RENAME "+a+" "+b)); !errors.Is(err, ErrCrossPartition) {
		t.Errorf("cross-partition RENAME: %v", err)
	}
	if err := p.Send(2, words("PING")); !errors.Is(err, ErrNoKeys) {
		t.Errorf("PING: %v", err)
	}
	if err := p.Send(3, words("NOSUCH x")); err != nil {
		t.Errorf("unknown command: %v", err)
	}
	if st := p.Close(); st.Sent != 1 || st.Errors != 1 {
		t.Errorf("stats %+v, want the unknown command sent and failed", st)
	}
	if got := f.errs[3]; got == nil || !strings.HasPrefix(got.Error(), "ERR unknown command") {
		t.Errorf("unknown command answered %v", got)
	}
}

func TestPipeTarget(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 3})
	target := r.Master(2)
	p := r.NewPipe(testContext(t), PipeOptions{Target: &target, Batch: 7})
	for i := range 50 {
		if err := p.Send(int64(i), words(fmt.Sprintf("SET t:%d x", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Send(50, words("PING")); err != nil {
		t.Errorf("PING to a target: %v", err)
	}
	if st := p.Close(); st.Done != 51 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
	n, err := c.Client(t, 2).DBSize(testContext(t)).Result()
	if err != nil || n != 50 {
		t.Errorf("target holds %d keys, %v; want 50", n, err)
	}
}

func TestPipeNodeDown(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 3})
	ctx := testContext(t)
	do(t, r, "SET warm up")
	syscall.Kill(c.Servers[1].PID, syscall.SIGKILL)
	redistest.Eventually(t, 10*time.Second, func() bool {
		_, err := r.DoOn(ctx, r.Master(1), words("PING"))
		return err != nil
	}, "partition 1 still answers after SIGKILL")

	var f failures
	p := r.NewPipe(ctx, PipeOptions{Batch: 10, OnError: f.add})
	want := 0
	for i := range 300 {
		key := fmt.Sprintf("k:%d", i)
		if part, _ := c.Config.Partition([]byte(key)); part == 1 {
			want++
		}
		if err := p.Send(int64(i), words("SET "+key+" v")); err != nil {
			t.Fatal(err)
		}
	}
	st := p.Close()
	if st.Done != 300 || st.Errors != int64(want) || want == 0 {
		t.Errorf("stats %+v, want 300 done, %d errors", st, want)
	}
	for id, err := range f.errs {
		var ne *NodeError
		if !errors.As(err, &ne) || !errors.Is(err, ErrNodeDown) || ne.Node.Name != "p1" {
			t.Errorf("command %d failed with %v, want p1 down", id, err)
		}
	}
}

func TestPipeCancel(t *testing.T) {
	r, _ := testRouter(t, routetest.Options{Partitions: 2})
	ctx, cancel := context.WithCancel(testContext(t))
	p := r.NewPipe(ctx, PipeOptions{Batch: 10})
	for i := range 100 {
		if err := p.Send(int64(i), words(fmt.Sprintf("SET c:%d v", i))); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := p.Send(100, words("SET x y")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send after cancel: %v", err)
	}
	st := p.Close() // must return
	if st.Sent != 100 || st.Done > st.Sent {
		t.Errorf("stats after cancel %+v", st)
	}
}

func TestPipeCopiesArguments(t *testing.T) {
	r, c := testRouter(t, routetest.Options{Partitions: 3})
	p := r.NewPipe(testContext(t), PipeOptions{Batch: 7})
	args := [][]byte{[]byte("SET"), nil, nil}
	var key, value []byte
	for i := range 100 {
		key = strconv.AppendInt(append(key[:0], "copy:"...), int64(i), 10)
		value = strconv.AppendInt(append(value[:0], "v"...), int64(i), 10)
		args[1], args[2] = key, value
		if err := p.Send(int64(i), args); err != nil {
			t.Fatal(err)
		}
	}
	if st := p.Close(); st.Done != 100 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
	for i := range 100 {
		k := fmt.Sprintf("copy:%d", i)
		part, _ := c.Config.Partition([]byte(k))
		if got, err := c.Client(t, part).Get(context.Background(), k).Result(); err != nil || got != fmt.Sprintf("v%d", i) {
			t.Errorf("%s = %q, %v", k, got, err)
		}
	}
}
