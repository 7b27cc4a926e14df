package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/procs/redistest"
)

// busyCluster is one node that answers BUSY 100ms into a script, and
// twined's busy-timeout of 500ms.
func busyCluster(t *testing.T) (*Supervisor, *redis.Client) {
	t.Helper()
	inc := filepath.Join(t.TempDir(), "busy.conf")
	if err := os.WriteFile(inc, []byte("busy-reply-threshold 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := testCluster(t, 1, "busy-timeout 500ms", "redis-include "+inc)
	s := startSupervisor(t, c)
	waitAllUp(t, s)
	cl := redis.NewClient(&redis.Options{Addr: node(t, c, "n0").Addr(), Protocol: 2, DisableIdentity: true, MaxRetries: -1, ReadTimeout: time.Minute})
	t.Cleanup(func() { cl.Close() })
	return s, cl
}

// A script that runs on and on makes the node answer BUSY: it is shown
// busy (not up), and after busy-timeout twined has Redis kill the script;
// the node is up again, the same process.
func TestBusyScriptKilled(t *testing.T) {
	t.Parallel()
	s, cl := busyCluster(t)
	pid := nodeStatus(t, s, "n0").PID
	done := make(chan error, 1)
	go func() { done <- cl.Eval(context.Background(), "while true do end", nil).Err() }()
	busy := waitState(t, s, "n0", Busy, 10*time.Second)
	if !strings.Contains(busy.Error, "BUSY") {
		t.Errorf("busy state without the BUSY reply: %s", describe(&busy))
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("the looping script ended with %v, want killed by SCRIPT KILL", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the busy script was never killed")
	}
	up := waitState(t, s, "n0", Up, 10*time.Second)
	if up.PID != pid {
		t.Errorf("the node was restarted (pid %d, was %d): only the script should end", up.PID, pid)
	}
}

// A script that has written cannot be killed without losing its writes:
// Redis refuses SCRIPT KILL, twined leaves the node running and raises
// one event for the operator.
func TestBusyScriptThatWroteIsLeftAlone(t *testing.T) {
	t.Parallel()
	s, cl := busyCluster(t)
	pid := nodeStatus(t, s, "n0").PID
	sub := s.Subscribe(64)
	defer sub.Cancel()
	go func() {
		_ = cl.Eval(context.Background(), "redis.call('SET', 'x', '1') while true do end", nil).Err()
	}()
	var ev Event
	redistest.Eventually(t, 20*time.Second, func() bool {
		for {
			select {
			case e := <-sub.C:
				if e.Kind == ScriptUnkillable {
					ev = e
					return true
				}
			default:
				return false
			}
		}
	}, "no script-unkillable event")
	if !strings.Contains(ev.Err, "UNKILLABLE") || !strings.Contains(ev.Reason, "SHUTDOWN NOSAVE") {
		t.Errorf("event %+v", ev)
	}
	if st := nodeStatus(t, s, "n0"); st.State != Busy || st.PID != pid {
		t.Errorf("the node is %s (pid %d, was %d), want left busy and running", st.State, st.PID, pid)
	}
	// End it the only way there is, so the test can stop.
	admin := redis.NewClient(&redis.Options{Addr: cl.Options().Addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer admin.Close()
	_ = admin.Do(context.Background(), "SHUTDOWN", "NOSAVE").Err()
}
