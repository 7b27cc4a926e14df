package procs

import (
	"bufio"
	"io"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

const (
	maxLineBytes = 64 * 1024 // longer lines are cut to this length
	lineBufBytes = 4 * 1024  // the reader's buffer; longer lines are gathered
	tailLines    = 50        // lines kept for Tail
)

// readStream logs every line of one output stream of a child and keeps it
// for Tail, until end of file or until the pipe is closed by Close. It
// closes r when done.
func (p *Process) readStream(r io.ReadCloser, stderr bool, wg *sync.WaitGroup) {
	defer wg.Done()
	defer r.Close()
	readLines(r, func(line string, cut bool) {
		p.tail.add(line)
		level, msg := lineLevel(line, stderr)
		if cut {
			p.logger.Log(level, msg, "truncated", true)
			return
		}
		p.logger.Log(level, msg)
	})
}

// lineLevel returns the level and message to log a line of output at: a
// redis-server log line at its own level without its prefix, any other
// line at Error from stderr and at Info from stdout.
func lineLevel(line string, stderr bool) (hclog.Level, string) {
	if level, msg, ok := parseRedisLine(line); ok {
		return level, msg
	}
	if stderr {
		return hclog.Error, line
	}
	return hclog.Info, line
}

// readLines calls fn for each line of r, without its line ending. A line
// longer than maxLineBytes is passed cut, with cut set, and the rest of it
// is skipped. A last line without a newline is passed too. readLines never
// holds more than maxLineBytes of a line in memory, and only a small
// buffer while lines are short (a host runs hundreds of these readers).
func readLines(r io.Reader, fn func(line string, cut bool)) {
	br := bufio.NewReaderSize(r, lineBufBytes)
	var long []byte // a line longer than the buffer, being gathered
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(b) >= maxLineBytes {
				long = append(long, b[:maxLineBytes-len(long)]...)
				fn(string(long), true)
				long = long[:0]
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice('\n')
				}
				if err != nil {
					return
				}
				continue
			}
			long = append(long, b...)
			continue
		}
		if len(long) > 0 {
			b = append(long, b...)
			long = long[:0]
		}
		if len(b) > 0 {
			line := strings.TrimSuffix(string(b), "\n")
			fn(strings.TrimSuffix(line, "\r"), false)
		}
		if err != nil {
			return
		}
	}
}

// parseRedisLine recognises a redis-server log line,
//
//	12345:M 25 Nov 2026 11:29:00.123 # message
//
// and returns the level given by the character after the timestamp
// ('.' and '-' Debug, '*' Info, '#' Warn) and the message without the
// pid:role and time prefix. Lines logged from redis's signal handler,
//
//	12345:signal-handler (1795606863) Received SIGTERM scheduling shutdown...
//
// are warnings. ok is false for any other line.
func parseRedisLine(line string) (level hclog.Level, msg string, ok bool) {
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i == 0 || i == len(line) || line[i] != ':' {
		return hclog.NoLevel, "", false
	}
	if rest, found := strings.CutPrefix(line[i+1:], "signal-handler ("); found {
		if _, msg, found := strings.Cut(rest, ") "); found {
			return hclog.Warn, msg, true
		}
		return hclog.NoLevel, "", false
	}
	// pid, ':', role, ' '
	if len(line) < i+3 || line[i+2] != ' ' {
		return hclog.NoLevel, "", false
	}
	rest := line[i+3:]
	// day, month, year, time: four fields, the last like 11:29:00.123
	var field string
	for range 4 {
		j := strings.IndexByte(rest, ' ')
		if j <= 0 {
			return hclog.NoLevel, "", false
		}
		field, rest = rest[:j], rest[j+1:]
	}
	if strings.Count(field, ":") != 2 || !strings.Contains(field, ".") || rest == "" {
		return hclog.NoLevel, "", false
	}
	switch rest[0] {
	case '.', '-':
		level = hclog.Debug
	case '*':
		level = hclog.Info
	case '#':
		level = hclog.Warn
	default:
		return hclog.NoLevel, "", false
	}
	if len(rest) > 1 && rest[1] != ' ' {
		return hclog.NoLevel, "", false
	}
	return level, strings.TrimPrefix(rest[1:], " "), true
}

// tail is a ring of the last lines of output, safe for concurrent use.
type tail struct {
	mu   sync.Mutex
	buf  []string
	next int
	full bool
}

func newTail(n int) *tail { return &tail{buf: make([]string, n)} }

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf[t.next] = line
	t.next++
	if t.next == len(t.buf) {
		t.next, t.full = 0, true
	}
}

// lines returns a copy, oldest first.
func (t *tail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.full {
		return append([]string(nil), t.buf[:t.next]...)
	}
	out := make([]string, 0, len(t.buf))
	out = append(out, t.buf[t.next:]...)
	return append(out, t.buf[:t.next]...)
}
