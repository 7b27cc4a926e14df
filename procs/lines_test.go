package procs

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestParseRedisLine(t *testing.T) {
	tests := []struct {
		line  string
		level hclog.Level
		msg   string
		ok    bool
	}{
		{"12345:M 25 Nov 2026 11:29:00.123 # message", hclog.Warn, "message", true},
		{"12345:M 25 Nov 2026 11:29:00.123 * Ready to accept connections", hclog.Info, "Ready to accept connections", true},
		{"1:S 5 Nov 2026 01:02:03.004 . dot", hclog.Debug, "dot", true},
		{"1:C 5 Nov 2026 01:02:03.004 - dash", hclog.Debug, "dash", true},
		{"1:X 5 Nov 2026 01:02:03.004 #", hclog.Warn, "", true},
		{"16703:signal-handler (1795606863) Received SIGTERM scheduling shutdown...", hclog.Warn, "Received SIGTERM scheduling shutdown...", true},
		{"16703:signal-handler (1795606863)", hclog.NoLevel, "", false},
		{"plain text", hclog.NoLevel, "", false},
		{"", hclog.NoLevel, "", false},
		{"12345:M", hclog.NoLevel, "", false},
		{"12345:M 25 Nov 2026 11:29:00.123 ! bang", hclog.NoLevel, "", false},
		{"12345:M 25 Nov 2026 noon * x", hclog.NoLevel, "", false},
		{"12345:M 25 Nov 2026 11:29:00.123 *x", hclog.NoLevel, "", false},
		{":M 25 Nov 2026 11:29:00.123 * x", hclog.NoLevel, "", false},
	}
	for _, tt := range tests {
		level, msg, ok := parseRedisLine(tt.line)
		if level != tt.level || msg != tt.msg || ok != tt.ok {
			t.Errorf("parseRedisLine(%q) = %v, %q, %v; want %v, %q, %v", tt.line, level, msg, ok, tt.level, tt.msg, tt.ok)
		}
	}
}

func TestReadLines(t *testing.T) {
	long := strings.Repeat("y", maxLineBytes)
	mid := strings.Repeat("m", 3*lineBufBytes+17) // longer than the buffer, not cut
	in := "a\r\nb\n\n" + long + "zzz\nafter\n" + long + "\n" + mid + "\r\nlast"
	type line struct {
		s   string
		cut bool
	}
	var got []line
	readLines(strings.NewReader(in), func(s string, cut bool) { got = append(got, line{s, cut}) })
	want := []line{{"a", false}, {"b", false}, {"", false}, {long, true}, {"after", false}, {long, true}, {mid, false}, {"last", false}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("readLines: got %d lines, want %d", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("line %d: got %.40q (cut %v), want %.40q (cut %v)", i, got[i].s, got[i].cut, want[i].s, want[i].cut)
			}
		}
	}
}

func TestTailRing(t *testing.T) {
	tl := newTail(3)
	if got := tl.lines(); len(got) != 0 {
		t.Errorf("empty tail = %q", got)
	}
	for i := range 5 {
		tl.add(fmt.Sprint(i))
	}
	if got := strings.Join(tl.lines(), ","); got != "2,3,4" {
		t.Errorf("tail = %s, want 2,3,4", got)
	}
}
