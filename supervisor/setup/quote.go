package setup

import "strings"

// quote returns s as one redis.conf argument: bare when it is plain, else
// in double quotes with redis's escapes.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n\"'\\#") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func quoteIf(s string) string {
	if s == "" {
		return ""
	}
	return quote(s)
}
