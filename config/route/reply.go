package route

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Kind is the RESP type of a Reply.
type Kind uint8

// The reply kinds. RESP2 (which a Router speaks) produces Status, Error,
// Int, Bulk, Nil and Array; the rest are RESP3 types, parsed for
// completeness.
const (
	Nil      Kind = iota // null bulk string or null array
	Status               // simple string, e.g. OK
	Error                // error reply; Str holds the message
	Int                  // integer; Int holds it
	Bulk                 // bulk string; Str holds it
	Array                // array; Elems holds the elements
	Double               // RESP3 double; Str holds its text
	Bool                 // RESP3 boolean; Int is 1 or 0
	BigNum               // RESP3 big number; Str holds its digits
	Verbatim             // RESP3 verbatim string; Str holds the text without its format
	Map                  // RESP3 map; Elems holds key, value, key, value...
	Set                  // RESP3 set; Elems holds the members
	Push                 // RESP3 push; Elems holds the elements
)

var kindNames = [...]string{"nil", "status", "error", "integer", "bulk", "array",
	"double", "boolean", "big number", "verbatim", "map", "set", "push"}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Reply is one Redis reply. Which fields are set depends on Kind (see the
// Kind constants). A Reply read by ParseReply does not alias its input.
type Reply struct {
	Kind  Kind
	Str   []byte
	Int   int64
	Elems []Reply
}

// IsError reports whether r is an error reply.
func (r Reply) IsError() bool { return r.Kind == Error }

// String returns a short description of r for logs and test failures.
func (r Reply) String() string {
	switch r.Kind {
	case Nil:
		return "(nil)"
	case Int, Bool:
		return fmt.Sprintf("%s %d", r.Kind, r.Int)
	case Array, Map, Set, Push:
		return fmt.Sprintf("%s of %d", r.Kind, len(r.Elems))
	}
	return fmt.Sprintf("%s %q", r.Kind, r.Str)
}

// Reply constructors, for merged answers and tests.

// StatusReply returns a status reply holding s.
func StatusReply(s string) Reply { return Reply{Kind: Status, Str: []byte(s)} }

// ErrorReply returns an error reply holding msg.
func ErrorReply(msg string) Reply { return Reply{Kind: Error, Str: []byte(msg)} }

// IntReply returns an integer reply.
func IntReply(n int64) Reply { return Reply{Kind: Int, Int: n} }

// BulkReply returns a bulk string reply holding s.
func BulkReply(s string) Reply { return Reply{Kind: Bulk, Str: []byte(s)} }

// ArrayReply returns an array reply of elems.
func ArrayReply(elems ...Reply) Reply { return Reply{Kind: Array, Elems: elems} }

// ErrProtocol is wrapped by the error ParseReply returns for bytes that are
// not one complete RESP reply.
var ErrProtocol = errors.New("bad RESP reply")

// maxDepth bounds the nesting ParseReply accepts.
const maxDepth = 512

// ParseReply reads the one RESP2 or RESP3 reply that raw holds (as
// go-redis's DoRaw returns it). Trailing bytes are an error. An attribute
// (RESP3 '|') before a reply is skipped.
func ParseReply(raw []byte) (Reply, error) {
	r, rest, err := parseReply(raw, 0)
	if err != nil {
		return Reply{}, err
	}
	if len(rest) != 0 {
		return Reply{}, fmt.Errorf("%w: %d bytes after the reply", ErrProtocol, len(rest))
	}
	return r, nil
}

func parseReply(b []byte, depth int) (Reply, []byte, error) {
	if depth > maxDepth {
		return Reply{}, nil, fmt.Errorf("%w: nested deeper than %d", ErrProtocol, maxDepth)
	}
	line, rest, err := readLine(b)
	if err != nil {
		return Reply{}, nil, err
	}
	if len(line) == 0 {
		return Reply{}, nil, fmt.Errorf("%w: empty line", ErrProtocol)
	}
	typ, text := line[0], line[1:]
	switch typ {
	case '+':
		return Reply{Kind: Status, Str: clone(text)}, rest, nil
	case '-':
		return Reply{Kind: Error, Str: clone(text)}, rest, nil
	case ':':
		n, err := strconv.ParseInt(string(text), 10, 64)
		if err != nil {
			return Reply{}, nil, fmt.Errorf("%w: integer %q", ErrProtocol, text)
		}
		return Reply{Kind: Int, Int: n}, rest, nil
	case '_':
		return Reply{Kind: Nil}, rest, nil
	case ',':
		return Reply{Kind: Double, Str: clone(text)}, rest, nil
	case '(':
		return Reply{Kind: BigNum, Str: clone(text)}, rest, nil
	case '#':
		switch string(text) {
		case "t":
			return Reply{Kind: Bool, Int: 1}, rest, nil
		case "f":
			return Reply{Kind: Bool, Int: 0}, rest, nil
		}
		return Reply{}, nil, fmt.Errorf("%w: boolean %q", ErrProtocol, text)
	case '$', '=', '!':
		n, err := length(text)
		if err != nil {
			return Reply{}, nil, err
		}
		if n < 0 {
			return Reply{Kind: Nil}, rest, nil
		}
		if len(rest) < n+2 || rest[n] != '\r' || rest[n+1] != '\n' {
			return Reply{}, nil, fmt.Errorf("%w: bulk string of %d bytes cut short", ErrProtocol, n)
		}
		s := clone(rest[:n])
		rest = rest[n+2:]
		switch typ {
		case '!':
			return Reply{Kind: Error, Str: s}, rest, nil
		case '=':
			if len(s) >= 4 && s[3] == ':' {
				s = s[4:]
			}
			return Reply{Kind: Verbatim, Str: s}, rest, nil
		}
		return Reply{Kind: Bulk, Str: s}, rest, nil
	case '*', '~', '>', '%', '|':
		n, err := length(text)
		if err != nil {
			return Reply{}, nil, err
		}
		if n < 0 {
			return Reply{Kind: Nil}, rest, nil
		}
		count := n
		if typ == '%' || typ == '|' {
			count = 2 * n
		}
		if count > len(rest) {
			// Every element takes at least 3 bytes: a cheap bound that
			// stops a corrupt length from allocating.
			return Reply{}, nil, fmt.Errorf("%w: %d elements cut short", ErrProtocol, count)
		}
		elems := make([]Reply, count)
		for i := range elems {
			if elems[i], rest, err = parseReply(rest, depth+1); err != nil {
				return Reply{}, nil, err
			}
		}
		switch typ {
		case '|':
			return parseReply(rest, depth) // attributes describe the next reply
		case '%':
			return Reply{Kind: Map, Elems: elems}, rest, nil
		case '~':
			return Reply{Kind: Set, Elems: elems}, rest, nil
		case '>':
			return Reply{Kind: Push, Elems: elems}, rest, nil
		}
		return Reply{Kind: Array, Elems: elems}, rest, nil
	}
	return Reply{}, nil, fmt.Errorf("%w: unknown type byte %q", ErrProtocol, typ)
}

// readLine splits b after its first CRLF.
func readLine(b []byte) (line, rest []byte, err error) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return nil, nil, fmt.Errorf("%w: line without CRLF", ErrProtocol)
	}
	return b[:i], b[i+2:], nil
}

// length parses the length of a bulk string or aggregate; -1 means null.
func length(text []byte) (int, error) {
	n, err := strconv.Atoi(string(text))
	if err != nil || n < -1 {
		return 0, fmt.Errorf("%w: length %q", ErrProtocol, text)
	}
	return n, nil
}

func clone(b []byte) []byte {
	return append([]byte(nil), b...)
}
