package main

import (
	"context"
	"math"
	"time"
)

// coldstartScenario measures a supervisor's start → every node answers
// PING, from empty node directories; the supervisor is stopped and the
// data removed between trials.
var coldstartScenario = scenario{
	Name:   "coldstart",
	Title:  "cold start: supervisor started → every node answers PING",
	Nodes:  64,
	Trials: fixed(5),
	Run:    runColdstart,
}

func runColdstart(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error) {
	r := base
	limit := startLimit(r.Nodes)
	r.Metric, r.Unit, r.Limit = "start_to_all_pong", "ms", ms(limit)
	r.Target = target{Text: "max ≤ 1.5s", Max: 1500}
	c, err := b.newCluster(r.Nodes)
	if err != nil {
		return []result{r}, err
	}
	defer c.remove()
	for i := range trials {
		if err := c.removeData(); err != nil {
			return []result{r}, err
		}
		if err := sys.Prepare(c); err != nil {
			return []result{r}, err
		}
		if err := pause(ctx, time.Second); err != nil {
			return []result{r}, err
		}
		t0 := time.Now()
		l, err := launch(sys.Command(c), c.path(sys.Name()+".log"))
		if err != nil {
			return []result{r}, err
		}
		last, werr := waitAll(ctx, c, limit)
		serr := b.stop(sys, c, l)
		if werr != nil {
			r.Samples = append(r.Samples, math.Inf(1))
			return []result{r}, werr
		}
		r.Samples = append(r.Samples, ms(last.Sub(t0)))
		b.logf("%s %s: trial %d/%d: %s", r.Metric, r.Supervisor, i+1, trials, r.format(r.Samples[i]))
		if serr != nil {
			return []result{r}, serr
		}
	}
	return []result{r}, nil
}
