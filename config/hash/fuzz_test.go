package hash

import (
	"bytes"
	"math"
	"testing"
)

// tagReference is a direct reading of the Redis Cluster rule, to check Tag.
func tagReference(key []byte) []byte {
	for s := 0; s < len(key); s++ {
		if key[s] != '{' {
			continue
		}
		for e := s + 1; e < len(key); e++ {
			if key[e] == '}' {
				if e == s+1 {
					return key
				}
				return key[s+1 : e]
			}
		}
		return key
	}
	return key
}

func FuzzPartition(f *testing.F) {
	for _, k := range []string{"", "a", "123456789", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{", "}{"} {
		for _, n := range []int{1, 16, 64, 300, 0, -1, math.MaxInt, math.MinInt} {
			f.Add([]byte(k), n)
		}
	}
	funcs := make([]Func, 0, len(builtins))
	for _, name := range Names() {
		funcs = append(funcs, mustNew(f, name))
	}
	f.Fuzz(func(t *testing.T, key []byte, n int) {
		tag := Tag(key)
		if want := tagReference(key); !bytes.Equal(tag, want) {
			t.Fatalf("Tag(%q) = %q, want %q", key, tag, want)
		}
		for _, h := range funcs {
			p, err := h.Partition(key, n)
			if n < 1 {
				if err == nil {
					t.Fatalf("%s: Partition(%q, %d) = %d, want an error", h.Name(), key, n, p)
				}
				continue
			}
			if err != nil || p < 0 || p >= n {
				t.Fatalf("%s: Partition(%q, %d) = %d, %v; want in [0, %d)", h.Name(), key, n, p, err, n)
			}
			if q, _ := h.Partition(tag, n); q != p {
				t.Fatalf("%s: Partition(%q, %d) = %d but Partition of its tag %q = %d", h.Name(), key, n, p, tag, q)
			}
		}
	})
}
