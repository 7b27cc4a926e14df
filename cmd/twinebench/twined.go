package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// twinedSystem runs twined on the cluster's twine.conf.
type twinedSystem struct {
	bin string
}

// Name implements system.
func (twinedSystem) Name() string { return "twined" }

// Prepare implements system: twined writes the nodes' configs itself, as
// part of its start.
func (twinedSystem) Prepare(*cluster) error { return nil }

// Command implements system.
func (t twinedSystem) Command(c *cluster) []string {
	return []string{t.bin, "-config", c.file, "-host", "127.0.0.1"}
}

// Grace implements system: twined stops its nodes cleanly on SIGTERM
// (twinedStopTimeout bounds each node).
func (twinedSystem) Grace() time.Duration { return 20 * time.Second }

// twinedStopTimeout is the bench's `set stop-timeout`: redis-servers with
// an empty dataset stop in milliseconds; the setting only bounds a
// teardown that goes wrong.
const twinedStopTimeout = "stop-timeout 10s"

// buildTwined builds cmd/twined of the module in the current directory
// into dir and returns the binary's path.
func buildTwined(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "twined")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/twine/twine/cmd/twined")
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build twined (or give -twined PATH): %w\n%s", err, out)
	}
	return bin, nil
}
