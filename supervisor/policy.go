package supervisor

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy is the restart policy: how long to wait before starting a node
// again after it exited. It is a pure value: Tracker.Exit is fed the time and
// returns the decision, so tests check delays without waiting for them.
type Policy struct {
	BackoffMin time.Duration // first delay after an early exit
	BackoffMax time.Duration // cap, and the pace of retries in a crash loop
	// HealthyAfter is how long a node must answer PING for its exit to count
	// as an isolated crash (restarted at once, backoff reset).
	HealthyAfter time.Duration
	// LoopExits exits within LoopWindow make a crash loop.
	LoopExits  int
	LoopWindow time.Duration
	// Jitter returns a number in [0, 1); nil means math/rand.
	Jitter func() float64
}

// healthyAfter is how long a node must answer PING for its run to count as
// healthy.
const healthyAfter = 10 * time.Second

// DefaultPolicy returns the policy with twined's defaults and the given
// backoff bounds.
func DefaultPolicy(min, max time.Duration) Policy {
	return Policy{
		BackoffMin:   min,
		BackoffMax:   max,
		HealthyAfter: healthyAfter,
		LoopExits:    5,
		LoopWindow:   60 * time.Second,
	}
}

// Decision is what to do after an exit.
type Decision struct {
	Delay     time.Duration // wait this long, then start again (0 = at once)
	CrashLoop bool          // the node is in a crash loop (state failed)
	Reason    string        // why, for people
}

// Tracker applies a Policy to one node's history of exits. It is not safe
// for concurrent use: the node's watcher owns it.
type Tracker struct {
	p       Policy
	attempt int         // early exits in a row since the last healthy run
	exits   []time.Time // exits within LoopWindow, oldest first
}

// NewTracker returns a tracker with no history.
func NewTracker(p Policy) *Tracker { return &Tracker{p: p} }

// SetPolicy replaces the policy, keeping the history.
func (t *Tracker) SetPolicy(p Policy) { t.p = p }

// Exit records an exit at now of a node that had been answering PING
// continuously since healthySince (zero if it never answered since its last
// start) and decides when to start it again.
func (t *Tracker) Exit(now, healthySince time.Time) Decision {
	t.exits = append(t.exits, now)
	for len(t.exits) > 0 && now.Sub(t.exits[0]) > t.p.LoopWindow {
		t.exits = t.exits[1:]
	}
	healthy := !healthySince.IsZero() && now.Sub(healthySince) >= t.p.HealthyAfter
	if healthy {
		t.attempt = 0
	}
	if t.p.LoopExits > 0 && len(t.exits) >= t.p.LoopExits {
		t.attempt++
		return Decision{
			Delay:     t.jitter(t.p.BackoffMax),
			CrashLoop: true,
			Reason:    fmt.Sprintf("crash loop: %d exits within %s; retrying every %s", len(t.exits), t.p.LoopWindow, t.p.BackoffMax),
		}
	}
	if healthy {
		return Decision{Reason: fmt.Sprintf("exited after %s up; restarting at once", now.Sub(healthySince).Round(time.Millisecond))}
	}
	d := t.backoff()
	t.attempt++
	return Decision{Delay: d, Reason: fmt.Sprintf("exited soon after its start (attempt %d); restarting in %s", t.attempt, d.Round(time.Millisecond))}
}

// Healthy tells the tracker that the node has been up for HealthyAfter:
// the next early exit starts from the smallest delay again. The crash-loop
// window is kept: a node that flaps slowly is still caught.
func (t *Tracker) Healthy() { t.attempt = 0 }

// backoff is BackoffMin·2^attempt capped at BackoffMax, with jitter: a
// delay d becomes a uniform pick in [d/2, d], so nodes that fail together do
// not retry in lockstep.
func (t *Tracker) backoff() time.Duration {
	d := t.p.BackoffMin
	for i := 0; i < t.attempt && d < t.p.BackoffMax; i++ {
		d *= 2
	}
	return t.jitter(min(d, t.p.BackoffMax))
}

func (t *Tracker) jitter(d time.Duration) time.Duration {
	r := t.p.Jitter
	if r == nil {
		r = rand.Float64
	}
	return d/2 + time.Duration(r()*float64(d/2))
}
