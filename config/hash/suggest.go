package hash

import "strings"

// suggest returns the known spec word (a built-in name or "exec") closest to
// name, or "" when none is close enough to be a plausible typo.
func suggest(name string) string {
	name = strings.ToLower(name)
	if name == "" {
		return ""
	}
	candidates := append(Names(), execName)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := distance(name, c)
		if d > max(1, len(c)/2) && !strings.HasPrefix(c, name) {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// distance returns the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
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
