package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/twine/twine/procs/redistest"
	"github.com/twine/twine/supervisor"
)

// notifyMsg is one datagram received on a test notify socket.
type notifyMsg struct {
	text string
	pid  int32 // the sender, from SCM_CREDENTIALS, as systemd sees it
}

// notifySocket is a real unix datagram socket standing in for systemd's
// $NOTIFY_SOCKET. It records every datagram with its sender's PID.
type notifySocket struct {
	addr string
	conn *net.UnixConn

	mu      sync.Mutex
	msgs    []notifyMsg
	changed chan struct{} // signalled (buffer 1) after each datagram
	next    int           // the first message expect has not looked at
}

// listenNotify opens a notify socket at a short path (sun_path holds 107
// bytes; t.TempDir may be longer) or, when addr starts with @, in the
// abstract namespace. It is closed when the test ends.
func listenNotify(t *testing.T, addr string) *notifySocket {
	t.Helper()
	if addr == "" {
		dir, err := os.MkdirTemp("", "sd")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "notify")
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) }); err != nil || serr != nil {
		t.Fatalf("SO_PASSCRED: %v %v", err, serr)
	}
	s := &notifySocket{addr: addr, conn: conn, changed: make(chan struct{}, 1)}
	done := make(chan struct{})
	go s.read(done)
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

func (s *notifySocket) read(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		m := notifyMsg{text: string(buf[:n])}
		if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, c := range cmsgs {
				if cred, err := unix.ParseUnixCredentials(&c); err == nil {
					m.pid = cred.Pid
				}
			}
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
}

// expect returns the first message not yet looked at that satisfies ok,
// waiting for it up to timeout. Messages before it are passed over.
func (s *notifySocket) expect(t *testing.T, timeout time.Duration, what string, ok func(string) bool) notifyMsg {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		for s.next < len(s.msgs) {
			m := s.msgs[s.next]
			s.next++
			if ok(m.text) {
				s.mu.Unlock()
				return m
			}
		}
		s.mu.Unlock()
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("no notify message %s within %s; got:\n%s", what, timeout, s.dump())
		}
	}
}

// flush sends a marker datagram of its own and returns every message
// received before it that expect has not looked at: datagrams sent
// before flush was called are all among them.
func (s *notifySocket) flush(t *testing.T) []string {
	t.Helper()
	marker := fmt.Sprintf("TEST_MARKER=%d", time.Now().UnixNano())
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: s.addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(marker)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	from := s.next
	s.mu.Unlock()
	s.expect(t, 10*time.Second, marker, func(m string) bool { return m == marker })
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.msgs[from : s.next-1] {
		out = append(out, m.text)
	}
	return out
}

func (s *notifySocket) all() []notifyMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]notifyMsg(nil), s.msgs...)
}

func (s *notifySocket) dump() string {
	var b strings.Builder
	for _, m := range s.all() {
		fmt.Fprintf(&b, "  pid %d: %q\n", m.pid, m.text)
	}
	return b.String()
}

func isStatus(prefix string) func(string) bool {
	return func(m string) bool {
		for _, f := range strings.Split(m, "\n") {
			if strings.HasPrefix(f, "STATUS="+prefix) {
				return true
			}
		}
		return false
	}
}

func is(text string) func(string) bool { return func(m string) bool { return m == text } }

// lockedBuffer collects the daemon's log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSystemdNotify runs the twined daemon in-process under a fake
// systemd (a real notify socket, a 1s watchdog) with a master and its
// replica, and follows what twined tells systemd through startup, a hung
// replica, a hung master and the shutdown.
func TestSystemdNotify(t *testing.T) {
	sock := listenNotify(t, "")
	dir := t.TempDir()
	conf := fmt.Sprintf(`set redis-server %s
set httpd 127.0.0.1:%d
set check-interval 100ms
set check-timeout 80ms
set backoff-min 2s
set backoff-max 4s
set stop-timeout 10s
m=data 0 127.0.0.1 %d 0
r=data 0 127.0.0.1 %d 0
`, redistest.Binary(t), redistest.FreePort(t), redistest.FreePort(t), redistest.FreePort(t))
	path := filepath.Join(dir, "twine.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	pidfile := func(name string) string { return filepath.Join(dir, "partitions/127.0.0.1", name, "redis.pid") }
	var pidsMu sync.Mutex
	pids := map[int]bool{}
	nodePID := func(name string) int {
		pid := readPID(t, pidfile(name))
		pidsMu.Lock()
		pids[pid] = true
		pidsMu.Unlock()
		return pid
	}

	t.Setenv("NOTIFY_SOCKET", sock.addr)
	t.Setenv("WATCHDOG_USEC", "1000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	ctx, cancel := context.WithCancel(context.Background())
	var logs lockedBuffer
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = run(ctx, []string{"-config", path, "-log-level", "debug"}, io.Discard, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("twined did not return 30s after its context ended")
		}
		pidsMu.Lock()
		defer pidsMu.Unlock()
		for pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGCONT)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			t.Logf("twined output:\n%s", logs.String())
		}
	})

	const wait = 30 * time.Second
	sock.expect(t, wait, "STATUS=STARTING", isStatus("STARTING "))
	ready := sock.expect(t, wait, "READY=1", func(m string) bool { return strings.HasPrefix(m, "READY=1") })
	if ready.text != "READY=1\nSTATUS=OK 2/2 up" {
		t.Errorf("readiness message %q, want READY=1 with STATUS=OK 2/2 up", ready.text)
	}

	for _, k := range notifyEnv {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s=%s still in twined's environment", k, v)
		}
	}
	for _, name := range []string{"m", "r"} {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", nodePID(name)))
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			for _, k := range notifyEnv {
				if bytes.HasPrefix(kv, []byte(k+"=")) {
					t.Errorf("node %s inherited %s", name, kv)
				}
			}
		}
	}

	for range 3 {
		sock.expect(t, wait, "WATCHDOG=1", is("WATCHDOG=1"))
	}

	// A hung replica: DEGRADED until it is killed and, after its backoff,
	// answers again.
	if err := syscall.Kill(nodePID("r"), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	sock.expect(t, wait, "STATUS=DEGRADED for r", isStatus("DEGRADED 1/2 up: r "))
	sock.expect(t, wait, "STATUS=OK after r recovered", isStatus("OK 2/2 up"))
	nodePID("r")

	// A hung master: its partition has no master, HALT. No Sentinel
	// watches it and its RDB may be older than its replica, so it is
	// held down until the operator starts it.
	if err := syscall.Kill(nodePID("m"), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	sock.expect(t, wait, "STATUS=HALT for m", isStatus("HALT 1/2 up (partition 0 without a master): m "))
	if code, out, errOut := runCLI(t, "-start", "m", "-config", path); code != 0 {
		t.Fatalf("twined -start m: code %d\n%s%s", code, out, errOut)
	}
	sock.expect(t, wait, "STATUS=OK after m was started", isStatus("OK 2/2 up"))
	nodePID("m")
	sock.expect(t, wait, "WATCHDOG=1 after the recoveries", is("WATCHDOG=1"))

	cancel()
	sock.expect(t, wait, "STOPPING=1", is("STOPPING=1\nSTATUS=STOPPING 2 nodes"))
	select {
	case <-done:
		if runErr != nil {
			t.Errorf("twined returned %v after its context ended, want nil", runErr)
		}
	case <-time.After(wait):
		t.Fatal("twined did not stop")
	}
	if after := sock.flush(t); len(after) > 0 {
		t.Errorf("messages after STOPPING=1: %q", after)
	}
	for _, m := range sock.all() {
		if int(m.pid) != os.Getpid() {
			t.Errorf("message %q from pid %d, not twined's (%d): NotifyAccess=main drops it", m.text, m.pid, os.Getpid())
		}
	}
}

// TestNotifierMessages sends every message kind over a real socket.
func TestNotifierMessages(t *testing.T) {
	sock := listenNotify(t, "")
	n := &notifier{socket: sock.addr}
	before := monotonicUsec()
	for _, err := range []error{n.Ready(), n.Status("OK 2/2 up\nsecond line"), n.Reloading(), n.Reloaded(), n.Watchdog(), n.Stopping()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	after := monotonicUsec()
	sock.expect(t, 10*time.Second, "READY=1", is("READY=1"))
	sock.expect(t, 10*time.Second, "STATUS", is("STATUS=OK 2/2 up second line"))
	reload := sock.expect(t, 10*time.Second, "RELOADING=1", func(string) bool { return true })
	usec, ok := strings.CutPrefix(reload.text, "RELOADING=1\nMONOTONIC_USEC=")
	if !ok {
		t.Fatalf("reload message %q, want RELOADING=1 then MONOTONIC_USEC=", reload.text)
	}
	if u, err := strconv.ParseInt(usec, 10, 64); err != nil || u < before || u > after {
		t.Errorf("MONOTONIC_USEC=%s, want a CLOCK_MONOTONIC reading in [%d, %d]", usec, before, after)
	}
	sock.expect(t, 10*time.Second, "READY=1 after the reload", is("READY=1"))
	sock.expect(t, 10*time.Second, "WATCHDOG=1", is("WATCHDOG=1"))
	sock.expect(t, 10*time.Second, "STOPPING=1", is("STOPPING=1"))
	if pid := sock.all()[0].pid; int(pid) != os.Getpid() {
		t.Errorf("sender pid %d, want %d", pid, os.Getpid())
	}
}

func TestNotifierAbstractSocket(t *testing.T) {
	sock := listenNotify(t, fmt.Sprintf("@twine-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	n := &notifier{socket: sock.addr}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	sock.expect(t, 10*time.Second, "READY=1", is("READY=1"))
}

func TestNotifierOutsideSystemd(t *testing.T) {
	var n *notifier
	if n.enabled() || n.Ready() != nil || n.Watchdog() != nil {
		t.Error("a nil notifier must be disabled and send nothing")
	}
	// A socket nobody listens on: sends fail, and say so.
	n = &notifier{socket: filepath.Join(t.TempDir(), "absent")}
	if err := n.Ready(); err == nil {
		t.Error("Ready to an absent socket: no error")
	}
}

func TestNotifierFromEnv(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		name                   string
		socket, usec, wpid     string
		wantSocket             string
		wantWatchdog           time.Duration
		wantErr, wantSocketErr bool
	}{
		{name: "no systemd"},
		{name: "notify only", socket: "/run/systemd/notify", wantSocket: "/run/systemd/notify"},
		{name: "abstract", socket: "@/org/freedesktop/systemd1/notify", wantSocket: "@/org/freedesktop/systemd1/notify"},
		{name: "watchdog for us", socket: "/s", usec: "30000000", wpid: pid, wantSocket: "/s", wantWatchdog: 30 * time.Second},
		{name: "watchdog without pid", socket: "/s", usec: "200000", wantSocket: "/s", wantWatchdog: 200 * time.Millisecond},
		{name: "watchdog for another process", socket: "/s", usec: "200000", wpid: "1", wantSocket: "/s"},
		{name: "watchdog without socket", usec: "200000", wpid: pid},
		{name: "bad usec", socket: "/s", usec: "30s", wantSocket: "/s", wantErr: true},
		{name: "zero usec", socket: "/s", usec: "0", wantSocket: "/s", wantErr: true},
		{name: "bad pid", socket: "/s", usec: "200000", wpid: "me", wantSocket: "/s", wantErr: true},
		{name: "vsock", socket: "vsock:2:1234", wantErr: true, wantSocketErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range map[string]string{"NOTIFY_SOCKET": tc.socket, "WATCHDOG_USEC": tc.usec, "WATCHDOG_PID": tc.wpid} {
				t.Setenv(k, v)
				if v == "" {
					os.Unsetenv(k)
				}
			}
			n, err := notifierFromEnv()
			if (err != nil) != tc.wantErr || errors.Is(err, errNotifySocket) != tc.wantSocketErr {
				t.Errorf("error %v, want error %v (unsupported socket %v)", err, tc.wantErr, tc.wantSocketErr)
			}
			if n.socket != tc.wantSocket || n.watchdog != tc.wantWatchdog {
				t.Errorf("socket %q watchdog %s, want %q %s", n.socket, n.watchdog, tc.wantSocket, tc.wantWatchdog)
			}
			for _, k := range notifyEnv {
				if _, ok := os.LookupEnv(k); ok {
					t.Errorf("%s left in the environment", k)
				}
			}
		})
	}
}

// TestWatchdogNeedsHeartbeat checks that WATCHDOG=1 is sent only after a
// heartbeat that succeeded within a quarter period.
func TestWatchdogNeedsHeartbeat(t *testing.T) {
	const period = 100 * time.Millisecond
	start := func(t *testing.T, heartbeat func(context.Context) error) (*notifySocket, func()) {
		sock := listenNotify(t, "")
		s := &systemd{n: &notifier{socket: sock.addr, watchdog: period}, log: hclog.NewNullLogger()}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.watchdogLoop(ctx, heartbeat) }()
		stop := func() { cancel(); <-done }
		t.Cleanup(stop)
		return sock, stop
	}

	t.Run("answering", func(t *testing.T) {
		var bad atomic.Value
		sock, stop := start(t, func(ctx context.Context) error {
			if d, ok := ctx.Deadline(); !ok || time.Until(d) > period/4 {
				bad.Store(fmt.Sprintf("heartbeat deadline %v (set %v), want at most %s away", d, ok, period/4))
			}
			return nil
		})
		for range 3 {
			sock.expect(t, 10*time.Second, "WATCHDOG=1", is("WATCHDOG=1"))
		}
		stop()
		if msg := bad.Load(); msg != nil {
			t.Error(msg)
		}
	})

	t.Run("wedged", func(t *testing.T) {
		var calls atomic.Int32
		sock, stop := start(t, func(ctx context.Context) error {
			calls.Add(1)
			<-ctx.Done() // a watcher that never answers
			return ctx.Err()
		})
		redistest.Eventually(t, 10*time.Second, func() bool { return calls.Load() >= 3 }, "heartbeat called %d times, want 3", calls.Load())
		stop()
		if got := sock.flush(t); len(got) > 0 {
			t.Errorf("sent %q while the heartbeat failed", got)
		}
	})
}

func TestStatusLine(t *testing.T) {
	node := func(name string, part int, role string, st supervisor.State) supervisor.NodeStatus {
		return supervisor.NodeStatus{Name: name, Partition: part, Role: role, State: st}
	}
	many := func(st supervisor.State) []supervisor.NodeStatus {
		var ns []supervisor.NodeStatus
		for i := range 8 {
			ns = append(ns, node(fmt.Sprintf("a%d", i), i, "master", st))
		}
		return ns
	}
	for _, tc := range []struct {
		name  string
		snap  supervisor.Snapshot
		ready bool
		want  string
	}{
		{
			name: "starting", ready: false,
			snap: supervisor.Snapshot{Status: supervisor.Halt, Up: 1, Nodes: []supervisor.NodeStatus{
				node("a", 0, "master", supervisor.Up), node("b", 1, "master", supervisor.Starting)}},
			want: "STARTING 1/2 up",
		},
		{
			name: "ok", ready: true,
			snap: supervisor.Snapshot{Status: supervisor.OK, Up: 2, Nodes: []supervisor.NodeStatus{
				node("a", 0, "master", supervisor.Up), node("s", -1, "status", supervisor.Loading)}},
			want: "OK 2/2 up",
		},
		{
			name: "degraded", ready: true,
			snap: supervisor.Snapshot{Status: supervisor.Degraded, Up: 2, Nodes: []supervisor.NodeStatus{
				node("a", 0, "master", supervisor.Up), node("n5", 0, "replica", supervisor.Hung),
				node("s", -1, "status", supervisor.Up)}},
			want: "DEGRADED 2/3 up: n5 hung",
		},
		{
			name: "halt", ready: true,
			snap: supervisor.Snapshot{Status: supervisor.Halt, Up: 2, Nodes: []supervisor.NodeStatus{
				node("a3", 3, "master", supervisor.Backoff), node("b3", 3, "replica", supervisor.Up),
				node("a7", 7, "master", supervisor.Failed), node("a8", 8, "master", supervisor.Up),
			}},
			want: "HALT 2/4 up (partitions 3, 7 without a master): a3 backoff, a7 failed",
		},
		{
			name: "halt one partition", ready: true,
			snap: supervisor.Snapshot{Status: supervisor.Halt, Up: 0, Nodes: []supervisor.NodeStatus{
				node("a0", 0, "master", supervisor.Stopped)}},
			want: "HALT 0/1 up (partition 0 without a master): a0 stopped",
		},
		{
			name: "many down", ready: true,
			snap: supervisor.Snapshot{Status: supervisor.Halt, Up: 0, Nodes: many(supervisor.Down)},
			want: "HALT 0/8 up (partitions 0-7 without a master): a0 down, a1 down, a2 down, a3 down, a4 down, and 3 more",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := statusLine(tc.snap, tc.ready); got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
