package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Probing pace and patience.
const (
	// probeEvery is the pace of the probes that wait for a replacement.
	probeEvery = time.Millisecond
	// probeTimeout bounds one probe. A probe that connects while a new
	// redis-server has bound its port but not yet entered its event loop
	// waits for the PONG instead of missing it.
	probeTimeout = 250 * time.Millisecond
	// sweepPause separates two sweeps over the nodes not yet answering.
	sweepPause = 2 * time.Millisecond
)

// waitAll probes every node of c until each has answered PONG, and
// returns the time the last one did. It fails after limit, naming the
// nodes still silent.
func waitAll(ctx context.Context, c *cluster, limit time.Duration) (time.Time, error) {
	pending := slices.Clone(c.nodes)
	deadline := time.Now().Add(limit)
	var last time.Time
	for {
		next := pending[:0]
		for _, n := range pending {
			p, err := probe(n.Addr(), probeTimeout)
			if err != nil {
				next = append(next, n)
				continue
			}
			c.saw(p.PID)
			if p.At.After(last) {
				last = p.At
			}
		}
		pending = next
		if len(pending) == 0 {
			return last, nil
		}
		if time.Now().After(deadline) {
			var names []string
			for _, n := range pending[:min(len(pending), 8)] {
				names = append(names, n.Name)
			}
			return last, fmt.Errorf("%d of %d nodes not answering after %s: %s", len(pending), len(c.nodes), limit, strings.Join(names, " "))
		}
		if err := pause(ctx, sweepPause); err != nil {
			return last, err
		}
	}
}

// waitReplacement probes addr every `every` until a process other than
// old answers PONG, and returns that answer; ok is false when none did
// within limit.
func waitReplacement(ctx context.Context, addr string, old int, every, limit time.Duration) (p pong, ok bool, err error) {
	deadline := time.Now().Add(limit)
	for {
		t := time.Now()
		p, perr := probe(addr, probeTimeout)
		if perr == nil && p.PID != old {
			return p, true, nil
		}
		if time.Now().After(deadline) {
			return pong{}, false, nil
		}
		if err := pause(ctx, time.Until(t.Add(every))); err != nil {
			return pong{}, false, err
		}
	}
}

// currentPID asks the node at addr for its process_id, retrying for a
// few seconds.
func currentPID(ctx context.Context, addr string) (int, error) {
	var last error
	for range 20 {
		p, err := probe(addr, time.Second)
		if err == nil {
			return p.PID, nil
		}
		last = err
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("ask %s for its pid: %w", addr, last)
}

// pause waits d, or less when ctx ends (then it returns ctx's error).
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// jitter returns a random duration in [lo, hi): the pause between two
// trials, so that the trials fall at random phases of a supervisor's check
// cycle.
func jitter(lo, hi time.Duration) time.Duration {
	return lo + rand.N(hi-lo)
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
