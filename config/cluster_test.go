package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/twine/twine/config"
)

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such.twine.conf")
	c, err := config.Load(path)
	if err == nil {
		t.Fatalf("Load(%s) = %v, want an error", path, c)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	if errors.Is(err, config.ErrInvalid) {
		t.Errorf("error %v wraps ErrInvalid: a missing file is not an invalid one", err)
	}
	var list *config.ErrorList
	if errors.As(err, &list) {
		t.Errorf("error %v is an *ErrorList", err)
	}
}

func TestLoadDirectory(t *testing.T) {
	_, err := config.Load(t.TempDir())
	if err == nil || errors.Is(err, config.ErrInvalid) {
		t.Errorf("Load(a directory) = %v, want a read error that does not wrap ErrInvalid", err)
	}
}

func TestLoadInvalid(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, confName, lines("a0=data 0 localhost 4200 0", "a1=data 1 localhost 4200 0"), 0o644)
	_, err := config.Load(path)
	sameStrings(t, "errors", errorStrings(err), []string{path + ":2: localhost:4200 is already used by a0 on line 1"})
	errorList(t, err)
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, confName, lines(
		"a0=data 0 localhost 4200 0",
		"b0=data 0 web2.example.com 4200 0",
		"s0=status localhost 4290 0",
	), 0o644)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.File() != path {
		t.Errorf("File() = %q, want %q", c.File(), path)
	}
	tests := []struct {
		node, dir string
	}{
		{"a0", filepath.Join(dir, "partitions", "localhost", "a0")},
		{"b0", filepath.Join(dir, "partitions", "web2.example.com", "b0")},
		{"s0", filepath.Join(dir, "partitions", "localhost", "s0")},
	}
	for _, tt := range tests {
		n, ok := c.Node(tt.node)
		if !ok {
			t.Fatalf("Node(%q) not found", tt.node)
		}
		want := config.NodeFiles{
			Dir:     tt.dir,
			Conf:    filepath.Join(tt.dir, "redis.conf"),
			Pidfile: filepath.Join(tt.dir, "redis.pid"),
			Log:     filepath.Join(tt.dir, "redis.log"),
		}
		if got := c.Files(n); got != want {
			t.Errorf("Files(%s) = %+v, want %+v", tt.node, got, want)
		}
		if got := c.NodeDir(n); got != tt.dir {
			t.Errorf("NodeDir(%s) = %q, want %q", tt.node, got, tt.dir)
		}
	}
}

// A relative path to Load is made absolute, so the data dir does not move
// when the process changes its working directory later.
func TestLoadRelative(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, confName, lines("a0=data 0 localhost 4200 0", "set dir data"), 0o644)
	t.Chdir(dir)
	c, err := config.Load(confName)
	if err != nil {
		t.Fatal(err)
	}
	// t.TempDir may sit behind a symlink; compare what os.Getwd reports.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, confName); c.File() != want {
		t.Errorf("File() = %q, want %q", c.File(), want)
	}
	if want := filepath.Join(wd, "data"); c.Settings().Dir != want {
		t.Errorf("Settings().Dir = %q, want %q", c.Settings().Dir, want)
	}
}

// The accessors return copies: changing what they return leaves the
// Cluster as it was.
func TestAccessorsReturnCopies(t *testing.T) {
	c := mustParse(t, lines(
		"a0=data 0 web1 4200 0",
		"a1=data 0 web2 4200 0",
		"set alert ops@example.com",
		"set redis-include /etc/redis/common.conf",
	))
	nodes := c.Nodes()
	nodes[0].Name, nodes[0].Port = "changed", 1
	if n := c.Nodes()[0]; n.Name != "a0" || n.Port != 4200 {
		t.Errorf("Nodes()[0] = %+v after changing a copy", n)
	}
	hosts := c.Hosts()
	hosts[0] = "changed"
	sameStrings(t, "Hosts()", c.Hosts(), []string{"web1", "web2"})
	s := c.Settings()
	s.Alerts[0] = "changed@example.com"
	s.RedisIncludes[0] = "/changed"
	s.Dir = "/changed"
	s2 := c.Settings()
	sameStrings(t, "Settings().Alerts", s2.Alerts, []string{"ops@example.com"})
	sameStrings(t, "Settings().RedisIncludes", s2.RedisIncludes, []string{"/etc/redis/common.conf"})
	if s2.Dir == "/changed" {
		t.Error("Settings().Dir changed")
	}
	set := c.SetLines()
	set[0].Value = "changed"
	if got := c.SetLines()[0].Value; got != "ops@example.com" {
		t.Errorf("SetLines()[0].Value = %q after changing a copy", got)
	}
	rs := c.ReplicaSet(0)
	rs[0].Name = "changed"
	if m, _ := c.InitialMaster(0); m.Name != "a0" {
		t.Errorf("InitialMaster(0) = %+v after changing ReplicaSet's result", m)
	}
	on := c.NodesOn("web1")
	on[0].Name = "changed"
	if _, ok := c.Node("a0"); !ok {
		t.Error("node a0 gone after changing NodesOn's result")
	}
}

// A Cluster is read by many goroutines at once (run with -race).
func TestConcurrentReads(t *testing.T) {
	c := mustParse(t, lines(dataLines(16)...))
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 100 {
				if p, err := c.Partition([]byte{byte(i)}); err != nil || p < 0 || p >= 16 {
					t.Errorf("Partition = %d, %v", p, err)
				}
				_ = c.Nodes()
				_ = c.Settings()
				_, _ = c.ResolveHost("", "localhost")
			}
		}()
	}
	for range 8 {
		<-done
	}
}
