package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Errors of a command that does not parse, for errors.Is; the
// *inputError that carries them says where and what.
var (
	// errBadRESP is a RESP command that breaks the protocol.
	errBadRESP = errors.New("bad RESP command")
	// errTruncatedRESP is a RESP command cut off by the end of the input.
	errTruncatedRESP = errors.New("truncated RESP command")
)

// maxBulk bounds one RESP argument, as Redis's proto-max-bulk-len does by
// default.
const maxBulk = 512 << 20

// maxArgs bounds the argument count of one RESP command, as Redis does.
const maxArgs = 1<<31 - 1

// inputReader reads the commands of -pipe and of stdin, in either of the
// two forms redis-cli --pipe takes, told apart per command so that they
// mix freely: a command whose first byte is '*' is a RESP array of bulk
// strings (*N CRLF, then $LEN CRLF DATA CRLF per argument: what the Redis
// mass-insertion docs generate); any other line is an inline command in
// redis-cli's quoting (argParser). Blank lines are skipped; header and
// inline lines may end in LF or CRLF.
//
// Both forms are parsed into one argParser's reused buffers: the
// arguments returned are valid until the next call.
type inputReader struct {
	in     *bufio.Reader
	ap     argParser
	long   []byte // a line longer than in's buffer
	held   []byte // a line read ahead and given back (it starts the next command)
	line   int64  // lines read so far
	offset int64  // bytes read so far
	eof    bool   // the stream has ended
}

// newInputReader returns an inputReader with a 1MB read buffer.
func newInputReader(r io.Reader) *inputReader { return newInputReaderSize(r, 1<<20) }

// newInputReaderSize returns an inputReader with a read buffer of size
// bytes (16 at least). Commands that do not fit in it are read piece by
// piece, as the rare command across the end of a buffer is.
func newInputReaderSize(r io.Reader, size int) *inputReader {
	return &inputReader{in: bufio.NewReaderSize(r, size)}
}

// inputError is a command of the input that does not parse. The reader
// has gone past it, so the next call reads the command after it.
type inputError struct {
	line   int64  // where the command starts
	offset int64  // the byte offset of its start, from 0
	resp   bool   // a RESP command, else an inline one
	err    error  // what is wrong: errBadRESP, errTruncatedRESP or a quoting error
	detail string // for RESP: which argument, what was expected
	// skipFrom to skipTo are the lines dropped after a broken RESP
	// command to find the next one; 0 when none were.
	skipFrom, skipTo int64
}

// Error says what is wrong; the caller names the line. An inline
// command's error is the quoting error alone.
func (e *inputError) Error() string {
	if !e.resp {
		return e.err.Error()
	}
	s := fmt.Sprintf("%v at byte offset %d: %s", e.err, e.offset, e.detail)
	switch {
	case e.skipTo > e.skipFrom:
		s += fmt.Sprintf("; lines %d to %d skipped", e.skipFrom, e.skipTo)
	case e.skipTo == e.skipFrom && e.skipTo > 0:
		s += fmt.Sprintf("; line %d skipped", e.skipTo)
	}
	return s
}

// Unwrap returns what is wrong.
func (e *inputError) Unwrap() error { return e.err }

// isInputError reports whether err is an *inputError: a command that
// does not parse, after which reading goes on.
func isInputError(err error) bool {
	var bad *inputError
	return errors.As(err, &bad)
}

// next returns the next command and the number of the line it starts on
// (from 1). It returns io.EOF at the end of the input, an *inputError for a
// command that does not parse (the one after it is read next), and any
// other error when the stream fails.
func (r *inputReader) next() (args [][]byte, line int64, err error) {
	for {
		start := r.offset
		var b []byte
		if r.held == nil && !r.eof {
			// The common case, inline: readLine's work without its call.
			b, err = r.in.ReadSlice('\n')
			if err == nil {
				r.line++
				r.offset += int64(len(b))
			} else {
				b, err = r.readRest(b, err)
			}
		} else {
			b, err = r.readLine()
		}
		if err != nil {
			return nil, r.line, err
		}
		line := r.line
		if len(b) > 0 && b[0] == '*' {
			args, err := r.resp(b, line, start)
			if err != nil || len(args) > 0 {
				return args, line, err
			}
			continue // *0: an empty command, skipped as Redis does
		}
		args, err := r.ap.split(b)
		switch {
		case err != nil:
			return nil, line, &inputError{line: line, offset: start, err: err}
		case len(args) > 0:
			return args, line, nil
		}
	}
}

// readLine returns the next line with its LF, or the last one without
// it; io.EOF once there is nothing left. The line is valid until the next
// read.
func (r *inputReader) readLine() ([]byte, error) {
	if r.held != nil {
		b := r.held
		r.held = nil
		r.line++
		r.offset += int64(len(b))
		return b, nil
	}
	if r.eof {
		return nil, io.EOF
	}
	return r.readRest(r.in.ReadSlice('\n'))
}

// readRest is readLine after ReadSlice returned b and err: the rest of a
// line longer than the buffer, or the end of the input.
func (r *inputReader) readRest(b []byte, err error) ([]byte, error) {
	for errors.Is(err, bufio.ErrBufferFull) {
		r.long = append(r.long, b...)
		b, err = r.in.ReadSlice('\n')
	}
	if r.long != nil {
		b = append(r.long, b...)
		r.long = nil
	}
	switch {
	case err == io.EOF:
		r.eof = true
		if len(b) == 0 {
			return nil, io.EOF
		}
	case err != nil:
		return nil, err
	}
	r.line++
	r.offset += int64(len(b))
	return b, nil
}

// hold gives line b back: the next readLine returns it again.
func (r *inputReader) hold(b []byte) {
	r.held = append(r.held[:0:0], b...)
	r.line--
	r.offset -= int64(len(b))
}

// resp reads the rest of the RESP command whose header line is head.
// It returns no arguments for an empty command (*0 or *-1).
func (r *inputReader) resp(head []byte, line, start int64) ([][]byte, error) {
	fail := func(err error, format string, a ...any) *inputError {
		return &inputError{line: line, offset: start, resp: true, err: err, detail: fmt.Sprintf(format, a...)}
	}
	n, ok := parseCount(head[1:])
	if !ok || n < -1 || n > maxArgs {
		return nil, r.skip(fail(errBadRESP, "header %q: want *<count>", trimEOL(head)), true)
	}
	if args, ok := r.respBuffered(n); ok {
		return args, nil
	}
	buf, args := r.ap.buf[:0], r.ap.args[:0]
	defer func() { r.ap.buf, r.ap.args = buf[:0], args[:0] }()
	for i := int64(1); i <= n; i++ {
		h, err := r.readLine()
		switch {
		case err == io.EOF:
			return nil, fail(errTruncatedRESP, "the input ends before argument %d of %d", i, n)
		case err != nil:
			return nil, err
		case len(h) > 0 && h[0] == '*':
			// The count was too high: this line starts the next command.
			r.hold(h)
			return nil, fail(errBadRESP, "argument %d of %d: want $<length>, got the next command's header %q", i, n, trimEOL(h))
		}
		size, ok := parseCount(h[min(1, len(h)):])
		switch {
		case len(h) == 0 || h[0] != '$' || !ok || size < 0:
			return nil, r.skip(fail(errBadRESP, "argument %d of %d: want $<length>, got %q", i, n, trimEOL(h)), true)
		case size > maxBulk:
			return nil, r.skip(fail(errBadRESP, "argument %d of %d: length %d is over the limit of %d", i, n, size, maxBulk), true)
		}
		at := len(buf)
		buf, err = r.readN(buf, int(size))
		got := len(buf) - at
		r.offset += int64(got)
		r.line += int64(bytes.Count(buf[at:], newline))
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			r.eof = true
			return nil, fail(errTruncatedRESP, "the input ends in argument %d of %d (%d of its %d bytes)", i, n, got, size)
		case err != nil:
			return nil, err
		}
		switch ok, err := r.crlf(); {
		case err != nil:
			return nil, err
		case !ok && r.eof:
			return nil, fail(errTruncatedRESP, "the input ends after the %d bytes of argument %d of %d, before their CRLF", size, i, n)
		case !ok:
			return nil, r.skip(fail(errBadRESP, "argument %d of %d: its %d bytes are not followed by CRLF", i, n, size), false)
		}
		args = append(args, buf[at:len(buf):len(buf)])
	}
	return args, nil
}

// readN appends the next size bytes of the input to buf, or as many as
// there are before an error. buf grows with what comes, not by size at
// once: a length that the input does not live up to costs no more memory
// than the input.
func (r *inputReader) readN(buf []byte, size int) ([]byte, error) {
	end := len(buf) + size
	for len(buf) < end {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(end-len(buf), max(len(buf), 64<<10)))
		}
		k, err := r.in.Read(buf[len(buf):min(cap(buf), end)])
		buf = buf[:len(buf)+k]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}

// respBuffered parses the n arguments of a RESP command from the bytes
// the reader holds already, when they hold the whole command (nearly
// always): one pass, no call per line. It reports false, having consumed
// nothing, when the command goes on past them or breaks the protocol;
// then resp reads it line by line, and says what is wrong.
func (r *inputReader) respBuffered(n int64) ([][]byte, bool) {
	view, _ := r.in.Peek(r.in.Buffered())
	buf, args := r.ap.buf[:0], r.ap.args[:0]
	at, lines := 0, int64(0)
	for range n {
		if at >= len(view) || view[at] != '$' {
			return nil, false
		}
		i, size := at+1, 0
		for i < len(view) && '0' <= view[i] && view[i] <= '9' && i-at <= 10 {
			size = size*10 + int(view[i]-'0')
			i++
		}
		if i == at+1 || size > maxBulk {
			return nil, false
		}
		if i < len(view) && view[i] == '\r' {
			i++
		}
		if i >= len(view) || view[i] != '\n' {
			return nil, false
		}
		data := i + 1
		end := data + size
		if end >= len(view) {
			return nil, false
		}
		if view[end] == '\r' {
			end++
		}
		if end >= len(view) || view[end] != '\n' {
			return nil, false
		}
		start := len(buf)
		buf = append(buf, view[data:data+size]...)
		args = append(args, buf[start:len(buf):len(buf)])
		lines += 2 + int64(bytes.Count(view[data:data+size], newline))
		at = end + 1
	}
	r.in.Discard(at)
	r.offset += int64(at)
	r.line += lines
	r.ap.buf, r.ap.args = buf[:0], args[:0]
	return args, true
}

// crlf reads the end of a bulk string: CRLF, or LF alone. It reports
// false when something else follows (then the reader is inside a line)
// or when the input ends first (then eof is set).
func (r *inputReader) crlf() (bool, error) {
	c, err := r.in.ReadByte()
	if err == nil && c == '\r' {
		r.offset++
		c, err = r.in.ReadByte()
	}
	switch {
	case err == io.EOF:
		r.eof = true
		return false, nil
	case err != nil:
		return false, err
	}
	r.offset++
	if c != '\n' {
		return false, nil
	}
	r.line++
	return true, nil
}

// skip drops the input after a broken RESP command up to the next line
// that starts with '*' (the next RESP command, read next), records the
// lines dropped in ie and returns it. atStart tells whether the
// reader is at the start of a line; if not, the rest of the line goes
// first. Inline commands in the dropped lines are lost with it: once a
// RESP command's framing is broken, its data cannot be told from
// commands, and is never run as one.
func (r *inputReader) skip(ie *inputError, atStart bool) error {
	from := r.line + 1 // mid-line, the rest of this line is dropped first
	if !atStart {
		if _, rerr := r.readLine(); rerr != nil && rerr != io.EOF {
			return rerr
		}
	}
	for {
		b, rerr := r.readLine()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
		if b[0] == '*' {
			r.hold(b)
			break
		}
	}
	if r.line >= from {
		ie.skipFrom, ie.skipTo = from, r.line
	}
	return ie
}

// newline is LF, for bytes.Count.
var newline = []byte{'\n'}

// parseCount parses the decimal number of a RESP header (after its '*' or
// '$'), up to its line end: digits, maybe after a '-', 18 at most.
func parseCount(b []byte) (int64, bool) {
	b = trimEOL(b)
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// trimEOL returns b without its final LF or CRLF.
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, newline)
	return bytes.TrimSuffix(b, []byte{'\r'})
}
