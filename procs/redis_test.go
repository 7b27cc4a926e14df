package procs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/twine/twine/procs/redistest"
)

func adoptRedis(t *testing.T, pidfile, addr, password, configFile string) (*Process, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	p, err := AdoptRedis(ctx, pidfile, addr, password, configFile, redistest.Logger(t))
	if err == nil {
		t.Cleanup(func() { p.Close() })
	}
	return p, err
}

func writePidfile(t *testing.T, pid int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "other.pid")
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAdoptRedis(t *testing.T) {
	srv := redistest.Server(t)
	p, err := adoptRedis(t, srv.Pidfile, srv.Addr, "", srv.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if p.PID() != srv.PID || !p.Adopted() {
		t.Fatalf("PID() = %d, Adopted() = %v; server pid %d", p.PID(), p.Adopted(), srv.PID)
	}
	e := p.Stop(waitTimeout)
	if e.Known || e.PID != srv.PID {
		t.Errorf("Stop() = %+v", e)
	}
}

func TestAdoptRedisPassword(t *testing.T) {
	srv := redistest.Server(t, "requirepass s3cret")
	if _, err := adoptRedis(t, srv.Pidfile, srv.Addr, "s3cret", srv.ConfigFile); err != nil {
		t.Fatal(err)
	}
	_, err := adoptRedis(t, srv.Pidfile, srv.Addr, "wrong", srv.ConfigFile)
	if !errors.Is(err, ErrStale) {
		t.Errorf("wrong password: %v, want ErrStale", err)
	}
}

// A pidfile naming a live, unrelated process: refused, and that process
// is left alone.
func TestAdoptRedisPIDReused(t *testing.T) {
	srv := redistest.Server(t)
	other, exited := execHelper(t, "sleep")
	pidfile := writePidfile(t, other.Process.Pid)

	_, err := adoptRedis(t, pidfile, srv.Addr, "", srv.ConfigFile)
	if !errors.Is(err, ErrStale) {
		t.Errorf("pidfile of another process: %v, want ErrStale", err)
	}
	// Nothing answers at the address either.
	nowhere := "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	_, err = adoptRedis(t, pidfile, nowhere, "", srv.ConfigFile)
	if !errors.Is(err, ErrStale) {
		t.Errorf("nothing at the address: %v, want ErrStale", err)
	}
	select {
	case <-exited:
		t.Fatalf("unrelated process died: %v", other.ProcessState)
	default:
	}
	if !alive(other.Process.Pid) {
		t.Fatal("unrelated process gone")
	}
	redistest.WaitPing(t, srv.Addr, waitTimeout)
}

func TestAdoptRedisConfigMismatch(t *testing.T) {
	srv := redistest.Server(t)
	other := filepath.Join(srv.Dir, "other.conf")
	_, err := adoptRedis(t, srv.Pidfile, srv.Addr, "", other)
	if !errors.Is(err, ErrStale) {
		t.Errorf("other config file: %v, want ErrStale", err)
	}
	redistest.WaitPing(t, srv.Addr, waitTimeout)
}

func TestAdoptRedisAnotherRedis(t *testing.T) {
	a := redistest.Server(t)
	b := redistest.Server(t)
	// a's pidfile and config, but b listens at the address.
	_, err := adoptRedis(t, a.Pidfile, b.Addr, "", a.ConfigFile)
	if !errors.Is(err, ErrStale) {
		t.Errorf("another redis on the port: %v, want ErrStale", err)
	}
	redistest.WaitPing(t, a.Addr, waitTimeout)
	redistest.WaitPing(t, b.Addr, waitTimeout)
}

func TestAdoptRedisDeadPID(t *testing.T) {
	srv := redistest.Server(t)
	p := startHelper(t, nil, "exit", "0")
	waitDone(t, p)
	_, err := adoptRedis(t, writePidfile(t, p.PID()), srv.Addr, "", srv.ConfigFile)
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("dead pid: %v, want ErrNotRunning", err)
	}
}

func TestAdoptRedisNoPidfile(t *testing.T) {
	srv := redistest.Server(t)
	missing := filepath.Join(t.TempDir(), "missing.pid")
	_, err := adoptRedis(t, missing, srv.Addr, "", srv.ConfigFile)
	if !errors.Is(err, ErrNotRunning) || !errors.Is(err, ErrNoPidfile) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing pidfile: %v, want ErrNotRunning and ErrNoPidfile", err)
	}
}

func TestAdoptRedisJunkPidfile(t *testing.T) {
	srv := redistest.Server(t)
	junk := filepath.Join(t.TempDir(), "junk.pid")
	if err := os.WriteFile(junk, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := adoptRedis(t, junk, srv.Addr, "", srv.ConfigFile)
	if !errors.Is(err, ErrStale) || !errors.Is(err, ErrInvalidPidfile) {
		t.Errorf("junk pidfile: %v, want ErrStale and ErrInvalidPidfile", err)
	}
}

func TestAdoptRedisCanceled(t *testing.T) {
	srv := redistest.Server(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := AdoptRedis(ctx, srv.Pidfile, srv.Addr, "", srv.ConfigFile, nil)
	if !errors.Is(err, context.Canceled) {
		if p != nil {
			p.Close()
		}
		t.Errorf("canceled context: %v, want context.Canceled", err)
	}
}
