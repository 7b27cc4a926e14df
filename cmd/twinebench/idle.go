package main

import (
	"context"
	"fmt"
	"time"
)

// idleScenario measures the supervisor's own CPU and memory while its
// nodes are idle, with 1 s checks (twined's default; monit's cycle is set
// to 1 s).
var idleScenario = scenario{
	Name:   "idle",
	Title:  "idle nodes: the supervisor's own CPU (% of one core) and RSS",
	Nodes:  256,
	Trials: func(b *bench, _ int) int { return max(1, int(b.duration/idleWindow)) },
	Run:    runIdle,
}

// Idle sampling: CPU is taken over windows of idleWindow (each one a
// trial), RSS every second; idleSettle lets start-up work finish first.
const (
	idleWindow = 10 * time.Second
	idleSettle = 5 * time.Second
)

func runIdle(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error) {
	cpu, rss := base, base
	cpu.Metric, cpu.Unit = "idle_cpu_percent", "%"
	cpu.Target = target{Text: "mean ≤ 1% (256 nodes)", Mean: 1}
	rss.Metric, rss.Unit = "idle_rss_mb", "MB"
	rss.Target = target{Text: "max ≤ 40MB (256 nodes)", Max: 40}
	if base.Nodes > 256 {
		cpu.Target = target{Text: "mean ≤ 4% (1024 nodes)", Mean: 4}
		rss.Target = target{Text: "none above 256 nodes"}
	}
	threads := base
	threads.Metric, threads.Unit = "threads", "n"
	threads.Target = target{Text: "max ≤ 32", Max: 32}
	window := min(idleWindow, max(b.duration/time.Duration(trials), time.Second))
	err := b.session(ctx, sys, base.Nodes, func(c *cluster, l *launched) error {
		if err := pause(ctx, idleSettle); err != nil {
			return err
		}
		for i := range trials {
			begin, t0, err := cpuNow(l.PID)
			if err != nil {
				return err
			}
			for end := t0.Add(window); time.Now().Before(end); {
				if err := pause(ctx, min(time.Second, time.Until(end))); err != nil {
					return err
				}
				size, err := rssBytes(l.PID)
				if err != nil {
					return fmt.Errorf("read %s's RSS: %w", sys.Name(), err)
				}
				rss.Samples = append(rss.Samples, float64(size)/(1<<20))
				if n, err := threadCount(l.PID); err == nil {
					threads.Samples = append(threads.Samples, float64(n))
				}
			}
			ticks, t1, err := cpuNow(l.PID)
			if err != nil {
				return err
			}
			cpu.Samples = append(cpu.Samples, 100*float64(ticks-begin)/clockTicks/t1.Sub(t0).Seconds())
			b.logf("%s %s: window %d/%d: cpu %s, rss %s", cpu.Metric, cpu.Supervisor, i+1, trials,
				cpu.format(cpu.Samples[i]), rss.format(rss.Samples[len(rss.Samples)-1]))
		}
		return nil
	})
	return []result{cpu, rss, threads}, err
}

// cpuNow returns the CPU time pid has used so far, in clock ticks, and
// when it was read.
func cpuNow(pid int) (uint64, time.Time, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	return st.Ticks, time.Now(), nil
}
