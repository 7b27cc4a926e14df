package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"syscall"
	"time"
)

// replaceTrials sends sig to the nodes of c in turn, each after it has
// answered for healthyRun, and appends to r.Samples the time from the
// signal to the first PONG from another process (+Inf when none came
// within limit). A node not replaced is SIGKILLed and, when its supervisor
// does not bring it back within a minute, the trials end with an error.
func replaceTrials(ctx context.Context, b *bench, c *cluster, r *result, trials int, sig syscall.Signal, limit time.Duration) error {
	up := time.Now()
	upSince := make(map[string]time.Time, len(c.nodes))
	for _, n := range c.nodes {
		upSince[n.Name] = up
	}
	for i := range trials {
		n := c.nodes[i%len(c.nodes)]
		wait := time.Until(upSince[n.Name].Add(healthyRun))
		if err := pause(ctx, max(wait, 0)+jitter(200*time.Millisecond, 1200*time.Millisecond)); err != nil {
			return err
		}
		old, err := currentPID(ctx, n.Addr())
		if err != nil {
			return err
		}
		c.saw(old)
		if !c.ownsRedis(old) {
			return fmt.Errorf("node %s: pid %d is not its redis-server", n.Name, old)
		}
		t0 := time.Now()
		if err := syscall.Kill(old, sig); err != nil {
			return fmt.Errorf("signal node %s pid %d: %w", n.Name, old, err)
		}
		p, ok, err := waitReplacement(ctx, n.Addr(), old, probeEvery, limit)
		if err != nil {
			return err
		}
		if ok {
			if c.ownsRedis(old) { // a stopped process its supervisor left
				_ = syscall.Kill(old, syscall.SIGKILL)
			}
			c.saw(p.PID)
			upSince[n.Name] = p.At
			r.Samples = append(r.Samples, ms(p.At.Sub(t0)))
			b.logf("%s %s: trial %d/%d node %s: %s (pid %d signalled at %s, pid %d answered)", r.Metric, r.Supervisor, i+1, trials, n.Name,
				r.format(r.Samples[i]), old, t0.UTC().Format("15:04:05.000"), p.PID)
			continue
		}
		r.Samples = append(r.Samples, math.Inf(1))
		b.logf("%s %s: trial %d/%d node %s: not replaced within %s", r.Metric, r.Supervisor, i+1, trials, n.Name, limit)
		if c.ownsRedis(old) {
			_ = syscall.Kill(old, syscall.SIGKILL)
		}
		p, ok, err = waitReplacement(ctx, n.Addr(), old, 10*time.Millisecond, time.Minute)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("node " + n.Name + " not back a minute after its old process was killed")
		}
		c.saw(p.PID)
		upSince[n.Name] = p.At
	}
	return nil
}
