package supervisor

import (
	"time"

	"github.com/twine/twine/procs"
)

// startCheck runs the node's next health check in a goroutine of its own,
// whose result reaches the owner goroutine on results (exactly one value).
//
// A steady node (up, its last PING answered, nothing due) is checked
// again and again by the same goroutine, on the check grid, until a check
// is not clean (a miss, an error reply, LOADING, BUSY), until something
// the owner must do falls due (INFO, reading the node's log, the end of
// its first healthy run), or until the owner ends the run (exit, stop,
// reload). Clean answers only update the node's counters, under the
// status lock; the owner wakes for nothing else. This is what keeps a host
// of hundreds of idle nodes cheap: one wake-up per node and interval, no
// goroutine started, no channel crossed. Each node still has its own
// goroutine and its own timeout, so a hung node delays no other.
func (w *watcher) startCheck(results chan<- checkResult) {
	now := w.env.now()
	withInfo := now.Sub(w.infoAt) >= infoEvery
	identify := w.state == Starting // a spawned node's first answers
	p, timeout, pid := w.probe, w.env.settings.CheckTimeout, w.proc.PID()
	stopped := func() bool {
		st, err := procs.StateOf(pid)
		return err == nil && st.Stopped()
	}
	var until time.Time // the steady run ends by then; zero: one check only
	var end chan struct{}
	if w.state == Up && w.misses == 0 && !w.stopping && !withInfo {
		until = w.infoAt.Add(infoEvery)
		if next := w.logPolledAt.Add(logPollEvery); next.Before(until) {
			until = next
		}
		if healthy := w.healthySince.Add(healthyAfter); !w.healthySince.IsZero() && healthy.After(now) && healthy.Before(until) {
			until = healthy
		}
		end = make(chan struct{})
		w.endSteady = end
	}
	observe, name := w.env.observe, w.node.Name
	interval := w.env.settings.CheckInterval
	go func() {
		for {
			r := checkInfo(p, timeout, withInfo, stopped)
			if identify && r.alive {
				r.pid = processID(p, timeout)
			}
			if end == nil || !r.clean() || !r.at.Before(until) {
				results <- r
				return
			}
			w.countCheck(r)
			if observe != nil {
				observe(name, r.latency, true)
			}
			t := time.NewTimer(gridDelay(time.Now(), interval))
			select {
			case <-end:
				t.Stop()
				results <- checkResult{at: time.Now(), ended: true}
				return
			case <-t.C:
			}
		}
	}()
}

// stopSteady ends a steady run of checks, if one runs: its goroutine
// returns at once (or after the check in flight) with an ended result.
func (w *watcher) stopSteady() {
	if w.endSteady != nil {
		close(w.endSteady)
		w.endSteady = nil
	}
}

// clean reports whether a check found the node plainly healthy: PONG.
func (r checkResult) clean() bool {
	return r.alive && r.err == nil && !r.loading && r.busy == "" && r.info == nil && r.pid == 0
}

// countCheck records a clean check of a steady run in the status.
func (w *watcher) countCheck(r checkResult) {
	w.mu.Lock()
	w.status.LastCheck = r.at
	w.status.Latency = r.latency
	w.status.Checks++
	w.mu.Unlock()
}

// gridDelay is the time from now to the next point of the check grid at
// least half an interval away (see nextCheckAt).
func gridDelay(now time.Time, interval time.Duration) time.Duration {
	return now.Add(interval / 2).Truncate(interval).Add(interval).Sub(now)
}
