package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"syscall"
	"time"
)

// portFreeScenario measures how soon a node whose port was taken by
// another process comes back once the port frees: the bench kills the node
// (kill -9), takes its port before the supervisor's restart can, holds it
// for portHold (the restarts fail: "Address already in use"), then
// releases it and measures release → first PONG.
var portFreeScenario = scenario{
	Name:   "portfree",
	Title:  "a node's port held by another process for 5s, then freed → first PONG (the node in backoff or crash loop meanwhile)",
	Nodes:  8,
	Trials: fixed(5),
	Run:    runPortFree,
}

// portHold is how long the bench holds a node's port: long enough for a
// few failed starts, so that the supervisor is backing off.
const portHold = 5 * time.Second

// portFreeLimit bounds the wait for the node after the release.
const portFreeLimit = 60 * time.Second

func runPortFree(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error) {
	r := base
	r.Metric, r.Unit, r.Limit = "port_freed_to_pong", "ms", ms(portFreeLimit)
	r.Target = target{Text: "max ≤ 1.5s", Max: 1500}
	err := b.session(ctx, sys, r.Nodes, func(c *cluster, _ *launched) error {
		if err := pause(ctx, healthyRun); err != nil {
			return err
		}
		for i := 0; len(r.Samples) < trials; i++ {
			if i >= 3*trials {
				return fmt.Errorf("the supervisor restarted the node before the bench could take its port %d times", i-len(r.Samples))
			}
			n := c.nodes[i%len(c.nodes)]
			old, err := currentPID(ctx, n.Addr())
			if err != nil {
				return err
			}
			c.saw(old)
			if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
				return fmt.Errorf("kill node %s: %w", n.Name, err)
			}
			l := takePort(n.Addr(), 2*time.Second)
			if l == nil {
				b.logf("%s %s: node %s restarted before its port could be taken; another node", r.Metric, r.Supervisor, n.Name)
				if err := pause(ctx, healthyRun); err != nil {
					return err
				}
				continue
			}
			if err := pause(ctx, portHold); err != nil {
				l.Close()
				return err
			}
			l.Close()
			t0 := time.Now()
			p, ok, err := waitReplacement(ctx, n.Addr(), old, probeEvery, portFreeLimit)
			if err != nil {
				return err
			}
			if !ok {
				r.Samples = append(r.Samples, math.Inf(1))
				return fmt.Errorf("node %s not back within %s of its port freeing", n.Name, portFreeLimit)
			}
			c.saw(p.PID)
			r.Samples = append(r.Samples, ms(p.At.Sub(t0)))
			b.logf("%s %s: trial %d/%d node %s: %s", r.Metric, r.Supervisor, len(r.Samples), trials, n.Name, r.format(r.Samples[len(r.Samples)-1]))
			if err := pause(ctx, healthyRun); err != nil {
				return err
			}
		}
		return nil
	})
	return []result{r}, err
}

// takePort binds addr as soon as it frees (a killed node's listening
// socket closes when its process ends), trying for up to limit; nil when
// someone else got it first.
func takePort(addr string, limit time.Duration) net.Listener {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		if l, err := net.Listen("tcp", addr); err == nil {
			return l
		}
		if p, err := probe(addr, 50*time.Millisecond); err == nil && p.PID != 0 {
			return nil // a replacement answers: the supervisor was first
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}
