package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

// The probe speaks enough of the protocol to PING, read INFO, authenticate,
// report error replies as answers, and dial again after a failure.
func TestProbe(t *testing.T) {
	t.Parallel()
	srv := redistest.Server(t)
	p := newProbe(srv.Addr, "")
	defer p.close()
	if err := p.ping(time.Second); err != nil {
		t.Fatalf("PING: %v", err)
	}
	info, err := p.info(time.Second, "server")
	if err != nil || !strings.Contains(info, "process_id:") {
		t.Fatalf("INFO server: %v %.80q", err, info)
	}
	if pid := processID(p, time.Second); pid != srv.PID {
		t.Errorf("processID = %d, want %d", pid, srv.PID)
	}
	// An error reply is an answer, and keeps the connection.
	if _, err := p.call(time.Second, p.command("NOSUCHCOMMAND"), 0, nil); !errors.As(err, new(replyError)) {
		t.Errorf("unknown command: %v, want an error reply", err)
	}
	if err := p.ping(time.Second); err != nil {
		t.Errorf("PING after an error reply: %v", err)
	}
	// A dropped connection is dialled again.
	p.mu.Lock()
	p.conn.Close()
	p.mu.Unlock()
	if err := p.ping(time.Second); err == nil {
		t.Errorf("PING on a closed connection succeeded")
	}
	if err := p.ping(time.Second); err != nil {
		t.Errorf("PING after a redial: %v", err)
	}
	p.close()
	if err := p.ping(time.Second); !errors.Is(err, errProbeClosed) {
		t.Errorf("PING after close: %v, want errProbeClosed", err)
	}
}

func TestProbePassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := testCluster(t, 1, "redis-password-file "+pw)
	s := startSupervisor(t, c)
	waitAllUp(t, s) // the watcher's own probe authenticates
	if r := pingOnce(newProbe(node(t, c, "n0").Addr(), "wrong"), time.Second, nil); !r.alive || r.err == nil {
		t.Errorf("wrong password: %+v, want alive with an error reply", r)
	}
	if r := pingOnce(newProbe(node(t, c, "n0").Addr(), ""), time.Second, nil); !r.alive || !strings.Contains(r.err.Error(), "NOAUTH") {
		t.Errorf("no password: %+v, want alive, NOAUTH", r)
	}
}

// A PING to a stopped process gives up after the peek instead of waiting
// out the timeout; one to a slow but running process waits.
func TestProbeGivesUpOnAStoppedProcess(t *testing.T) {
	t.Parallel()
	srv := redistest.Server(t)
	p := newProbe(srv.Addr, "")
	defer p.close()
	if err := p.ping(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(srv.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(srv.PID, syscall.SIGCONT)
	begin := time.Now()
	err := p.pingUnless(5*time.Second, 50*time.Millisecond, func() bool { return true })
	if !errors.Is(err, errGaveUp) {
		t.Fatalf("pingUnless of a stopped process: %v, want errGaveUp", err)
	}
	if took := time.Since(begin); took > 4*time.Second {
		t.Errorf("gave up after %s: it waited out the timeout", took)
	}
	_ = syscall.Kill(srv.PID, syscall.SIGCONT)
	if err := p.pingUnless(5*time.Second, time.Millisecond, func() bool { return false }); err != nil {
		t.Errorf("pingUnless that must wait: %v", err)
	}
}
