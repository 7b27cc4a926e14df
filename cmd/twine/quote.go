package main

import "errors"

// Errors of splitArgs.
var (
	errUnbalanced = errors.New("unbalanced quotes")
	errAfterQuote = errors.New("closing quote must be followed by a space or the end of the line")
)

// splitArgs splits one line of -pipe input into arguments with redis-cli's
// rules (sdssplitargs): arguments are separated by spaces, tabs, CR or LF;
// "double quotes" take the escapes \n \r \t \b \a \xHH and \ before any
// other character; 'single quotes' take \' only; quoting may start inside
// an argument (a"b c" is one argument, ab c) and a closing quote must be
// followed by a separator or the end. A blank line has no arguments.
//
// The arguments share one new buffer; they do not alias line.
func splitArgs(line []byte) ([][]byte, error) {
	return new(arena).splitArgs(line)
}

// arena hands out the memory of parsed arguments from large chunks, so
// that parsing a line does not allocate. What it returned stays valid
// (and is never reused): a chunk is freed by the garbage collector once no
// argument in it is referenced.
type arena struct {
	buf     []byte   // the rest of the current byte chunk
	hdr     [][]byte // the rest of the current header chunk
	scratch [][]byte // the arguments of the line being parsed
}

// arenaChunk is the size of a chunk of argument bytes.
const arenaChunk = 64 << 10

// bytes returns an empty slice with room for n bytes.
func (a *arena) bytes(n int) []byte {
	if cap(a.buf) < n {
		a.buf = make([]byte, 0, max(arenaChunk, n))
	}
	return a.buf[:0:n]
}

// take marks the first n bytes of the last bytes() as used.
func (a *arena) take(n int) { a.buf = a.buf[n:n:cap(a.buf)] }

// headers returns a copy of args in arena memory.
func (a *arena) headers(args [][]byte) [][]byte {
	if len(args) == 0 {
		return nil
	}
	if cap(a.hdr) < len(args) {
		a.hdr = make([][]byte, max(arenaChunk/64, len(args)))
	}
	h := a.hdr[:len(args):len(args)]
	copy(h, args)
	a.hdr = a.hdr[len(args):cap(a.hdr)]
	return h
}

// splitArgs is splitArgs with the arguments' memory from a.
func (a *arena) splitArgs(line []byte) ([][]byte, error) {
	buf := a.bytes(len(line))
	args := a.scratch[:0]
	defer func() { a.scratch = args[:0] }()
	i, n := 0, len(line)
	for {
		for i < n && isSpace(line[i]) {
			i++
		}
		if i == n {
			a.take(len(buf))
			return a.headers(args), nil
		}
		start := len(buf)
		inDouble, inSingle := false, false
	token:
		for {
			switch {
			case inDouble:
				switch {
				case i == n:
					return nil, errUnbalanced
				case line[i] == '\\' && i+3 < n && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					buf = append(buf, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 4
				case line[i] == '\\' && i+1 < n:
					buf = append(buf, unescape(line[i+1]))
					i += 2
				case line[i] == '"':
					i++
					if i < n && !isSpace(line[i]) {
						return nil, errAfterQuote
					}
					break token
				default:
					buf = append(buf, line[i])
					i++
				}
			case inSingle:
				switch {
				case i == n:
					return nil, errUnbalanced
				case line[i] == '\\' && i+1 < n && line[i+1] == '\'':
					buf = append(buf, '\'')
					i += 2
				case line[i] == '\'':
					i++
					if i < n && !isSpace(line[i]) {
						return nil, errAfterQuote
					}
					break token
				default:
					buf = append(buf, line[i])
					i++
				}
			default:
				if i == n {
					break token
				}
				switch c := line[i]; c {
				case ' ', '\n', '\r', '\t':
					break token
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					buf = append(buf, c)
				}
				i++
			}
		}
		args = append(args, buf[start:len(buf):len(buf)])
	}
}

// unescape returns the byte that \c stands for in double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
