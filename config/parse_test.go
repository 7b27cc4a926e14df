package config_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/config"
)

func TestLineForms(t *testing.T) {
	text := "# full-line comment\r\n" +
		"\r\n" +
		"set check-interval 2s # trailing comment after a setting\r\n" +
		"\t   \r\n" +
		"a0=data\t0   localhost \t 4200\t\t0   # trailing comment\r\n" +
		"   # indented comment\r\n" +
		"s0=status localhost 4290 0\r\n" +
		"a1=data 1 localhost 4201 0#x\r\n" +
		"set stop-timeout 5s\r\n" +
		"a2=data 2 localhost 4202 0\r\n" +
		"#set hash md5\r\n" +
		"a3=data 3 localhost 4203 0" // no final newline
	c, err := config.Parse(confName, []byte(text))
	// "0#x" is one word: '#' starts a comment only at the
	// start of a word, so that db is not a number.
	if err == nil {
		t.Fatal("Parse accepted a db of 0#x")
	}
	sameStrings(t, "errors", errorStrings(err), []string{
		`twine.conf:8: db "0#x" is not a number`,
	})

	text = strings.Replace(text, "0#x", "0 #a comment", 1)
	c = mustParse(t, text)
	if got := c.Partitions(); got != 4 {
		t.Errorf("Partitions() = %d, want 4", got)
	}
	want := []config.Node{
		{Name: "a0", Kind: config.Data, Partition: 0, Host: "localhost", Port: 4200, Line: 5},
		{Name: "s0", Kind: config.Status, Partition: -1, Host: "localhost", Port: 4290, Line: 7},
		{Name: "a1", Kind: config.Data, Partition: 1, Host: "localhost", Port: 4201, Line: 8},
		{Name: "a2", Kind: config.Data, Partition: 2, Host: "localhost", Port: 4202, Line: 10},
		{Name: "a3", Kind: config.Data, Partition: 3, Host: "localhost", Port: 4203, Line: 12},
	}
	got := c.Nodes()
	if len(got) != len(want) {
		t.Fatalf("Nodes() = %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("node %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	s := c.Settings()
	if s.CheckInterval != 2*time.Second || s.StopTimeout != 5*time.Second || s.Hash != "crc32" {
		t.Errorf("settings: check-interval %s, stop-timeout %s, hash %s; want 2s, 5s, crc32", s.CheckInterval, s.StopTimeout, s.Hash)
	}
	wantSet := []config.SetLine{{Name: "check-interval", Value: "2s", Line: 3}, {Name: "stop-timeout", Value: "5s", Line: 9}}
	if gotSet := c.SetLines(); len(gotSet) != 2 || gotSet[0] != wantSet[0] || gotSet[1] != wantSet[1] {
		t.Errorf("SetLines() = %+v, want %+v", gotSet, wantSet)
	}
	if s0, _ := c.Node("s0"); s0.Kind.String() != "status" || s0.InitialMaster() || s0.Member != 0 {
		t.Errorf("status node s0 = %+v (kind %s, initial master %v)", s0, s0.Kind, s0.InitialMaster())
	}
	if a0, _ := c.Node("a0"); a0.Kind.String() != "data" {
		t.Errorf("a0 kind = %s, want data", a0.Kind)
	}
	if _, ok := c.Node("nope"); ok {
		t.Error(`Node("nope") found a node`)
	}
}

// A file saved by an editor that writes a UTF-8 byte order mark parses as
// the same file without it.
func TestByteOrderMark(t *testing.T) {
	c := mustParse(t, "\ufeff# cluster\r\na0=data 0 localhost 4200 0\r\n")
	if n := c.Nodes(); len(n) != 1 || n[0].Name != "a0" || n[0].Line != 2 {
		t.Errorf("Nodes() = %+v, want a0 on line 2", n)
	}
	c = mustParse(t, "\ufeffa0=data 0 localhost 4200 0\n")
	if _, ok := c.Node("a0"); !ok {
		t.Errorf("Nodes() = %+v, want a0", c.Nodes())
	}
}

// Settings apply wherever they stand: the checks that involve several of
// them and the nodes run once the whole file is read.
func TestSettingsAnywhere(t *testing.T) {
	c, dir := mustParseIn(t, lines(
		"set check-timeout 200ms",
		"a0=data 0 localhost 4280 0",
		"set dir data",
		"a1=data 1 localhost 4281 0",
		"set httpd 127.0.0.1:9999",
		"set check-interval 300ms",
	))
	s := c.Settings()
	if s.Dir != filepath.Join(dir, "data") || s.HTTPD != "127.0.0.1:9999" || s.CheckTimeout != 200*time.Millisecond || s.CheckInterval != 300*time.Millisecond {
		t.Errorf("settings = %+v", s)
	}
	n, _ := c.Node("a1")
	if got, want := c.Files(n).Dir, filepath.Join(dir, "data", "partitions", "localhost", "a1"); got != want {
		t.Errorf("Files(a1).Dir = %q, want %q", got, want)
	}
}

func TestReplicaSets(t *testing.T) {
	c := mustParse(t, lines(
		"m0=data 0 web1 4200 3",
		"p1=data 1 web1 4201 0",
		"r0=data 0 web2 4200 3",
		"s=status web1 4290 0",
		"q0=data 0 web3 4200 3",
	))
	if got := c.Partitions(); got != 2 {
		t.Errorf("Partitions() = %d, want 2", got)
	}
	rs := c.ReplicaSet(0)
	var names []string
	for i, n := range rs {
		names = append(names, n.Name)
		if n.Member != i {
			t.Errorf("%s: Member = %d, want %d", n.Name, n.Member, i)
		}
		if n.InitialMaster() != (i == 0) {
			t.Errorf("%s: InitialMaster() = %v, want %v", n.Name, n.InitialMaster(), i == 0)
		}
		if n.DB != 3 {
			t.Errorf("%s: DB = %d, want 3", n.Name, n.DB)
		}
	}
	sameStrings(t, "ReplicaSet(0)", names, []string{"m0", "r0", "q0"})
	if m, ok := c.InitialMaster(0); !ok || m.Name != "m0" {
		t.Errorf("InitialMaster(0) = %+v, %v; want m0", m, ok)
	}
	if m, ok := c.InitialMaster(1); !ok || m.Name != "p1" {
		t.Errorf("InitialMaster(1) = %+v, %v; want p1", m, ok)
	}
	if m, ok := c.InitialMaster(2); ok {
		t.Errorf("InitialMaster(2) = %+v, want none", m)
	}
	if rs := c.ReplicaSet(2); len(rs) != 0 {
		t.Errorf("ReplicaSet(2) = %+v, want none", rs)
	}
	sameStrings(t, "Hosts()", c.Hosts(), []string{"web1", "web2", "web3"})
	var on []string
	for _, n := range c.NodesOn("web1") {
		on = append(on, n.Name)
	}
	sameStrings(t, `NodesOn("web1")`, on, []string{"m0", "p1", "s"})
	if n := c.NodesOn("web9"); len(n) != 0 {
		t.Errorf(`NodesOn("web9") = %+v, want none`, n)
	}
}

func TestPartitionOfKey(t *testing.T) {
	c := mustParse(t, lines(
		"a0=data 0 localhost 4200 0",
		"a1=data 1 localhost 4201 0",
		"a2=data 2 localhost 4202 0",
	))
	seen := map[int]bool{}
	for i := range 200 {
		key := []byte("key:" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26))
		p, err := c.Partition(key)
		if err != nil || p < 0 || p >= 3 {
			t.Fatalf("Partition(%q) = %d, %v; want a partition in [0,3)", key, p, err)
		}
		seen[p] = true
	}
	if len(seen) != 3 {
		t.Errorf("200 keys fell in partitions %v, want all 3", seen)
	}
	p1, _ := c.Partition([]byte("{user42}:name"))
	p2, _ := c.Partition([]byte("{user42}:mail"))
	if p1 != p2 {
		t.Errorf("keys with hash tag {user42} in partitions %d and %d, want the same", p1, p2)
	}
}
