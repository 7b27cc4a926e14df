package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// healthyRun is how long every node answers before the first kill: more
// than twined's 10 s healthy run, after which a node that dies is
// restarted at once rather than after a backoff.
const healthyRun = 12 * time.Second

// bench holds what every scenario needs.
type bench struct {
	tmp      string // the bench's temporary directory
	redis    string // absolute path of redis-server
	twined   string // twined binary
	duration time.Duration
	hosts    int       // hosts of the cluster scenario (-hosts)
	keep     bool      // leave the clusters' directories in place
	progress io.Writer // one line per trial
}

// startLimit bounds how long n nodes may take to answer after their
// supervisor starts (monit, on a loaded machine, starts a node in about half a second).
func startLimit(n int) time.Duration { return 60*time.Second + time.Duration(n)*time.Second }

// newCluster creates a cluster of n nodes for one scenario, with twined
// settings ("name value") beyond the bench's own.
func (b *bench) newCluster(n int, settings ...string) (*cluster, error) {
	return newCluster(b.tmp, b.redis, n, append([]string{twinedStopTimeout}, settings...))
}

// start prepares sys for c and launches it.
func (b *bench) start(sys system, c *cluster) (*launched, error) {
	if err := sys.Prepare(c); err != nil {
		return nil, err
	}
	return launch(sys.Command(c), c.path(sys.Name()+".log"))
}

// stop ends sys (SIGTERM with its grace, then SIGKILL), SIGKILLs every
// redis-server of c still alive and waits for the reaper to exit.
func (b *bench) stop(sys system, c *cluster, l *launched) error {
	_, err1 := l.stop(sys.Grace())
	err2 := c.killLeftovers(10*time.Second, l.ReaperPID())
	err3 := l.finish(10 * time.Second)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("stop %s: %w", sys.Name(), err)
	}
	return nil
}

// session runs fn with sys supervising a fresh cluster of n nodes whose
// nodes all answer, and tears everything down afterwards.
func (b *bench) session(ctx context.Context, sys system, n int, fn func(c *cluster, l *launched) error, settings ...string) (err error) {
	c, err := b.newCluster(n, settings...)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := b.remove(c); err == nil && rerr != nil {
			err = rerr
		}
	}()
	l, err := b.start(sys, c)
	if err != nil {
		return err
	}
	defer func() {
		if serr := b.stop(sys, c, l); err == nil {
			err = serr
		}
	}()
	if _, err := waitAll(ctx, c, startLimit(n)); err != nil {
		return fmt.Errorf("start %d nodes under %s: %w", n, sys.Name(), err)
	}
	return fn(c, l)
}

// logf writes one progress line.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.progress, format+"\n", args...)
}

// remove deletes the cluster's directory unless -keep was given.
func (b *bench) remove(c *cluster) error {
	if b.keep {
		return nil
	}
	return c.remove()
}
