package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

const maxNameLen = 64

// checkName validates a node name: it becomes a directory name, so letters,
// digits, '.', '_' and '-' only, starting with a letter or digit.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("node name is empty: write NAME=data ...")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("node name %q is longer than %d characters", truncate(name, maxNameLen), maxNameLen)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return fmt.Errorf("node name %q may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit", name)
		}
	}
	return nil
}

// validHost accepts an IP address or a DNS-style host name.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// IsLoopback reports whether host names this machine's loopback interface
// ("localhost", 127.0.0.0/8 or ::1).
func IsLoopback(host string) bool {
	if host == "localhost" || host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// socketHost is the key under which a listening host is compared with
// others: localhost, 127.0.0.1 and ::1 (and "", every interface, as far as
// loopback goes) are one machine's default loopback; any other address,
// 127.0.0.2 included, is its own. Hosts on 127.0.0.0/8 are distinct sockets
// on Linux, which is how several hosts of a cluster share one machine.
func socketHost(host string) string {
	host = strings.ToLower(host)
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	switch host {
	case "", "localhost", "127.0.0.1", "::1", "0.0.0.0", "::":
		return "loopback"
	}
	return host
}

func splitHTTPD(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	return host, p, err
}

// suggest returns " (did you mean X?)" for the candidate closest to s, or "".
func suggest(s string, candidates []string) string {
	best := Closest(s, candidates)
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// Closest returns the candidate closest to s within two edits (the first
// of equals), or "" when none is that close.
func Closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance, bounded to short inputs.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
