package hash

import (
	"crypto/md5"
	"encoding/binary"
	"hash/crc32"
)

// builtin is a hash function computed in process. Its Partition does not
// allocate.
type builtin struct {
	name string
	sum  func([]byte) uint64
}

// builtins are the built-in functions in the order Names reports them.
var builtins = [...]builtin{
	{"crc32", sumCRC32},
	{"crc16", sumCRC16},
	{"fnv1a-32", sumFNV1a32},
	{"fnv1a-64", sumFNV1a64},
	{"md5", sumMD5},
}

// Partition returns the unsigned hash of Tag(key) modulo n.
func (b *builtin) Partition(key []byte, n int) (int, error) {
	if err := checkPartitions(n); err != nil {
		return 0, err
	}
	return int(b.sum(Tag(key)) % uint64(n)), nil
}

// Name returns the name that selects b.
func (b *builtin) Name() string { return b.name }

// sumCRC32 is CRC-32 with the IEEE polynomial.
func sumCRC32(p []byte) uint64 { return uint64(crc32.ChecksumIEEE(p)) }

// sumMD5 is the first 4 bytes of the MD5 digest read as a little-endian
// integer, as twemproxy's "md5" hash.
func sumMD5(p []byte) uint64 {
	d := md5.Sum(p)
	return uint64(binary.LittleEndian.Uint32(d[:4]))
}
