package route

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/twine/twine/config/route/routetest"
)

func TestCommandTableCache(t *testing.T) {
	c := routetest.Start(t, routetest.Options{Partitions: 2})
	dir := filepath.Join(t.TempDir(), "cache")
	newRouter := func(o Options) *Router {
		r, err := New(c.Config, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}

	// The first router reads the table from Redis and caches it, per
	// version.
	tab, err := newRouter(Options{CacheDir: dir}).Table(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	file := CacheFile(dir, tab.Version)
	if filepath.Base(file) != "commands-v1-redis-"+tab.Version+".json" {
		t.Errorf("cache file %s does not name the version %s", file, tab.Version)
	}
	cached, err := loadCache(dir, tab.Version)
	if err != nil {
		t.Fatalf("cache not written: %v", err)
	}
	if len(cached.Commands) != len(tab.Commands) || cached.Commands["get"] == nil {
		t.Errorf("cached %d commands, read %d", len(cached.Commands), len(tab.Commands))
	}

	// A later router uses the cache instead of COMMAND: a doctored entry
	// shows which one it read.
	cached.Commands["get"] = &Command{Name: "get", Arity: 2}
	writeTable(t, file, cached)
	_, err = newRouter(Options{CacheDir: dir}).Route(testContext(t), words("GET foo"))
	if !errors.Is(err, ErrNoKeys) {
		t.Errorf("with a cached GET without keys: err = %v, want ErrNoKeys", err)
	}

	// A command missing from the cache is learnt from Redis and cached.
	delete(cached.Commands, "get")
	writeTable(t, file, cached)
	rt, err := newRouter(Options{CacheDir: dir}).Route(testContext(t), words("GET foo"))
	if err != nil || len(rt.Keys) != 1 || string(rt.Keys[0]) != "foo" {
		t.Errorf("GET missing from the cache: %+v, %v", rt, err)
	}
	if again, err := loadCache(dir, tab.Version); err != nil || again.Commands["get"] == nil {
		t.Errorf("learnt GET not cached: %v", err)
	}

	// A corrupt file is read again from Redis and replaced.
	if err := os.WriteFile(file, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newRouter(Options{CacheDir: dir}).Route(testContext(t), words("GET foo")); err != nil {
		t.Errorf("with a corrupt cache: %v", err)
	}
	if _, err := loadCache(dir, tab.Version); err != nil {
		t.Errorf("corrupt cache not replaced: %v", err)
	}

	// NoCache writes nothing.
	other := t.TempDir()
	if _, err := newRouter(Options{CacheDir: other, NoCache: true}).Table(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(other); len(ents) != 0 {
		t.Errorf("NoCache wrote %v", ents)
	}
}

func writeTable(t *testing.T, file string, tab *Table) {
	t.Helper()
	b, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv(CacheDirEnv, "/some/where")
	if got := DefaultCacheDir(); got != "/some/where" {
		t.Errorf("with %s set: %q", CacheDirEnv, got)
	}
	t.Setenv(CacheDirEnv, "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := DefaultCacheDir(); got != "/xdg/twine" {
		t.Errorf("with XDG_CACHE_HOME: %q, want /xdg/twine", got)
	}
}

func TestCacheFileNameIsSafe(t *testing.T) {
	got := filepath.Base(CacheFile("/d", "7.0.15/../x y"))
	if got != "commands-v1-redis-7.0.15_.._x_y.json" {
		t.Errorf("CacheFile = %q", got)
	}
}
