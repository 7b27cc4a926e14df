package config_test

import (
	"testing"
	"time"

	"github.com/twine/twine/config"
)

// A window prints as written in twine.conf, so that messages and status
// output can quote it.
func TestDailyWindowString(t *testing.T) {
	tests := []struct {
		w    config.DailyWindow
		want string
	}{
		{config.DailyWindow{}, ""},
		{config.DailyWindow{Start: 2 * time.Hour, End: 5*time.Hour + 30*time.Minute}, "02:00-05:30"},
		{config.DailyWindow{Start: 22 * time.Hour, End: 2 * time.Hour}, "22:00-02:00"},
		{config.DailyWindow{Start: 23 * time.Hour, End: 24 * time.Hour}, "23:00-24:00"},
	}
	for _, tt := range tests {
		if got := tt.w.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.w, got, tt.want)
		}
		if tt.w.IsZero() != (tt.want == "") {
			t.Errorf("%+v.IsZero() = %v", tt.w, tt.w.IsZero())
		}
	}
	for _, v := range []string{"02:00-05:30", "22:00-02:00", "23:00-24:00"} {
		c := mustParse(t, lines("set aof-rewrite-window "+v, nodeLine))
		if got := c.Settings().AOFRewriteWindow.String(); got != v {
			t.Errorf("set aof-rewrite-window %s: String() = %q", v, got)
		}
	}
}
