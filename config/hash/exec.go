package hash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors of the "exec PATH" function, for errors.Is. The error text names
// the program and the key; these sentinels only classify it.
var (
	// ErrExecTimeout means the program did not exit within its timeout
	// (2s); it and its process group were killed.
	ErrExecTimeout = errors.New("hash program timed out")
	// ErrExecOutput means the program exited successfully but its answer
	// was not one decimal integer in [0, n).
	ErrExecOutput = errors.New("bad answer from hash program")
	// ErrKey means the key (after Tag) cannot be passed to the program as
	// an argument: it contains a NUL byte or is longer than the kernel
	// allows for one argument. The program is not run.
	ErrKey = errors.New("key cannot be passed to hash program")
)

const (
	// execTimeout bounds one run of the hash program.
	execTimeout = 2 * time.Second
	// execWaitDelay bounds the wait for the program's output pipes to close
	// after it was killed or exited, in case something it started outlived
	// the process group kill.
	execWaitDelay = 500 * time.Millisecond
	// maxArgLen is the longest single argument Linux passes to a program
	// (MAX_ARG_STRLEN, 32 pages, counting the terminating NUL).
	maxArgLen = 32*4096 - 1
	// maxOutput caps what is kept of the program's stdout and of its
	// stderr; an answer is a few bytes, only stderr's first line is shown.
	maxOutput = 4096
	// maxShown caps the bytes of an answer or stderr line quoted in errors.
	maxShown = 200
)

// execFunc runs an external program for each key, as the original
// twine-hash: PATH KEY MODULUS, answering the partition on stdout.
// Its fields are set by newExec and never change.
type execFunc struct {
	path    string        // as configured; reported by Name and in errors
	argv0   string        // path, made explicitly relative when it has no separator
	timeout time.Duration // bound on one run; tests shorten it
}

// newExec checks that path names an executable regular file and returns the
// function that runs it.
func newExec(path string) (*execFunc, error) {
	if path == "" {
		return nil, fmt.Errorf("hash function %s needs a program: %s PATH", execName, execName)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("hash program %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("hash program %s: not a regular file", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("hash program %s: not executable (mode %v)", path, fi.Mode().Perm())
	}
	argv0 := path
	if !strings.ContainsRune(path, os.PathSeparator) && !strings.ContainsRune(path, '/') {
		// Without a separator os/exec would search $PATH instead.
		argv0 = "." + string(os.PathSeparator) + path
	}
	return &execFunc{path: path, argv0: argv0, timeout: execTimeout}, nil
}

// Name returns "exec PATH".
func (f *execFunc) Name() string { return execName + " " + f.path }

// Partition runs the program with Tag(key) and n as its two arguments and
// returns the decimal integer it prints on stdout (surrounding white space
// is ignored). The program runs with the caller's environment and working
// directory and an empty stdin. Errors start with "hash program PATH: ";
// they wrap ErrKey, ErrExecTimeout or ErrExecOutput when those apply, and
// *exec.ExitError when the program exited with a failure. Safe for
// concurrent use: each call runs its own process.
func (f *execFunc) Partition(key []byte, n int) (int, error) {
	if err := checkPartitions(n); err != nil {
		return 0, err
	}
	k := Tag(key)
	if bytes.IndexByte(k, 0) >= 0 {
		return 0, f.errorf(ErrKey, "key %s contains a NUL byte", shown(k))
	}
	if len(k) > maxArgLen {
		return 0, f.errorf(ErrKey, "key of %d bytes is longer than %d", len(k), maxArgLen)
	}

	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.argv0, string(k), strconv.Itoa(n))
	var stdout, stderr capWriter
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = execWaitDelay
	killGroupOnCancel(cmd)

	err := cmd.Run()
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return 0, f.errorf(ErrExecTimeout, "timed out after %v for key %s", f.timeout, shown(k))
	}
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return 0, fmt.Errorf("hash program %s: %w", f.path, err)
		}
		what := "ended by " + exit.ProcessState.String()
		if code := exit.ExitCode(); code >= 0 {
			what = fmt.Sprintf("exited with status %d", code)
		}
		msg := fmt.Sprintf("%s for key %s", what, shown(k))
		if line := firstLine(stderr.buf.Bytes()); line != "" {
			msg += ": " + line
		}
		return 0, f.errorf(exit, "%s", msg)
	}
	return f.parse(stdout.buf.Bytes(), stdout.truncated, k, n)
}

// parse reads the partition from out, what the program printed for key among
// n partitions; truncated says that out was cut at maxOutput.
func (f *execFunc) parse(out []byte, truncated bool, key []byte, n int) (int, error) {
	answer := bytes.TrimSpace(out)
	if truncated {
		return 0, f.errorf(ErrExecOutput, "answered more than %d bytes for key %s", maxOutput, shown(key))
	}
	if len(answer) == 0 {
		return 0, f.errorf(ErrExecOutput, "answered nothing for key %s", shown(key))
	}
	p, err := strconv.Atoi(string(answer))
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, f.errorf(ErrExecOutput, "answered %s for key %s: not a number", shown(answer), shown(key))
	}
	if err != nil || p < 0 || p >= n {
		return 0, f.errorf(ErrExecOutput, "answered %s for key %s, outside 0..%d", truncate(string(answer)), shown(key), n-1)
	}
	return p, nil
}

// errorf returns an error reading "hash program PATH: " and the formatted
// text, that wraps kind.
func (f *execFunc) errorf(kind error, format string, args ...any) error {
	return &execError{
		msg:  "hash program " + f.path + ": " + fmt.Sprintf(format, args...),
		kind: kind,
	}
}

// execError is an error of the hash program whose text is independent of the
// error it wraps.
type execError struct {
	msg  string
	kind error
}

func (e *execError) Error() string { return e.msg }
func (e *execError) Unwrap() error { return e.kind }

// capWriter keeps the first maxOutput bytes written to it and discards the
// rest, so a chatty program cannot exhaust memory. It never fails, so the
// program is never stopped by a broken pipe.
type capWriter struct {
	buf       bytes.Buffer
	truncated bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	room := maxOutput - w.buf.Len()
	if len(p) > room {
		w.truncated = true
		w.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	w.buf.Write(p)
	return len(p), nil
}

// firstLine returns the first non-blank line of p, trimmed and made safe to
// show in one line of a log.
func firstLine(p []byte) string {
	for line := range bytes.Lines(p) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		s := strings.Map(func(r rune) rune {
			if r == utf8.RuneError || !unicode.IsPrint(r) {
				return '?'
			}
			return r
		}, string(line))
		return truncate(s)
	}
	return ""
}

// shown quotes p for an error message, cut to a readable length.
func shown(p []byte) string {
	if len(p) > maxShown {
		return strconv.Quote(string(p[:maxShown])) + "..."
	}
	return strconv.Quote(string(p))
}

func truncate(s string) string {
	if len(s) <= maxShown {
		return s
	}
	i := maxShown
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}
