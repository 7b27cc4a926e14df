package supervisor

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

func TestKill9Restarts(t *testing.T) {
	c := testCluster(t, 2)
	s := startSupervisor(t, c)
	waitAllUp(t, s)
	before := nodeStatus(t, s, "n0")
	neighbour := nodeStatus(t, s, "n1")
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, 10*time.Second, func() bool {
		n := nodeStatus(t, s, "n0")
		return n.State == Up && n.PID != before.PID
	}, "n0 was not replaced")
	after := nodeStatus(t, s, "n0")
	if after.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", after.Restarts)
	}
	n, _ := c.Node("n0")
	if err := client(t, n.Addr()).Ping(context.Background()).Err(); err != nil {
		t.Errorf("replacement does not answer: %v", err)
	}
	if got := nodeStatus(t, s, "n1"); got.PID != neighbour.PID || got.Restarts != 0 {
		t.Errorf("neighbour disturbed: pid %d→%d restarts %d", neighbour.PID, got.PID, got.Restarts)
	}
}
