package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStopKeepsData checks that a key SET just before the supervisor stops
// (SIGTERM: redis saves or flushes its AOF) is there after a new supervisor
// starts the node again, in RDB and in AOF mode.
func TestStopKeepsData(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		extra []string
		file  string // what holds the data on disk
		not   string // what must not exist in that mode
	}{
		{"rdb", nil, "dump.rdb", "appendonlydir"},
		{"aof", []string{"appendonly yes"}, "appendonlydir", "dump.rdb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testCluster(t, 1, tc.extra...)
			n := node(t, c, "n0")
			ctx := context.Background()

			s := startSupervisor(t, c)
			waitAllUp(t, s)
			pid := nodeStatus(t, s, "n0").PID
			if err := client(t, n.Addr()).Set(ctx, "twine:key", "kept", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if alive(pid) {
				t.Fatalf("node pid %d alive after Close", pid)
			}
			// It exited on its own after SIGTERM: not killed.
			if st := nodeStatus(t, s, "n0"); st.State != Stopped || !strings.Contains(st.Reason, "exit status 0") {
				t.Errorf("after Close: %s, want stopped with exit status 0", describe(&st))
			}
			dir := c.Files(n).Dir
			if _, err := os.Stat(filepath.Join(dir, tc.file)); err != nil {
				t.Errorf("%s mode: %v", tc.name, err)
			}
			if _, err := os.Stat(filepath.Join(dir, tc.not)); err == nil {
				t.Errorf("%s mode: %s exists", tc.name, tc.not)
			}

			s2 := startSupervisor(t, c)
			waitAllUp(t, s2)
			if st := nodeStatus(t, s2, "n0"); st.Adopted {
				t.Errorf("a stopped node was adopted: %s", describe(&st))
			}
			got, err := client(t, n.Addr()).Get(ctx, "twine:key").Result()
			if err != nil || got != "kept" {
				t.Errorf("GET after restart = %q, %v; want \"kept\"", got, err)
			}
		})
	}
}
