package procs

import "github.com/hashicorp/go-hclog"

// ParseRedisLine recognises a redis-server log line and returns its level
// and its message without the pid, role and time prefix; ok is false for
// any other line.
func ParseRedisLine(line string) (level hclog.Level, msg string, ok bool) {
	return parseRedisLine(line)
}

// LogLine logs one line of redis-server output into l at the line's own
// level. A line that is not in redis's log format is logged at Error when
// it came from stderr and at Info otherwise.
func LogLine(l hclog.Logger, line string, stderr bool) {
	level, msg := lineLevel(line, stderr)
	l.Log(level, msg)
}
