// Package redistest holds test helpers for code that runs real
// redis-server processes: finding the binary, free loopback ports, polling
// with a deadline, a logger writing to the test log, and a throwaway
// redis-server. It depends on os/exec only (not on procs), so that any
// package's tests, procs included, can import it.
//
// Helpers that fail the test (Fatalf) must be called from the test's own
// goroutine.
package redistest

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// BinaryEnv names the environment variable that overrides the
// redis-server binary used by tests.
const BinaryEnv = "TWINE_REDIS_SERVER"

// Binary returns the redis-server to use: $TWINE_REDIS_SERVER if set, else
// redis-server on PATH. If none is found it fails the test with a message
// saying how to install it. It never skips.
func Binary(tb testing.TB) string {
	tb.Helper()
	const how = "install it (apt-get install -y redis-server) or set " + BinaryEnv
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			tb.Fatalf("redis-server not found: %s=%s: %v: %s", BinaryEnv, p, err, how)
		}
		return p
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redis-server not found: %s", how)
	}
	return p
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before it is used; Server retries for that
// reason.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreePortOn returns a TCP port that was free on host (an address of this
// machine, such as 127.0.0.2) a moment ago.
func FreePortOn(tb testing.TB, host string) int {
	tb.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		tb.Fatalf("find a free port on %s: %v", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Eventually calls cond every 5ms until it returns true, and fails the test
// with the formatted message if timeout passes first. cond runs on the
// calling goroutine.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	if !Poll(timeout, cond) {
		tb.Fatalf(format, args...)
	}
}

// Poll is Eventually without the failure: it reports whether cond became
// true before timeout.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// WaitPing polls PING at addr (no password) until the node answers PONG or
// LOADING, and fails the test if it does not within timeout.
func WaitPing(tb testing.TB, addr string, timeout time.Duration) {
	tb.Helper()
	c := newClient(addr)
	defer c.Close()
	var last error
	if !Poll(timeout, func() bool { last = ping(c); return last == nil }) {
		tb.Fatalf("redis at %s did not answer PING within %v: %v", addr, timeout, last)
	}
}

// ping sends one PING; LOADING counts as an answer. It first checks with
// a bare connection that the port accepts, so that go-redis does not log a
// dial failure for every poll of a server that is still starting.
func ping(c *redis.Client) error {
	conn, err := net.DialTimeout("tcp", c.Options().Addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = c.Ping(ctx).Err()
	if redis.IsLoadingError(err) {
		return nil
	}
	return err
}

func newClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:            addr,
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialerRetries:   1,
		DialTimeout:     500 * time.Millisecond,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
}

// Logger returns an hclog logger, at Trace level, that writes to tb.Log.
// Lines logged after the test's cleanups have started running (e.g. by a
// goroutine still reading a process's output) are dropped, never logged
// after the test has ended.
func Logger(tb testing.TB) hclog.Logger {
	w := &tbWriter{tb: tb}
	tb.Cleanup(w.stop)
	return hclog.New(&hclog.LoggerOptions{
		Level:      hclog.Trace,
		Output:     w,
		TimeFormat: "15:04:05.000",
	})
}

type tbWriter struct {
	mu      sync.Mutex
	tb      testing.TB
	stopped bool
}

func (w *tbWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.tb.Log(strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}

func (w *tbWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

var _ io.Writer = (*tbWriter)(nil)
