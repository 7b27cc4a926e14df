package supervisor

import (
	"bytes"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/procs"
)

const (
	// followChunk bounds what one poll reads of a node's log.
	followChunk = 256 << 10
	// rotateAt is the size past which twined moves redis.log to redis.log.1;
	// redis-server reopens its log file at every write.
	rotateAt = 64 << 20
	// tailLines is how many log lines an event carries.
	tailLines = 20
)

// logFollower forwards the lines redis-server appends to its log file into
// the node's logger, level kept, and reads the lines of a failed start.
// The log is a file rather than a pipe so that it survives a twined restart
// (adopted nodes keep logging). Owned by the node's watcher goroutine.
type logFollower struct {
	path string
	log  hclog.Logger
	off  int64
}

func newLogFollower(path string, log hclog.Logger) *logFollower {
	return &logFollower{path: path, log: log}
}

// size returns the log's current size (0 if it does not exist).
func (f *logFollower) size() int64 {
	st, err := os.Stat(f.path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// skipToEnd forwards nothing of what the log held before twined started.
func (f *logFollower) skipToEnd() { f.off = f.size() }

// poll forwards the complete lines written since the last poll and rotates
// a log that grew past rotateAt.
func (f *logFollower) poll() {
	size := f.size()
	if size < f.off { // truncated or replaced
		f.off = 0
	}
	if size == f.off {
		return
	}
	b := readRange(f.path, f.off, size)
	last := bytes.LastIndexByte(b, '\n')
	if last < 0 {
		if len(b) < followChunk {
			return // a partial line: wait for its end
		}
		last = len(b) - 1
	}
	for _, line := range strings.Split(string(b[:last]), "\n") {
		procs.LogLine(f.log, line, false)
	}
	f.off += int64(last + 1)
	if f.off >= rotateAt && f.off == size {
		if err := os.Rename(f.path, f.path+".1"); err == nil {
			f.off = 0
		}
	}
}

// lines returns the log lines written since mark (at most followChunk
// bytes, the most recent).
func (f *logFollower) lines(mark int64) []string {
	size := f.size()
	if size < mark {
		mark = 0
	}
	b := strings.TrimRight(string(readRange(f.path, max(mark, size-followChunk), size)), "\n")
	if b == "" {
		return nil
	}
	return strings.Split(b, "\n")
}

// tail returns the last lines of the node's log since mark, or of the
// process's own output when the log has none (a config error is printed on
// stderr before the log file is opened).
func (f *logFollower) tail(mark int64, procTail []string) []string {
	l := f.lines(mark)
	if len(l) == 0 {
		l = procTail
	}
	if len(l) > tailLines {
		l = l[len(l)-tailLines:]
	}
	return l
}

// routineWarnings start the messages that redis-server logs at warning
// level on every start: its banner, its version, and system advisories
// ("WARNING Memory overcommit must be enabled!"). They never say why it
// stopped.
var routineWarnings = []string{
	"WARNING",
	"oO0OoO0OoO0Oo Redis is starting",
	"Redis version=",
	"Configuration loaded",
	"Server initialized",
}

func routineWarning(msg string) bool {
	for _, p := range routineWarnings {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// lastWarning picks the lines that best say why a start failed: the last
// two warnings redis logged since mark (leaving out the routine ones), else
// the end of the process's own output.
func (f *logFollower) lastWarning(mark int64, procTail []string) string {
	var warn []string
	for _, line := range f.lines(mark) {
		lvl, msg, ok := procs.ParseRedisLine(line)
		if ok && lvl == hclog.Warn && !routineWarning(msg) {
			warn = append(warn, msg)
		}
	}
	if len(warn) == 0 {
		warn = procTail
	}
	if len(warn) > 2 {
		warn = warn[len(warn)-2:]
	}
	return strings.Join(warn, "; ")
}

func readRange(path string, from, to int64) []byte {
	if to-from > followChunk {
		from = to - followChunk
	}
	if to <= from {
		return nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer fh.Close()
	b := make([]byte, to-from)
	n, _ := fh.ReadAt(b, from)
	if n < len(b) && n >= 0 {
		b = b[:n]
	}
	_ = io.EOF
	return b
}
