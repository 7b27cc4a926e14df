package main

import (
	"context"
	"errors"
	"math"
	"os/exec"
	"syscall"
	"time"
)

// floorScenario measures redis-server itself: exec → first PONG, with the
// config twined generates and no supervisor. It is the floor under every
// kill -9 → PONG figure.
var floorScenario = scenario{
	Name:       "floor",
	Title:      "redis-server exec → PONG, no supervisor (the floor under kill -9 → PONG)",
	Nodes:      1,
	Trials:     fixed(20),
	Direct:     true,
	FixedNodes: true,
	Run:        runFloor,
}

func runFloor(ctx context.Context, b *bench, _ system, base result, trials int) (res []result, err error) {
	r := base
	r.Metric, r.Unit, r.Limit = "exec_to_pong", "ms", 10000
	r.Target = target{Text: "none (reference)"}
	defer func() { res = []result{r} }()
	c, err := b.newCluster(1)
	if err != nil {
		return nil, err
	}
	defer b.remove(c)
	if err := c.writeRedisConfs(false); err != nil {
		return nil, err
	}
	n := c.nodes[0]
	files := c.conf.Files(n)
	for i := range trials {
		if err := pause(ctx, jitter(50*time.Millisecond, 150*time.Millisecond)); err != nil {
			return nil, err
		}
		cmd := exec.Command(c.redis, files.Conf)
		cmd.Dir = files.Dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		c.saw(cmd.Process.Pid)
		p, ok, werr := waitReplacement(ctx, n.Addr(), 0, probeEvery, time.Duration(r.Limit)*time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if werr != nil {
			return nil, werr
		}
		if !ok {
			r.Samples = append(r.Samples, math.Inf(1))
			return nil, errors.New("redis-server did not answer within 10s (see " + files.Log + ")")
		}
		r.Samples = append(r.Samples, ms(p.At.Sub(t0)))
		b.logf("floor: trial %d/%d: %s", i+1, trials, r.format(r.Samples[i]))
	}
	return nil, nil
}
