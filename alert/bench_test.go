package alert

import (
	"testing"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
)

// BenchmarkEvent measures what one supervisor event costs the Alerter's
// Run loop on a 64-partition host (128 nodes): apply it and evaluate the
// rules.
func BenchmarkEvent(b *testing.B) {
	clock := newClock()
	w := newWorld(clock, 64)
	s := testSettingsB(b)
	r := newRules(s)
	r.snapshot(w.snapshot())
	states := []supervisor.State{supervisor.Down, supervisor.Starting, supervisor.Up}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		clock.Advance(time.Millisecond)
		r.event(supervisor.Event{Time: clock.Now(), Node: "r7", To: states[i%3]})
		r.evaluate(clock.Now())
	}
}

// BenchmarkCompose measures composing the mail for 64 nodes down.
func BenchmarkCompose(b *testing.B) {
	clock := newClock()
	w := newWorld(clock, 64)
	s := testSettingsB(b)
	r := newRules(s)
	r.snapshot(w.snapshot())
	for p := range 64 {
		r.event(supervisor.Event{Time: clock.Now(), Node: nodeName('r', p), To: supervisor.Failed, Err: "exit status 1",
			LogTail: []string{"# Fatal error loading the DB", "# Exiting."}})
	}
	r.evaluate(clock.Now())
	bt := r.take(clock.Now())
	c := newComposer(s, "db1", "/etc/twine/twine.conf")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.compose(bt); err != nil {
			b.Fatal(err)
		}
	}
}

func testSettingsB(b *testing.B) config.Settings {
	b.Helper()
	c, err := config.Parse("/etc/twine/twine.conf", []byte("n0=data 0 db1 4200 0\n"))
	if err != nil {
		b.Fatal(err)
	}
	return c.Settings()
}
