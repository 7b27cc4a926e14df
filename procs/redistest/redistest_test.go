package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeTB records a Fatalf and ends the goroutine as the real one does.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with a fakeTB on its own goroutine and returns the Fatalf
// message, if any.
func run(fn func(tb testing.TB)) string {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.fatal
}

func TestBinaryMissingFails(t *testing.T) {
	t.Setenv(BinaryEnv, filepath.Join(t.TempDir(), "no-redis-server"))
	msg := run(func(tb testing.TB) { Binary(tb) })
	if !strings.Contains(msg, "redis-server not found") || !strings.Contains(msg, "apt-get install -y redis-server") {
		t.Errorf("Fatalf message = %q", msg)
	}

	t.Setenv(BinaryEnv, "")
	t.Setenv("PATH", t.TempDir())
	msg = run(func(tb testing.TB) { Binary(tb) })
	want := "redis-server not found: install it (apt-get install -y redis-server) or set TWINE_REDIS_SERVER"
	if msg != want {
		t.Errorf("Fatalf message = %q, want %q", msg, want)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Minute, func() bool { n++; return n == 3 }, "never")
	msg := run(func(tb testing.TB) {
		Eventually(tb, 20*time.Millisecond, func() bool { return false }, "gave up after %d", 20)
	})
	if msg != "gave up after 20" {
		t.Errorf("Fatalf message = %q", msg)
	}
}

func TestServer(t *testing.T) {
	srv := Server(t, "maxmemory 10mb")
	if srv.Addr != "127.0.0.1:"+strconv.Itoa(srv.Port) || srv.PID <= 0 {
		t.Errorf("server = %+v", srv)
	}
	b, err := os.ReadFile(srv.Pidfile)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(srv.PID) {
		t.Errorf("pidfile = %q, %v; want %d", b, err, srv.PID)
	}
	conf, err := os.ReadFile(srv.ConfigFile)
	if err != nil || !strings.Contains(string(conf), "maxmemory 10mb\n") {
		t.Errorf("config = %q, %v", conf, err)
	}
	WaitPing(t, srv.Addr, 10*time.Second)
	Logger(t).Info("server up", "addr", srv.Addr)
}

// The cleanup of Server kills the server.
func TestServerCleanup(t *testing.T) {
	var pid int
	t.Run("server", func(t *testing.T) { pid = Server(t).PID })
	// The PID is reaped by now; it may only have been reused by then.
	if err := syscall.Kill(pid, 0); err == nil {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(b), "redis-server") {
			t.Errorf("redis-server pid %d still running after cleanup", pid)
		}
	}
}
