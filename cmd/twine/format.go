package main

import (
	"strconv"
	"strings"

	"github.com/twine/twine/config/route"
)

// appendTTY appends r as redis-cli prints it on a terminal: typed and
// quoted ("bar", (integer) 1, (nil), (error) ...), arrays numbered with
// nested arrays indented. prefix is the indentation of the lines after the
// first. The result ends with a newline.
func appendTTY(b []byte, r route.Reply, prefix string) []byte {
	switch r.Kind {
	case route.Error:
		b = append(b, "(error) "...)
		b = append(b, r.Str...)
	case route.Status, route.Verbatim:
		b = append(b, r.Str...)
	case route.Int:
		b = append(b, "(integer) "...)
		b = strconv.AppendInt(b, r.Int, 10)
	case route.Double:
		b = append(b, "(double) "...)
		b = append(b, r.Str...)
	case route.BigNum:
		b = append(b, "(big number) "...)
		b = append(b, r.Str...)
	case route.Bool:
		if r.Int != 0 {
			b = append(b, "(true)"...)
		} else {
			b = append(b, "(false)"...)
		}
	case route.Bulk:
		b = appendRepr(b, r.Str)
	case route.Nil:
		b = append(b, "(nil)"...)
	case route.Array, route.Set, route.Push, route.Map:
		return appendAggregate(b, r, prefix)
	}
	return append(b, '\n')
}

// appendAggregate appends an array, set, push or map for a terminal.
func appendAggregate(b []byte, r route.Reply, prefix string) []byte {
	n := len(r.Elems)
	if r.Kind == route.Map {
		n /= 2
	}
	if n == 0 {
		switch r.Kind {
		case route.Map:
			return append(b, "(empty hash)\n"...)
		case route.Set:
			return append(b, "(empty set)\n"...)
		case route.Push:
			return append(b, "(empty push)\n"...)
		}
		return append(b, "(empty array)\n"...)
	}
	width := len(strconv.Itoa(n))
	inner := prefix + strings.Repeat(" ", width+2)
	sep := byte(')')
	switch r.Kind {
	case route.Set:
		sep = '~'
	case route.Map:
		sep = '#'
	}
	for i := range n {
		if i > 0 {
			b = append(b, prefix...)
		}
		num := strconv.Itoa(i + 1)
		for range width - len(num) {
			b = append(b, ' ')
		}
		b = append(b, num...)
		b = append(b, sep, ' ')
		if r.Kind != route.Map {
			b = appendTTY(b, r.Elems[i], inner)
			continue
		}
		b = appendTTY(b, r.Elems[2*i], inner)
		b = b[:len(b)-1] // the value follows on the key's line
		b = append(b, " => "...)
		b = appendTTY(b, r.Elems[2*i+1], inner)
	}
	return b
}

// appendRepr appends s in double quotes, escaped as redis-cli does
// (sdscatrepr): \\ \" \n \r \t \a \b, other bytes outside printable
// ASCII as \xHH.
func appendRepr(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if c >= 0x20 && c < 0x7f {
				b = append(b, c)
			} else {
				b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			}
		}
	}
	return append(b, '"')
}

// appendRaw appends r as redis-cli --raw does: strings as they are,
// integers as digits, nil as nothing, the elements of an array one per
// line. It adds no final newline.
func appendRaw(b []byte, r route.Reply) []byte {
	switch r.Kind {
	case route.Status, route.Bulk, route.Verbatim, route.Double, route.BigNum:
		b = append(b, r.Str...)
	case route.Error:
		b = append(b, r.Str...)
		b = append(b, '\n')
	case route.Int:
		b = strconv.AppendInt(b, r.Int, 10)
	case route.Bool:
		if r.Int != 0 {
			b = append(b, "(true)"...)
		} else {
			b = append(b, "(false)"...)
		}
	case route.Array, route.Set, route.Push, route.Map:
		for i, e := range r.Elems {
			if i > 0 {
				b = append(b, '\n')
			}
			b = appendRaw(b, e)
		}
	}
	return b
}

// rawCommands are the commands whose reply is text meant for people, which
// redis-cli prints raw even on a terminal.
var rawCommands = map[string]bool{
	"info": true, "lolwut": true,
	"client list": true, "client info": true,
	"cluster nodes": true, "cluster info": true,
	"memory doctor": true, "memory malloc-stats": true,
	"latency doctor": true, "latency graph": true,
	"debug htstats": true, "debug htstats-key": true,
}

// alwaysRaw reports whether the command's reply is printed raw on a
// terminal too.
func alwaysRaw(args [][]byte) bool {
	if len(args) == 0 {
		return false
	}
	name := strings.ToLower(string(args[0]))
	if rawCommands[name] {
		return true
	}
	return len(args) > 1 && rawCommands[name+" "+strings.ToLower(string(args[1]))]
}

// formatReply returns r as twine prints it: typed (appendTTY) unless raw,
// with a final newline either way.
func formatReply(r route.Reply, raw bool) []byte {
	if raw {
		return append(appendRaw(nil, r), '\n')
	}
	return appendTTY(nil, r, "")
}
