package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DailyWindow is a span of every day in local wall-clock time, from Start
// (included) to End (excluded), each an offset from midnight. A window
// whose Start is later than its End wraps midnight (22:00-02:00). The zero
// value means no window: any time of day.
type DailyWindow struct {
	Start time.Duration // 0 to 23:59
	End   time.Duration // 0 to 24:00; never equal to Start
}

// IsZero reports whether w is the zero value (any time of day).
func (w DailyWindow) IsZero() bool { return w == DailyWindow{} }

// String renders the window as written in twine.conf, HH:MM-HH:MM, or ""
// for the zero value.
func (w DailyWindow) String() string {
	if w.IsZero() {
		return ""
	}
	return clock(w.Start) + "-" + clock(w.End)
}

func clock(d time.Duration) string {
	m := int(d / time.Minute)
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// parseDailyWindow reads HH:MM-HH:MM. 24:00 is accepted as an end only.
func parseDailyWindow(dst *DailyWindow, v string) error {
	from, to, ok := strings.Cut(v, "-")
	if !ok {
		return fmt.Errorf("%q is not a daily window HH:MM-HH:MM (e.g. 02:00-05:00, or 22:00-02:00 across midnight)", v)
	}
	start, err := parseClock(strings.TrimSpace(from), false)
	if err != nil {
		return fmt.Errorf("window %q: start %w", v, err)
	}
	end, err := parseClock(strings.TrimSpace(to), true)
	if err != nil {
		return fmt.Errorf("window %q: end %w", v, err)
	}
	switch {
	case start == end:
		return fmt.Errorf("window %q is empty: start and end are the same time (leave the setting out to allow any time)", v)
	case start == 0 && end == 24*time.Hour:
		*dst = DailyWindow{} // the whole day
	default:
		*dst = DailyWindow{Start: start, End: end}
	}
	return nil
}

// parseClock reads H:MM or HH:MM as an offset from midnight.
func parseClock(s string, end bool) (time.Duration, error) {
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !isDigits(hs) || !isDigits(ms) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	switch {
	case m > 59:
		return 0, fmt.Errorf("%q: minute %d is not 00-59", s, m)
	case h == 24 && m == 0 && end:
	case h > 23:
		return 0, fmt.Errorf("%q: hour %d is not 00-23", s, h)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}
