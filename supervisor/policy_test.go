package supervisor

import (
	"testing"
	"time"
)

// testPolicy returns the default policy with 100ms..1s backoff and a fixed
// jitter value.
func testPolicy(jitter float64) Policy {
	p := DefaultPolicy(100*time.Millisecond, time.Second)
	p.Jitter = func() float64 { return jitter }
	return p
}

// t0 is an arbitrary instant: the tracker only sees the times it is given.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// spaced returns t0 plus i minutes: exits a minute apart never make a
// crash loop.
func spaced(i int) time.Time { return t0.Add(time.Duration(i) * (time.Minute + time.Second)) }

func TestTrackerRestartsAtOnceAfterHealthyRun(t *testing.T) {
	tr := NewTracker(testPolicy(0.5))
	now := t0.Add(time.Hour)
	d := tr.Exit(now, now.Add(-healthyAfter))
	if d.Delay != 0 || d.CrashLoop {
		t.Fatalf("exit after %s up: %+v, want an immediate restart", healthyAfter, d)
	}
	// Just short of healthy: backoff.
	d = tr.Exit(spaced(100), spaced(100).Add(-healthyAfter+time.Millisecond))
	if d.Delay == 0 {
		t.Errorf("exit after %s up: restarted at once, want backoff", healthyAfter-time.Millisecond)
	}
}

func TestTrackerBackoffDoublesToMax(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter float64
		want   []time.Duration
	}{
		// A delay d is picked in [d/2, d]: jitter 0 gives d/2 ...
		{"low", 0, []time.Duration{50, 100, 200, 400, 500, 500}},
		// ... and jitter just below 1 gives d (to the nanosecond).
		{"high", 1, []time.Duration{100, 200, 400, 800, 1000, 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(testPolicy(tc.jitter))
			for i, want := range tc.want {
				want *= time.Millisecond
				d := tr.Exit(spaced(i), time.Time{})
				if d.CrashLoop {
					t.Fatalf("exit %d: crash loop with exits a minute apart", i)
				}
				if d.Delay != want {
					t.Errorf("exit %d: delay %s, want %s (%s)", i, d.Delay, want, d.Reason)
				}
			}
		})
	}
}

func TestTrackerJitterWithinBounds(t *testing.T) {
	p := DefaultPolicy(100*time.Millisecond, 800*time.Millisecond) // real math/rand jitter
	tr := NewTracker(p)
	seen := map[time.Duration]bool{}
	for i := range 200 {
		tr.Healthy() // every exit is a first attempt: d = 100ms
		d := tr.Exit(spaced(i), time.Time{})
		if d.Delay < 50*time.Millisecond || d.Delay > 100*time.Millisecond {
			t.Fatalf("exit %d: delay %s outside [50ms, 100ms]", i, d.Delay)
		}
		seen[d.Delay] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct delays in 200 draws: no jitter", len(seen))
	}
	// The cap is jittered too.
	for i := range 20 {
		d := tr.Exit(spaced(1000+i), time.Time{})
		if d.Delay > 800*time.Millisecond || d.Delay < 50*time.Millisecond {
			t.Fatalf("delay %s outside [50ms, 800ms]", d.Delay)
		}
	}
}

func TestTrackerResetsAfterHealthy(t *testing.T) {
	tr := NewTracker(testPolicy(1))
	for i := range 3 {
		tr.Exit(spaced(i), time.Time{})
	}
	if d := tr.Exit(spaced(3), time.Time{}); d.Delay != 800*time.Millisecond {
		t.Fatalf("4th early exit: %s, want 800ms", d.Delay)
	}
	tr.Healthy()
	if d := tr.Exit(spaced(4), time.Time{}); d.Delay != 100*time.Millisecond {
		t.Errorf("early exit after Healthy: %s, want backoff-min 100ms", d.Delay)
	}
	if d := tr.Exit(spaced(5), time.Time{}); d.Delay != 200*time.Millisecond {
		t.Errorf("next early exit: %s, want 200ms", d.Delay)
	}
	// An exit after a healthy run resets the backoff too.
	if d := tr.Exit(spaced(6), spaced(6).Add(-time.Minute)); d.Delay != 0 {
		t.Errorf("exit after a healthy run: %s, want 0", d.Delay)
	}
	if d := tr.Exit(spaced(7), time.Time{}); d.Delay != 100*time.Millisecond {
		t.Errorf("early exit after a healthy run: %s, want 100ms", d.Delay)
	}
}

func TestTrackerCrashLoop(t *testing.T) {
	tr := NewTracker(testPolicy(1))
	every10s := func(i int) time.Time { return t0.Add(time.Duration(i) * 10 * time.Second) }
	// Four exits within a minute: backoff, no crash loop yet.
	for i := range 4 {
		d := tr.Exit(every10s(i), time.Time{})
		if d.CrashLoop {
			t.Fatalf("exit %d: crash loop before 5 exits", i+1)
		}
	}
	// The fifth within 60 s: crash loop, retried at backoff-max.
	d := tr.Exit(every10s(4), time.Time{})
	if !d.CrashLoop || d.Delay != time.Second {
		t.Fatalf("5th exit within 60s: %+v, want crash loop at 1s", d)
	}
	// It stays a crash loop, paced at backoff-max, while exits keep
	// coming (6 per minute), even one after a healthy run: a slow flapper
	// is still caught.
	for i := 5; i < 15; i++ {
		hs := time.Time{}
		if i == 8 {
			hs = every10s(i).Add(-healthyAfter)
		}
		d := tr.Exit(every10s(i), hs)
		if !d.CrashLoop || d.Delay != time.Second {
			t.Fatalf("exit %d in the loop: %+v, want crash loop at 1s", i, d)
		}
	}
	// Jitter applies in the loop too: [max/2, max].
	low := NewTracker(testPolicy(0))
	for i := range 5 {
		d = low.Exit(t0.Add(time.Duration(i)*time.Second), time.Time{})
	}
	if !d.CrashLoop || d.Delay != 500*time.Millisecond {
		t.Errorf("crash loop with low jitter: %+v, want 500ms", d)
	}
	// Once the window holds fewer than 5 exits, the loop is over.
	d = tr.Exit(t0.Add(time.Hour), time.Time{})
	if d.CrashLoop {
		t.Errorf("exit an hour later: still a crash loop: %+v", d)
	}
}

func TestTrackerCrashLoopWindow(t *testing.T) {
	tr := NewTracker(testPolicy(1))
	// Exits 16 s apart: never 5 within 60 s.
	for i := range 20 {
		if d := tr.Exit(t0.Add(time.Duration(i)*16*time.Second), time.Time{}); d.CrashLoop {
			t.Fatalf("exit %d: crash loop with 4 exits per 60s", i)
		}
	}
}
