package route

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/config/route/routetest"
)

// words splits a command line at spaces.
func words(s string) [][]byte {
	var out [][]byte
	for _, w := range strings.Fields(s) {
		out = append(out, []byte(w))
	}
	return out
}

// liveTable reads the command table of a real redis-server.
func liveTable(t *testing.T) *Table {
	t.Helper()
	c := routetest.Start(t, routetest.Options{})
	r, err := New(c.Config, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tab, err := r.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestKeyPositionsFromRedis(t *testing.T) {
	tab := liveTable(t)
	if len(tab.Commands) < 100 || tab.Version == "" {
		t.Fatalf("table of redis %q has %d commands", tab.Version, len(tab.Commands))
	}
	tests := []struct {
		cmd  string
		want []int // nil: none
		res  keyResult
	}{
		{"GET foo", []int{1}, keysFound},
		{"get foo", []int{1}, keysFound},
		{"SET k v EX 10", []int{1}, keysFound},
		{"MSET a 1 b 2", []int{1, 3}, keysFound},
		{"MGET a b c", []int{1, 2, 3}, keysFound},
		{"DEL a b", []int{1, 2}, keysFound},
		{"EVAL s 2 k1 k2 a1", []int{3, 4}, keysFound},
		{"EVAL s 0", nil, keysFound},
		{"EVAL s 3 k1", nil, keysInvalid},
		{"EVAL s x k1", nil, keysInvalid},
		{"FCALL f 1 k arg", []int{3}, keysFound},
		{"ZUNIONSTORE dst 2 a b WEIGHTS 1 2", []int{1, 3, 4}, keysFound},
		{"ZINTERCARD 2 a b", []int{2, 3}, keysFound},
		{"LMPOP 2 a b LEFT", []int{2, 3}, keysFound},
		{"BZMPOP 0 2 a b MIN", []int{3, 4}, keysFound},
		{"XREAD COUNT 2 STREAMS s1 s2 0 0", []int{4, 5}, keysFound},
		{"xread streams s1 0", []int{2}, keysFound},
		{"XREADGROUP GROUP g c STREAMS s1 >", []int{5}, keysFound},
		{"GEORADIUS src 0 0 10 km STORE dst", []int{1, 7}, keysFound},
		{"GEORADIUS src 0 0 10 km", []int{1}, keysFound},
		{"OBJECT ENCODING k", []int{2}, keysFound},
		{"object encoding k", []int{2}, keysFound},
		{"XINFO STREAM s", []int{2}, keysFound},
		{"LMOVE a b LEFT RIGHT", []int{1, 2}, keysFound},
		{"BLPOP a b 0", []int{1, 2}, keysFound},
		{"BITOP AND dest a b", []int{2, 3, 4}, keysFound},
		{"PING", nil, keysFound},
		{"CONFIG GET maxmemory", nil, keysFound},
		{"SORT k STORE d", nil, keysAsk},
		{"MIGRATE h 1 \"\" 0 5000 KEYS a b", nil, keysAsk},
		{"GET", nil, keysInvalid},
		{"GET a b", nil, keysInvalid},
	}
	for _, tt := range tests {
		args := words(tt.cmd)
		c := tab.Lookup(args)
		if c == nil {
			t.Errorf("%s: not in the table", tt.cmd)
			continue
		}
		got, res := c.keys(args, nil)
		if res != tt.res || (res == keysFound && !slices.Equal(got, tt.want)) {
			t.Errorf("%s (%s): keys %v, result %d; want %v, %d", tt.cmd, c.Name, got, res, tt.want, tt.res)
		}
	}
	if c := tab.Lookup(words("NOSUCHCOMMAND x")); c != nil {
		t.Errorf("unknown command found as %s", c.Name)
	}
	if c, known := tab.resolve(words("OBJECT NOSUCHSUB k")); c == nil || known {
		t.Errorf("OBJECT NOSUCHSUB: %v, known %v; want the container, unknown", c, known)
	}
}

func TestKeySpecShapes(t *testing.T) {
	tests := []struct {
		name string
		spec KeySpec
		cmd  string
		want []int
		res  keyResult
	}{
		{"keyword from the end", KeySpec{
			BeginSearch: BeginSearch{Type: "keyword", Keyword: "STORE", StartFrom: -2},
			FindKeys:    FindKeys{Type: "range", LastKey: 0, KeyStep: 1},
		}, "C a STORE x STORE d", []int{5}, keysFound},
		{"keyword absent", KeySpec{
			BeginSearch: BeginSearch{Type: "keyword", Keyword: "STORE", StartFrom: 1},
			FindKeys:    FindKeys{Type: "range", LastKey: 0, KeyStep: 1},
		}, "C a b", nil, keysFound},
		{"keyword is the command name", KeySpec{
			BeginSearch: BeginSearch{Type: "keyword", Keyword: "C", StartFrom: 0},
			FindKeys:    FindKeys{Type: "range", LastKey: 0, KeyStep: 1},
		}, "C a", nil, keysFound},
		{"range with limit", KeySpec{
			BeginSearch: BeginSearch{Type: "index", Index: 1},
			FindKeys:    FindKeys{Type: "range", LastKey: -1, KeyStep: 1, Limit: 2},
		}, "C k1 k2 k3 i1 i2 i3", []int{1, 2, 3}, keysFound},
		{"range to the end, step 2", KeySpec{
			BeginSearch: BeginSearch{Type: "index", Index: 1},
			FindKeys:    FindKeys{Type: "range", LastKey: -1, KeyStep: 2},
		}, "C k1 v1 k2 v2", []int{1, 3}, keysFound},
		{"range past the end", KeySpec{
			BeginSearch: BeginSearch{Type: "index", Index: 1},
			FindKeys:    FindKeys{Type: "range", LastKey: 3, KeyStep: 1},
		}, "C a b", nil, keysInvalid},
		{"keynum with step 2", KeySpec{
			BeginSearch: BeginSearch{Type: "index", Index: 1},
			FindKeys:    FindKeys{Type: "keynum", KeyNumIdx: 0, FirstKey: 1, KeyStep: 2},
		}, "C 2 k1 v1 k2 v2", []int{2, 4}, keysFound},
		{"keynum negative", KeySpec{
			BeginSearch: BeginSearch{Type: "index", Index: 1},
			FindKeys:    FindKeys{Type: "keynum", KeyNumIdx: 0, FirstKey: 1, KeyStep: 1},
		}, "C -1 k", nil, keysInvalid},
		{"keynum index missing", KeySpec{
			BeginSearch: BeginSearch{Type: "index", Index: 2},
			FindKeys:    FindKeys{Type: "keynum", KeyNumIdx: 0, FirstKey: 1, KeyStep: 1},
		}, "C x", nil, keysFound},
		{"unknown", KeySpec{
			BeginSearch: BeginSearch{Type: "unknown"},
			FindKeys:    FindKeys{Type: "unknown"},
		}, "C a", nil, keysAsk},
		{"incomplete", KeySpec{
			Flags:       []string{"RW", "incomplete"},
			BeginSearch: BeginSearch{Type: "index", Index: 1},
			FindKeys:    FindKeys{Type: "range", LastKey: 0, KeyStep: 1},
		}, "C a", nil, keysAsk},
	}
	for _, tt := range tests {
		c := &Command{Name: "c", Arity: -1, KeySpecs: []KeySpec{tt.spec}}
		got, res := c.keys(words(tt.cmd), nil)
		if res != tt.res || (res == keysFound && !slices.Equal(got, tt.want)) {
			t.Errorf("%s: %s: keys %v, result %d; want %v, %d", tt.name, tt.cmd, got, res, tt.want, tt.res)
		}
	}
}

func TestLegacyKeyPositions(t *testing.T) {
	tests := []struct {
		c    Command
		cmd  string
		want []int
		res  keyResult
	}{
		{Command{Arity: 2, FirstKey: 1, LastKey: 1, Step: 1}, "GET a", []int{1}, keysFound},
		{Command{Arity: -3, FirstKey: 1, LastKey: -1, Step: 2}, "MSET a 1 b 2", []int{1, 3}, keysFound},
		{Command{Arity: -3, FirstKey: 1, LastKey: -2, Step: 1}, "BLPOP a b 0", []int{1, 2}, keysFound},
		{Command{Arity: 1}, "PING", nil, keysFound},
		{Command{Arity: -3, Flags: []string{"movablekeys"}}, "EVAL s 1 k", nil, keysAsk},
		{Command{Arity: 2, FirstKey: 1, LastKey: 1, Step: 1}, "GET", nil, keysInvalid},
	}
	for _, tt := range tests {
		got, res := tt.c.keys(words(tt.cmd), nil)
		if res != tt.res || (res == keysFound && !slices.Equal(got, tt.want)) {
			t.Errorf("%s: keys %v, result %d; want %v, %d", tt.cmd, got, res, tt.want, tt.res)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tab := &Table{Commands: map[string]*Command{"get": {Name: "get", Arity: 2}}}
	args := words("GET foo")
	allocs := testing.AllocsPerRun(100, func() {
		if tab.Lookup(args) == nil {
			t.Fatal("GET not found")
		}
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %v times", allocs)
	}
}

func TestRouteCacheKeepsSubcommandsApart(t *testing.T) {
	r, _ := testRouter(t, routetest.Options{Partitions: 2})
	var rt Route
	ctx := testContext(t)
	for _, line := range []string{"OBJECT ENCODING k", "OBJECT HELP", "GET a", "get b", "OBJECT FREQ k", "XINFO STREAM s", "XINFO HELP"} {
		if err := r.route(ctx, words(line), &rt); err != nil && !errors.Is(err, ErrNoKeys) {
			t.Fatalf("%s: %v", line, err)
		}
		want := strings.ToLower(strings.Fields(line)[0])
		if f := strings.Fields(line); want == "object" || want == "xinfo" {
			want += "|" + strings.ToLower(f[1])
		}
		if rt.Command == nil || rt.Command.Name != want {
			t.Errorf("%s routed as %v, want %s", line, rt.Command, want)
		}
	}
}
