package alert

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/alert/smtptest"
	"github.com/twine/twine/config"
	"github.com/twine/twine/procs/redistest"
	"github.com/twine/twine/supervisor"
)

// End to end with a real supervisor and real redis-servers: a node whose
// port is taken cannot start and is mailed at once (its partition has no
// master: HALT) with the log line that says why; while the mail server
// hangs, a killed node is restarted as usual and no event is dropped; the
// mail arrives once the server answers; a node stopped by the operator is
// never mentioned; when the port is freed the node comes up and one
// recovery mail follows.
func TestWithSupervisor(t *testing.T) {
	srv := smtptest.Start(t)
	srv.SetMode(smtptest.Hang)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	conf := fmt.Sprintf(`set redis-server %s
set httpd 127.0.0.1:%d
set check-interval 100ms
set check-timeout 50ms
set backoff-min 20ms
set backoff-max 500ms
set stop-timeout 5s
set mailserver %s
set mail-tls off
set alert ops@example.com
set alert-after 1h
set alert-group 1s
n0=data 0 127.0.0.1 %d 0
r0=data 0 127.0.0.1 %d 0
n1=data 1 127.0.0.1 %d 0
n2=data 2 127.0.0.1 %d 0
`, redistest.Binary(t), redistest.FreePort(t), srv.Addr,
		redistest.FreePort(t), redistest.FreePort(t), heldPort, redistest.FreePort(t))
	path := filepath.Join(dir, "twine.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	log := redistest.Logger(t)
	sup, err := supervisor.New(supervisor.Options{Cluster: c, Host: "127.0.0.1", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeAndReap(t, sup) })
	sub := sup.Subscribe(64)
	a, err := New(Options{
		Settings: c.Settings(), Host: "127.0.0.1", ConfigFile: c.File(), Logger: log,
		RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		SendTimeout: 2 * time.Second, CloseTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); a.Run(ctx, sub.C, sup.Snapshot) }()
	t.Cleanup(func() { cancel(); <-runDone; a.Close() })
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}

	waitNode(t, sup, "n1", supervisor.Failed)
	for _, n := range []string{"n0", "r0", "n2"} {
		waitNode(t, sup, n, supervisor.Up)
	}
	if !poll(waitTimeout, func() bool { return a.composed.Load() == 1 }) {
		t.Fatalf("crash loop not alerted (%d mails composed)", a.composed.Load())
	}

	// The mail server hangs; supervision goes on as ever.
	if !poll(waitTimeout, func() bool { return srv.Connections() >= 1 }) {
		t.Fatal("the alerter never tried the mail server")
	}
	old := status(t, sup, "r0").PID
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !poll(waitTimeout, func() bool { s := status(t, sup, "r0"); return s.State == supervisor.Up && s.PID != old }) {
		t.Fatalf("killed node r0 not restarted while the mail server hangs: %+v", status(t, sup, "r0"))
	}
	if len(srv.Received()) != 0 {
		t.Fatal("the mail server was meant to hang")
	}

	srv.SetMode(smtptest.Accept)
	got := srv.WaitMails(1, waitTimeout)[0]
	if want := "[twine] HALT on 127.0.0.1: 1 node down (partition 1)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	// Composed when partition 1 was found without a master: the node may
	// be in backoff or already in its crash loop then.
	mustContain(t, "HALT mail", got.Body, "* n1: partition 1 master", "127.0.0.1 is HALT",
		"bind: Address already in use", "twined -status -config "+c.File())

	if err := sup.Stop(context.Background(), "n2"); err != nil {
		t.Fatal(err)
	}
	waitNode(t, sup, "n2", supervisor.Stopped)
	held.Close()
	waitNode(t, sup, "n1", supervisor.Up)
	got = srv.WaitMails(2, waitTimeout)[1]
	if want := "[twine] OK on 127.0.0.1: 1 node up again (partition 1)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}

	// Nothing more: wait until the alerter has run past another group
	// window, then count.
	stoppedAt := time.Now()
	if !poll(waitTimeout, func() bool { return time.Since(stoppedAt) > 2*time.Second }) {
		t.Fatal("clock stuck")
	}
	if !poll(waitTimeout, func() bool { return sub.Dropped() == 0 && a.evaluations.Load() > 0 }) {
		t.Fatal("events dropped")
	}
	if n := a.composed.Load(); n != 2 {
		t.Errorf("%d mails composed, want 2: %q", n, smtptest.Subjects(srv.Received()))
	}
	for _, m := range srv.Received() {
		mustNotContain(t, "mail", m.Body, "* n2:", "* r0:")
	}
	if d := sub.Dropped(); d != 0 {
		t.Errorf("%d events dropped for the alerter", d)
	}
}

func status(t *testing.T, s *supervisor.Supervisor, name string) supervisor.NodeStatus {
	t.Helper()
	for _, n := range s.Snapshot().Nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s", name)
	return supervisor.NodeStatus{}
}

func waitNode(t *testing.T, s *supervisor.Supervisor, name string, want supervisor.State) {
	t.Helper()
	if !poll(waitTimeout, func() bool { return status(t, s, name).State == want }) {
		t.Fatalf("node %s never %s: %+v", name, want, status(t, s, name))
	}
}

// closeAndReap closes s and SIGKILLs, by PID, any node process that
// outlived it.
func closeAndReap(t *testing.T, s *supervisor.Supervisor) {
	pids := map[int]bool{}
	for _, n := range s.Snapshot().Nodes {
		if n.PID > 0 {
			pids[n.PID] = true
		}
	}
	_ = s.Close()
	for pid := range pids {
		if syscall.Kill(pid, 0) == nil && !strings.Contains(procState(pid), "Z") {
			t.Logf("killing leftover node process %d", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return ""
}
