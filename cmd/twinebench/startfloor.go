package main

import (
	"context"
	"errors"
	"math"
	"os/exec"
	"syscall"
	"time"
)

// startFloorScenario measures N redis-servers started at once with no
// supervisor: exec of all → every node answers PING. It is the floor
// under every cold-start figure: on a small machine the servers' own
// start-up CPU, not the supervisor, sets the pace.
var startFloorScenario = scenario{
	Name:   "startfloor",
	Title:  "N redis-servers exec'd at once, no supervisor → every node answers PING (the floor under cold start)",
	Nodes:  64,
	Trials: fixed(5),
	Direct: true,
	Run:    runStartFloor,
}

func runStartFloor(ctx context.Context, b *bench, _ system, base result, trials int) ([]result, error) {
	r := base
	limit := startLimit(r.Nodes)
	r.Metric, r.Unit, r.Limit = "exec_all_to_all_pong", "ms", ms(limit)
	r.Target = target{Text: "none (reference)"}
	c, err := b.newCluster(r.Nodes)
	if err != nil {
		return []result{r}, err
	}
	defer b.remove(c)
	for i := range trials {
		if err := c.removeData(); err != nil {
			return []result{r}, err
		}
		if err := c.writeRedisConfs(false); err != nil {
			return []result{r}, err
		}
		if err := pause(ctx, time.Second); err != nil {
			return []result{r}, err
		}
		t0 := time.Now()
		cmds, serr := startAll(c)
		var last time.Time
		var werr error
		if serr == nil {
			last, werr = waitAll(ctx, c, limit)
		}
		for _, cmd := range cmds {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if err := errors.Join(serr, werr); err != nil {
			r.Samples = append(r.Samples, math.Inf(1))
			return []result{r}, err
		}
		r.Samples = append(r.Samples, ms(last.Sub(t0)))
		b.logf("%s: trial %d/%d: %s", r.Metric, i+1, trials, r.format(r.Samples[i]))
	}
	return []result{r}, nil
}

// startAll starts every node of c as a plain child process, each in its
// own process group, all at once from one goroutine per node.
func startAll(c *cluster) ([]*exec.Cmd, error) {
	cmds := make([]*exec.Cmd, len(c.nodes))
	errs := make([]error, len(c.nodes))
	done := make(chan struct{}, len(c.nodes))
	for i, n := range c.nodes {
		go func() {
			defer func() { done <- struct{}{} }()
			f := c.conf.Files(n)
			cmd := exec.Command(c.redis, f.Conf)
			cmd.Dir = f.Dir
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if errs[i] = cmd.Start(); errs[i] == nil {
				cmds[i] = cmd
				c.saw(cmd.Process.Pid)
			}
		}()
	}
	for range c.nodes {
		<-done
	}
	var started []*exec.Cmd
	for _, cmd := range cmds {
		if cmd != nil {
			started = append(started, cmd)
		}
	}
	return started, errors.Join(errs...)
}
