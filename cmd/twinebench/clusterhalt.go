package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// commandRuns appends to r.Samples the run time of commandRuns runs of
// `twined -status -cluster -format json` on the idle, healthy cluster,
// from before its process starts to its exit with the output read.
func (f *fleet) commandRuns(ctx context.Context, r *result) error {
	for i := range commandRuns {
		run, err := clusterStatus(ctx, f.twined, f.c.file)
		if err != nil {
			return err
		}
		if err := run.healthy(f.hosts); err != nil {
			return fmt.Errorf("run %d of twined -status -cluster: %w", i+1, err)
		}
		r.Samples = append(r.Samples, ms(run.Took))
		if err := pause(ctx, jitter(50*time.Millisecond, 150*time.Millisecond)); err != nil {
			return err
		}
	}
	s := r.summary()
	f.b.logf("cluster: twined -status -cluster -format json, %d runs: p50 %s, max %s", s.Trials, r.format(s.P50), r.format(s.Max))
	return nil
}

// haltTrials runs the hostlost_to_halt trials: each waits until the
// cluster is OK, kills a whole host (its twined and every redis-server
// of it, by PID; never the status node's host nor the alpha's), polls
// `twined -status -cluster` every haltPollEvery and appends to r.Samples
// the time from the kill to the end of the first run that reports HALT
// (exit code 2, the host lost), +Inf when none did within haltLimit,
// which ends the trials. Between trials the host's twined runs again and
// the next trial waits for the cluster to be OK (its nodes restarted).
func (f *fleet) haltTrials(ctx context.Context, r *result, trials int) error {
	var killed []string
	defer func() {
		if len(killed) > 0 {
			r.Note = notes(r.Note, fmt.Sprintf("killed %v", killed))
		}
	}()
	for i := range trials {
		ok, err := f.waitOK(ctx, backLimit)
		if err != nil {
			return err
		}
		var eligible []string
		for _, h := range f.hosts {
			if h != f.statusHost() && h != ok.View.Alpha {
				eligible = append(eligible, h)
			}
		}
		if len(eligible) == 0 {
			return fmt.Errorf("no host to kill: the status node and the alpha (%s) hold them all", ok.View.Alpha)
		}
		host := eligible[i%len(eligible)]
		if err := pause(ctx, jitter(200*time.Millisecond, 1200*time.Millisecond)); err != nil {
			return err
		}
		t0, err := f.killHost(ctx, host)
		if err != nil {
			return err
		}
		killed = append(killed, host)
		run, polls, err := f.waitHalt(ctx, host, t0)
		if err != nil {
			return err
		}
		if run == nil {
			r.Samples = append(r.Samples, math.Inf(1))
			f.b.logf("cluster: trial %d/%d: host %s killed, no HALT within %s (%d runs)", i+1, trials, host, haltLimit, polls)
			return fmt.Errorf("host %s killed: twined -status -cluster did not report HALT with it lost within %s", host, haltLimit)
		}
		r.Samples = append(r.Samples, ms(run.Begin.Add(run.Took).Sub(t0)))
		f.b.logf("cluster: trial %d/%d: host %s killed at %s; HALT reported after %s (the alpha %s computed it %s after the kill; run %d took %s)",
			i+1, trials, host, t0.UTC().Format("15:04:05.000"), r.format(r.Samples[i]), run.View.Alpha,
			run.View.Time.Sub(t0).Round(time.Millisecond), polls, run.Took.Round(time.Millisecond))
		if i == trials-1 {
			break
		}
		begin := time.Now()
		if err := f.relaunchHost(host); err != nil {
			return err
		}
		if _, err := f.waitOK(ctx, backLimit); err != nil {
			return err
		}
		f.b.logf("cluster: host %s's twined runs again: cluster OK after %s", host, time.Since(begin).Round(time.Millisecond))
	}
	return nil
}

// waitHalt runs `twined -status -cluster` every haltPollEvery from t0 on
// (a run starts once the last has ended when it took longer) until one
// reports HALT with exit code 2 and host lost, and returns that run and
// how many ran; the run is nil when none did within haltLimit.
func (f *fleet) waitHalt(ctx context.Context, host string, t0 time.Time) (*statusRun, int, error) {
	seen := []string{}
	for polls := 1; ; polls++ {
		run, err := clusterStatus(ctx, f.twined, f.c.file)
		if err != nil {
			return nil, polls, err
		}
		if s := fmt.Sprintf("%s lost=%v", run.View.Status, run.View.lost(host)); !slices.Contains(seen, s) {
			seen = append(seen, s)
		}
		if run.Exit == 2 && run.View.Status == "HALT" && run.View.lost(host) {
			return &run, polls, nil
		}
		if time.Since(t0) > haltLimit {
			f.b.logf("cluster: host %s: views seen since the kill: %v", host, seen)
			return nil, polls, nil
		}
		if err := pause(ctx, time.Until(run.Begin.Add(haltPollEvery))); err != nil {
			return nil, polls, err
		}
	}
}
