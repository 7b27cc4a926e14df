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
	return new(argParser).split(line)
}

// argParser splits lines as splitArgs does into buffers it reuses: the
// arguments of one line are valid until the next call.
type argParser struct {
	buf  []byte
	args [][]byte
}

// split is splitArgs into p's buffers.
func (p *argParser) split(line []byte) ([][]byte, error) {
	if cap(p.buf) < len(line) {
		p.buf = make([]byte, 0, max(len(line), 4096))
	}
	buf := p.buf[:0]
	args := p.args[:0]
	defer func() { p.args = args[:0] }()
	i, n := 0, len(line)
	for {
		for i < n && isSpace(line[i]) {
			i++
		}
		if i == n {
			return args, nil
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
