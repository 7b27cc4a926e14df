package supervisor

import (
	"time"

	"github.com/twine/twine/config"
)

// inWindow reports whether t's wall-clock time of day, in t's own location,
// falls in w: from w.Start (included) to w.End (excluded), across midnight
// when Start is later than End. The zero window holds every moment.
func inWindow(w config.DailyWindow, t time.Time) bool {
	if w.IsZero() {
		return true
	}
	tod := timeOfDay(t)
	if w.Start < w.End {
		return w.Start <= tod && tod < w.End
	}
	return tod >= w.Start || tod < w.End
}

// windowOpens returns t when t is in w, else the next moment the window
// opens: w.Start on t's day or on the next, by the wall clock of t's
// location (so a start skipped by a daylight-saving jump comes at the
// clock's next reading past it).
func windowOpens(w config.DailyWindow, t time.Time) time.Time {
	if inWindow(w, t) {
		return t
	}
	y, m, d := t.Date()
	if timeOfDay(t) > w.Start {
		d++
	}
	h, min := int(w.Start/time.Hour), int(w.Start%time.Hour/time.Minute)
	return time.Date(y, m, d, h, min, 0, 0, t.Location())
}

// timeOfDay is t's wall-clock reading as an offset from midnight.
func timeOfDay(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}
