package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
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
	// sweepPause separates two looks at the pidfiles of the nodes not yet
	// answering; blindEvery is how often such a node is probed while its
	// pidfile is missing.
	sweepPause = 5 * time.Millisecond
	blindEvery = 100 * time.Millisecond
	// startProbeTimeout bounds a probe of a starting node.
	startProbeTimeout = time.Second
)

// waitAll waits until every node of c has answered PONG and returns the
// time the last one did. It fails after limit, naming the nodes still
// silent.
//
// Probing a port nobody listens on costs about 40 µs of CPU, so probing
// every node every few milliseconds would take a good part of a core from
// the very start being measured. redis-server writes its pidfile just
// after it binds its port, so waitAll looks at the pidfiles every
// sweepPause (a stat costs a few µs) and probes a node once its pidfile is
// there: the probe's connection waits in the listen backlog and reads the
// PONG as soon as the server serves. A node whose pidfile is missing is
// still probed every blindEvery.
func waitAll(ctx context.Context, c *cluster, limit time.Duration) (time.Time, error) {
	type answer struct {
		i   int
		p   pong
		err error
	}
	n := len(c.nodes)
	answers := make(chan answer, n) // every probe can deliver without blocking
	probing := make([]bool, n)
	answered := make([]bool, n)
	blind := make([]time.Time, n)
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(sweepPause)
	defer tick.Stop()
	var last time.Time
	for left := n; left > 0; {
		now := time.Now()
		for i, node := range c.nodes {
			if answered[i] || probing[i] {
				continue
			}
			if _, err := os.Stat(c.conf.Files(node).Pidfile); err != nil {
				if now.Sub(blind[i]) < blindEvery {
					continue
				}
				blind[i] = now
			}
			probing[i] = true
			go func(i int, addr string) {
				p, err := probe(addr, startProbeTimeout)
				answers <- answer{i, p, err}
			}(i, node.Addr())
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case a := <-answers:
			probing[a.i] = false
			if a.err == nil {
				answered[a.i] = true
				left--
				c.saw(a.p.PID)
				if a.p.At.After(last) {
					last = a.p.At
				}
			}
		case <-tick.C:
		}
		if left > 0 && time.Now().After(deadline) {
			var names []string
			for i, node := range c.nodes {
				if !answered[i] && len(names) < 8 {
					names = append(names, node.Name)
				}
			}
			return last, fmt.Errorf("%d of %d nodes not answering after %s: %s", left, n, limit, strings.Join(names, " "))
		}
	}
	return last, nil
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
