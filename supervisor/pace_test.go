package supervisor

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

// TestChecksKeepPaceUnderCommands sends a watcher commands far more often
// than its check interval while its node is SIGSTOPped: the checks must
// keep their pace, so the node is still found hung and replaced.
func TestChecksKeepPaceUnderCommands(t *testing.T) {
	c := testCluster(t, 1, "check-interval 200ms", "check-timeout 100ms")
	s := startSupervisor(t, c)
	waitAllUp(t, s)
	pid := nodeStatus(t, s, "n0").PID
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			_ = s.Heartbeat(ctx)
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	redistest.Eventually(t, 15*time.Second, func() bool {
		n := nodeStatus(t, s, "n0")
		return n.State == Up && n.PID != pid
	}, "a SIGSTOPped node was not replaced while commands kept arriving")
}
