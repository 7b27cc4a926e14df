package setup_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/procs/redistest"
	"github.com/twine/twine/supervisor/setup"
)

func writeConf(t *testing.T, text string) *config.Cluster {
	t.Helper()
	path := filepath.Join(t.TempDir(), "twine.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFixtureSetsUpBothHosts(t *testing.T) {
	src, err := os.ReadFile("../../config/testdata/original-64.twine.conf")
	if err != nil {
		t.Fatalf("the original 64-partition fixture is needed: %v", err)
	}
	c := writeConf(t, string(src))
	for _, host := range []string{"localhost", "127.0.0.1"} {
		res, err := setup.Host(c, host)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 32 {
			t.Fatalf("%s: %d nodes set up, want 32", host, len(res))
		}
		for _, r := range res {
			b, err := os.ReadFile(r.Files.Conf)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				fmt.Sprintf("port %d\n", r.Node.Port),
				"bind " + host + "\n",
				"daemonize no\n",
				"pidfile " + r.Files.Pidfile + "\n",
				"logfile " + r.Files.Log + "\n",
				"dir " + r.Files.Dir + "\n",
				"save 60 1\n",
			} {
				if !bytes.Contains(b, []byte(want)) {
					t.Errorf("%s: missing %q", r.Files.Conf, want)
				}
			}
		}
	}
}

func TestRerunKeepsDataAndOnlyRewritesChanges(t *testing.T) {
	c := writeConf(t, "a=data 0 127.0.0.1 7000 0\nb=data 1 127.0.0.1 7001 0\n")
	res, err := setup.Host(c, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.Changed {
			t.Errorf("%s: first setup did not write its config", r.Node.Name)
		}
	}
	data := filepath.Join(res[0].Files.Dir, "dump.rdb")
	if err := os.WriteFile(data, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = setup.Host(c, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Changed {
			t.Errorf("%s: unchanged config rewritten", r.Node.Name)
		}
	}
	if b, _ := os.ReadFile(data); string(b) != "precious" {
		t.Errorf("data file touched: %q", b)
	}
	entries, _ := os.ReadDir(res[0].Files.Dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestRenderReplicaAOFPasswordIncludes(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	inc := filepath.Join(dir, "extra conf.conf")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	os.WriteFile(inc, []byte("maxmemory 10mb\n"), 0o644)
	c := writeConf(t, fmt.Sprintf("set appendonly yes\nset redis-password-file %s\nset redis-include %s\n"+
		"m=data 0 127.0.0.1 7000 20\nr=data 0 127.0.0.2 7001 20\n", pw, inc))
	r, _ := c.Node("r")
	b, err := setup.Render(c, r, "s3cret", setup.InitialRole(c, r))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"replicaof 127.0.0.1 7000\n", "appendonly yes\n", "appendfsync everysec\n",
		"auto-aof-rewrite-percentage 0\n", "requirepass s3cret\n", "masterauth s3cret\n",
		"databases 21\n", `include "` + inc + `"` + "\n", "protected-mode yes\n",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("missing %q in:\n%s", want, b)
		}
	}
	res, err := setup.Host(c, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(res[0].Files.Conf)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config holding the password has mode %v, want 0600", st.Mode().Perm())
	}
}

func TestEmptyPasswordFile(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("\n"), 0o600)
	if _, err := setup.ReadPassword(pw); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("err = %v, want an empty-file error", err)
	}
}

// TestGeneratedConfigsStartRealRedis starts redis-server from generated
// configs (RDB, AOF, a replica set) and checks that each answers.
func TestGeneratedConfigsStartRealRedis(t *testing.T) {
	bin := redistest.Binary(t)
	for _, mode := range []string{"no", "yes"} {
		t.Run("appendonly="+mode, func(t *testing.T) {
			p0, p1, p2 := redistest.FreePort(t), redistest.FreePort(t), redistest.FreePort(t)
			inc := filepath.Join(t.TempDir(), "fast-sync.conf")
			if err := os.WriteFile(inc, []byte("repl-diskless-sync-delay 0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			c := writeConf(t, fmt.Sprintf("set redis-include %s\nset appendonly %s\nm=data 0 127.0.0.1 %d 3\nr=data 0 127.0.0.1 %d 3\nx=data 1 127.0.0.1 %d 0\n", inc, mode, p0, p1, p2))
			res, err := setup.Host(c, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				cmd := exec.Command(bin, r.Files.Conf)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				pid := cmd.Process.Pid
				t.Cleanup(func() {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					_ = cmd.Wait()
				})
				redistest.WaitPing(t, r.Node.Addr(), 10*time.Second)
			}
			ctx := context.Background()
			m := redis.NewClient(&redis.Options{Addr: res[0].Node.Addr(), DB: 3})
			defer m.Close()
			if err := m.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			rep := redis.NewClient(&redis.Options{Addr: res[1].Node.Addr(), DB: 3})
			defer rep.Close()
			redistest.Eventually(t, 10*time.Second, func() bool {
				v, _ := rep.Get(ctx, "k").Result()
				return v == "v"
			}, "replica never got the key")
		})
	}
}
