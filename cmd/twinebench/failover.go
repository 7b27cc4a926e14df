package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/twine/twine/config"
)

// failoverScenario kills the master of a replica set with SIGKILL and
// measures kill → the first write another member accepts, under twined
// (which sees the exit and asks Sentinel for an immediate fail-over) and
// under plain Redis Sentinel with no supervisor (which waits for
// down-after), both in the same run.
var failoverScenario = scenario{
	Name: "failover",
	Title: "master kill -9 → a replica accepting writes (1 partition on 3 hosts, a Sentinel each, down-after " + setDownAfter.String() +
		"); sentinel = plain Redis Sentinel, no supervisor: the peer, measured in the same run",
	Nodes:       len(setDataNames),
	FixedNodes:  true,
	Trials:      fixed(5),
	Supervisors: []string{"twined", "sentinel"},
	Run:         runFailover,
}

// hostlostScenario loses the master's whole host (its twined, the master
// and the host's Sentinel SIGKILLed) and measures the kills → the first
// write another member accepts: the remaining Sentinels fail over after
// down-after.
var hostlostScenario = scenario{
	Name:        "hostlost",
	Title:       "host lost (its twined, master and Sentinel kill -9) → a replica accepting writes (1 partition on 3 hosts, down-after " + setDownAfter.String() + ")",
	Nodes:       len(setDataNames),
	FixedNodes:  true,
	Trials:      fixed(3),
	Supervisors: []string{"twined"},
	Run:         runHostlost,
}

// failoverLimit is how long a trial waits for another member to take a
// write: twined's failover-timeout (the default 30 s).
const failoverLimit = 30 * time.Second

// lostTarget is the target of every acked_writes_lost row.
var lostTarget = target{Text: "0 (max 0)", Zero: true}

// runFailover measures the failover scenario for one row: twined (sys)
// or plain Sentinel (sys nil).
func runFailover(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error) {
	r, lost := failoverRows(base, "kill9_to_write")
	if sys == nil {
		r.Target = target{Text: "none (the peer: ≈ down-after " + setDownAfter.String() + " + election)"}
	} else {
		r.Target = target{Text: "p50 ≤ 2s, max ≤ 4s", P50: 2000, Max: 4000}
	}
	twined, err := twinedOf(sys)
	if err != nil {
		return []result{r, lost}, err
	}
	err = b.setSession(ctx, twined, func(s *setSession) error {
		return failoverTrials(ctx, s, &r, &lost, trials, s.killMaster, s.bringBack)
	})
	return []result{r, lost}, err
}

// runHostlost measures the hostlost scenario; sys must be twined.
func runHostlost(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error) {
	r, lost := failoverRows(base, "hostlost_to_write")
	limit := setDownAfter + 3*time.Second
	r.Target = target{Text: "max ≤ " + limit.String() + " (down-after + 3s)", Max: ms(limit)}
	twined, err := twinedOf(sys)
	if err == nil && twined == "" {
		err = errors.New("hostlost measures twined only")
	}
	if err != nil {
		return []result{r, lost}, err
	}
	err = b.setSession(ctx, twined, func(s *setSession) error {
		return failoverTrials(ctx, s, &r, &lost, trials, s.loseHost, s.relaunchHost)
	})
	return []result{r, lost}, err
}

// failoverRows returns the two rows of a fail-over scenario: the time
// to the first write (metric), and the acknowledged writes lost.
func failoverRows(base result, metric string) (r, lost result) {
	r, lost = base, base
	r.Metric, r.Unit, r.Limit = metric, "ms", ms(failoverLimit)
	lost.Metric, lost.Unit, lost.Target = "acked_writes_lost", "writes", lostTarget
	return r, lost
}

// twinedOf returns the twined binary sys runs, "" for sys nil (plain
// Sentinel).
func twinedOf(sys system) (string, error) {
	switch t := sys.(type) {
	case nil:
		return "", nil
	case twinedSystem:
		return t.bin, nil
	}
	return "", fmt.Errorf("the fail-over scenarios measure twined and plain sentinel, not %s", sys.Name())
}

// failoverTrials runs the trials of a fail-over scenario on s. Each waits
// until the set is healthy, writes to its master for a while, loses the
// master (lose returns when it struck), appends to r.Samples the time
// from then to the first write another member accepts (+Inf when none
// did within failoverLimit, which ends the trials) and to lost.Samples
// how many acknowledged writes that member lacks, and, when another trial
// follows, restores the set (rejoin, then the wait for the lost master to
// be a replica of the new one). The master moves every trial: each trial
// loses whichever node is master.
func failoverTrials(ctx context.Context, s *setSession, r, lost *result, trials int,
	lose func(context.Context, config.Node) (time.Time, error), rejoin func(context.Context, config.Node) error) error {
	var path []string // the masters, in turn
	var next, acks int
	defer func() {
		if len(path) > 0 {
			r.Note = notes(r.Note, "masters "+strings.Join(path, "→"))
		}
		lost.Note = notes(lost.Note, fmt.Sprintf("of %d acknowledged writes", acks))
	}()
	for i := range trials {
		m, err := s.waitHealthy(ctx, healthyLimit)
		if err != nil {
			return err
		}
		if len(path) == 0 {
			path = append(path, m.Name)
		}
		w := startWriter(ctx, m.Addr(), next, len(s.set)-1)
		t0, err := writeThenLose(ctx, w, m, lose)
		var nm config.Node
		var at time.Time
		ok := false
		if err == nil {
			nm, at, ok, err = firstWrite(ctx, s.set, m, failoverLimit)
		}
		acked, n := w.finish()
		next = n
		if err != nil {
			return err
		}
		if !ok {
			r.Samples = append(r.Samples, math.Inf(1))
			return fmt.Errorf("no other member of the set took a write within %s of losing master %s", failoverLimit, m.Name)
		}
		r.Samples = append(r.Samples, ms(at.Sub(t0)))
		path = append(path, nm.Name)
		l, err := lostWrites(ctx, nm.Addr(), acked)
		if err != nil {
			return err
		}
		acks += len(acked)
		lost.Samples = append(lost.Samples, float64(l))
		s.b.logf("%s %s: trial %d/%d: %s lost at %s, %s took a write after %s; %d of %d acknowledged writes lost",
			r.Metric, r.Supervisor, i+1, trials, m.Name, t0.UTC().Format("15:04:05.000"), nm.Name, r.format(r.Samples[i]), l, len(acked))
		if i == trials-1 {
			break
		}
		begin := time.Now()
		if err := rejoin(ctx, m); err != nil {
			return err
		}
		if err := s.waitRejoined(ctx, m, nm, rejoinLimit); err != nil {
			return err
		}
		s.b.logf("%s %s: %s is a replica of %s again after %s", r.Metric, r.Supervisor, m.Name, nm.Name, time.Since(begin).Round(time.Millisecond))
	}
	return nil
}

// writeThenLose lets w write to m for a moment (at least one write
// acknowledged) and then loses m; it returns when the loss struck.
func writeThenLose(ctx context.Context, w *ackWriter, m config.Node, lose func(context.Context, config.Node) (time.Time, error)) (time.Time, error) {
	if err := pause(ctx, jitter(300*time.Millisecond, 800*time.Millisecond)); err != nil {
		return time.Time{}, err
	}
	err := eventually(ctx, 5*time.Second, 10*time.Millisecond, func() error {
		if w.acknowledged() == 0 {
			return fmt.Errorf("no write to %s acknowledged by every replica", m.Name)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	return lose(ctx, m)
}
