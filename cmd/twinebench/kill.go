package main

import (
	"context"
	"syscall"
	"time"
)

// killScenario kills each node once with SIGKILL after a healthy run and
// measures kill → first PONG from the replacement process.
var killScenario = scenario{
	Name:   "kill",
	Title:  "kill -9 of a node → first PONG from its replacement (each node killed once, after a healthy run)",
	Nodes:  32,
	Trials: func(_ *bench, n int) int { return n },
	Run:    runKill,
}

// killLimit is how long a replacement may take before the trial counts as
// "not replaced".
const killLimit = 10 * time.Second

func runKill(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error) {
	r := base
	r.Metric, r.Unit, r.Limit = "kill9_to_pong", "ms", ms(killLimit)
	r.Target = target{Text: "p50 ≤ 30ms, max ≤ 150ms", P50: 30, Max: 150}
	err := b.session(ctx, sys, r.Nodes, func(c *cluster, _ *launched) error {
		return replaceTrials(ctx, b, c, &r, trials, syscall.SIGKILL, killLimit)
	})
	return []result{r}, err
}
