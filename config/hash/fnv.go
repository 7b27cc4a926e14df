package hash

// FNV-1a parameters (http://www.isthe.com/chongo/tech/comp/fnv/). The loops
// are written out because hash/fnv's hashers escape to the heap.
const (
	fnvOffset32 = 2166136261
	fnvPrime32  = 16777619
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// fnv1a32 returns the 32-bit FNV-1a hash of p.
func fnv1a32(p []byte) uint32 {
	h := uint32(fnvOffset32)
	for _, b := range p {
		h ^= uint32(b)
		h *= fnvPrime32
	}
	return h
}

// fnv1a64 returns the 64-bit FNV-1a hash of p.
func fnv1a64(p []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, b := range p {
		h ^= uint64(b)
		h *= fnvPrime64
	}
	return h
}

func sumFNV1a32(p []byte) uint64 { return uint64(fnv1a32(p)) }

func sumFNV1a64(p []byte) uint64 { return fnv1a64(p) }
