package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// idleWindows measures the idle cluster over windows of idleWindow, as
// runIdle measures one supervisor (-duration sets how many): the CPU of
// every twined together and of the alpha's alone (rows.cpu,
// rows.alphaCPU), and the bytes per second the status node received and
// sent (rows.traffic). The alpha is the host the cluster view names; a
// window in which it changed is not counted for it.
func (f *fleet) idleWindows(ctx context.Context, rows *clusterRows) error {
	windows := max(1, int(f.b.duration/idleWindow))
	window := min(idleWindow, max(f.b.duration/time.Duration(windows), time.Second))
	st := f.c.conf.StatusNodes()[0]
	nc, err := dialNetCounter(st.Addr())
	if err != nil {
		return fmt.Errorf("status node %s: %w", st.Name, err)
	}
	defer nc.close()
	var sumIn, sumOut float64
	var alphas []string // the hosts measured as alpha
	defer func() {
		if n := float64(len(rows.traffic.Samples)); n > 0 {
			rows.traffic.Note = notes(rows.traffic.Note, fmt.Sprintf("mean in %s, out %s", rows.traffic.format(sumIn/n), rows.traffic.format(sumOut/n)))
		}
		if len(alphas) > 0 {
			rows.alphaCPU.Note = notes(rows.alphaCPU.Note, "alpha "+strings.Join(alphas, ", "))
		}
	}()
	for i := range windows {
		run, err := clusterStatus(ctx, f.twined, f.c.file)
		if err != nil {
			return err
		}
		alpha := run.View.Alpha
		if f.running[alpha] == nil {
			return fmt.Errorf("the cluster view names alpha %q, not a host of the cluster", alpha)
		}
		ticks0, count0, err := f.idleReading(nc)
		if err != nil {
			return err
		}
		if err := pause(ctx, window); err != nil {
			return err
		}
		ticks1, count1, err := f.idleReading(nc)
		if err != nil {
			return err
		}
		secs := count1.At.Sub(count0.At).Seconds()
		var all uint64
		for h, t := range ticks1 {
			all += t - ticks0[h]
		}
		rows.cpu.Samples = append(rows.cpu.Samples, 100*float64(all)/clockTicks/secs)
		in, out := count1.since(count0)
		sumIn, sumOut = sumIn+in, sumOut+out
		rows.traffic.Samples = append(rows.traffic.Samples, in+out)
		if run, err = clusterStatus(ctx, f.twined, f.c.file); err != nil {
			return err
		}
		alphaCPU := 100 * float64(ticks1[alpha]-ticks0[alpha]) / clockTicks / secs
		if run.View.Alpha != alpha {
			rows.alphaCPU.Note = notes(rows.alphaCPU.Note, fmt.Sprintf("window %d not counted: the alpha moved from %s to %s", i+1, alpha, run.View.Alpha))
		} else {
			rows.alphaCPU.Samples = append(rows.alphaCPU.Samples, alphaCPU)
			if !slices.Contains(alphas, alpha) {
				alphas = append(alphas, alpha)
			}
		}
		f.b.logf("cluster: window %d/%d: cpu %s, alpha %s %s, status node %s (in %s, out %s)", i+1, windows,
			rows.cpu.format(rows.cpu.Samples[i]), alpha, rows.alphaCPU.format(alphaCPU),
			rows.traffic.format(in+out), rows.traffic.format(in), rows.traffic.format(out))
	}
	return nil
}

// idleReading reads the CPU time of every running twined (by host, in
// clock ticks) and the status node's traffic counters, at about the same
// moment.
func (f *fleet) idleReading(nc *netCounter) (map[string]uint64, netCount, error) {
	ticks := make(map[string]uint64, len(f.running))
	for h, l := range f.running {
		t, _, err := cpuNow(l.PID)
		if err != nil {
			return nil, netCount{}, fmt.Errorf("host %s: %w", h, err)
		}
		ticks[h] = t
	}
	c, err := nc.read()
	return ticks, c, err
}
