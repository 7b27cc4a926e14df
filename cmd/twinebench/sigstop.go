package main

import (
	"context"
	"syscall"
	"time"
)

// sigstopScenario stops a node with SIGSTOP (it hangs with its port open)
// and measures the stop → first PONG from a replacement process, with
// twined's default check settings (1 s interval, 500 ms timeout).
var sigstopScenario = scenario{
	Name:   "sigstop",
	Title:  "SIGSTOP of a node (hung) → first PONG from a replacement, default check settings",
	Nodes:  32,
	Trials: fixed(5),
	Run:    runSigstop,
}

// sigstopLimit is how long a replacement may take before the trial counts
// as "not replaced".
const sigstopLimit = 15 * time.Second

func runSigstop(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error) {
	r := base
	r.Metric, r.Unit, r.Limit = "sigstop_to_pong", "ms", ms(sigstopLimit)
	r.Target = target{Text: "p50 ≤ 1.2s, max ≤ 1.8s", P50: 1200, Max: 1800}
	err := b.session(ctx, sys, r.Nodes, func(c *cluster, _ *launched) error {
		return replaceTrials(ctx, b, c, &r, trials, syscall.SIGSTOP, sigstopLimit)
	})
	return []result{r}, err
}
