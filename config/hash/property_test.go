package hash

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// randomKey returns a key of minLen to 40 arbitrary bytes.
func randomKey(r *rand.Rand, minLen int) []byte {
	k := make([]byte, minLen+r.IntN(41-minLen))
	for i := range k {
		k[i] = byte(r.Uint32())
	}
	return k
}

func TestPartitionInRange(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([][]byte, 100)
	for i := range keys {
		keys[i] = randomKey(r, 0)
	}
	for _, name := range Names() {
		f := mustNew(t, name)
		for n := 1; n <= 300; n++ {
			for _, k := range keys {
				p, err := f.Partition(k, n)
				if err != nil || p < 0 || p >= n {
					t.Fatalf("%s: Partition(%q, %d) = %d, %v; want in [0, %d)", name, k, n, p, err, n)
				}
			}
		}
	}
}

// TestDistribution checks that n=64 partitions each get within 25% of their
// share of 100,000 keys, both random keys (long enough to be distinct) and
// the sequential ones applications tend to use.
func TestDistribution(t *testing.T) {
	const n, count = 64, 100_000
	r := rand.New(rand.NewPCG(3, 4))
	sets := map[string][][]byte{"random": nil, "sequential": nil}
	for i := range count {
		sets["random"] = append(sets["random"], randomKey(r, 8))
		sets["sequential"] = append(sets["sequential"], []byte("user:"+strconv.Itoa(i)))
	}
	mean := float64(count) / n
	for _, name := range Names() {
		f := mustNew(t, name)
		for set, keys := range sets {
			var buckets [n]int
			for _, k := range keys {
				p, err := f.Partition(k, n)
				if err != nil {
					t.Fatal(err)
				}
				buckets[p]++
			}
			t.Logf("%s, %s keys: fullest %d, emptiest %d, mean %.0f", name, set, slices.Max(buckets[:]), slices.Min(buckets[:]), mean)
			for p, c := range buckets {
				if float64(c) < 0.75*mean || float64(c) > 1.25*mean {
					t.Errorf("%s, %s keys: partition %d got %d keys, want %.0f ± 25%%", name, set, p, c, mean)
				}
			}
		}
	}
}
