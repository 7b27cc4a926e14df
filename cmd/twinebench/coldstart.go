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
	cpu := base
	cpu.Metric, cpu.Unit = "start_cpu_ms", "ms"
	cpu.Target = target{Text: "none (the supervisor's CPU time until all answer)"}
	rs := func() []result { return []result{r, cpu} }
	c, err := b.newCluster(r.Nodes)
	if err != nil {
		return rs(), err
	}
	defer b.remove(c)
	for i := range trials {
		if err := c.removeData(); err != nil {
			return rs(), err
		}
		if err := sys.Prepare(c); err != nil {
			return rs(), err
		}
		if err := pause(ctx, time.Second); err != nil {
			return rs(), err
		}
		t0 := time.Now()
		l, err := launch(sys.Command(c), c.path(sys.Name()+".log"))
		if err != nil {
			return rs(), err
		}
		last, werr := waitAll(ctx, c, limit)
		ticks, _, cerr := cpuNow(l.PID)
		serr := b.stop(sys, c, l)
		if werr != nil {
			r.Samples = append(r.Samples, math.Inf(1))
			return rs(), werr
		}
		r.Samples = append(r.Samples, ms(last.Sub(t0)))
		if cerr == nil {
			cpu.Samples = append(cpu.Samples, float64(ticks)*1000/clockTicks)
		}
		b.logf("%s %s: trial %d/%d: %s (%s CPU)", r.Metric, r.Supervisor, i+1, trials, r.format(r.Samples[i]), cpu.format(float64(ticks)*1000/clockTicks))
		if serr != nil {
			return rs(), serr
		}
	}
	return rs(), nil
}
