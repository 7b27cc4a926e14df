package hash

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// mustNew returns New(spec) or ends the test.
func mustNew(t testing.TB, spec string) Func {
	t.Helper()
	f, err := New(spec)
	if err != nil {
		t.Fatalf("New(%q): %v", spec, err)
	}
	return f
}

func TestKnownVectors(t *testing.T) {
	check := "123456789"
	d := md5.Sum([]byte(check))
	md5Check := uint64(binary.LittleEndian.Uint32(d[:4]))
	tests := []struct {
		name string
		sum  func([]byte) uint64
		in   string
		want uint64
	}{
		{"crc16", sumCRC16, check, 0x31C3},
		{"crc16", sumCRC16, "", 0},
		{"crc32", sumCRC32, check, 0xCBF43926},
		{"crc32", sumCRC32, "", 0},
		{"fnv1a-32", sumFNV1a32, "", 0x811c9dc5},
		{"fnv1a-32", sumFNV1a32, "a", 0xe40c292c},
		{"fnv1a-64", sumFNV1a64, "", 0xcbf29ce484222325},
		{"fnv1a-64", sumFNV1a64, "a", 0xaf63dc4c8601ec8c},
		{"md5", sumMD5, check, md5Check},
		// md5("123456789") = 25f9e794..., read little-endian.
		{"md5", sumMD5, check, 0x94e7f925},
		// md5("") = d41d8cd9...
		{"md5", sumMD5, "", 0xd98c1dd4},
	}
	for _, tt := range tests {
		if got := tt.sum([]byte(tt.in)); got != tt.want {
			t.Errorf("%s(%q) = %#x, want %#x", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestPartitionIsHashModN checks the public path against the vectors: with n
// above 2^32 the partition of a 32-bit hash is the hash itself.
func TestPartitionIsHashModN(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("needs 64-bit int")
	}
	tests := []struct {
		name string
		want uint64
	}{
		{"crc16", 0x31C3},
		{"crc32", 0xCBF43926},
		{"fnv1a-32", uint64(fnv1a32([]byte("123456789")))},
		{"md5", 0x94e7f925},
	}
	for _, tt := range tests {
		f := mustNew(t, tt.name)
		got, err := f.Partition([]byte("123456789"), 1<<33)
		if err != nil || uint64(got) != tt.want {
			t.Errorf("%s: Partition = %#x, %v; want %#x", tt.name, got, err, tt.want)
		}
		got, err = f.Partition([]byte("123456789"), 64)
		if err != nil || uint64(got) != tt.want%64 {
			t.Errorf("%s: Partition mod 64 = %d, %v; want %d", tt.name, got, err, tt.want%64)
		}
	}
	// fnv1a-64 is reduced as an unsigned 64-bit value.
	h := uint64(0xaf63dc4c8601ec8c)
	for _, n := range []int{3, 64, 1000, math.MaxInt} {
		got, err := mustNew(t, "fnv1a-64").Partition([]byte("a"), n)
		if err != nil || uint64(got) != h%uint64(n) {
			t.Errorf("fnv1a-64: Partition(a, %d) = %d, %v; want %d", n, got, err, h%uint64(n))
		}
	}
}

func TestNames(t *testing.T) {
	want := []string{"crc32", "crc16", "fnv1a-32", "fnv1a-64", "md5"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	Names()[0] = "changed"
	if Names()[0] != "crc32" {
		t.Fatal("Names returns shared storage")
	}
	for _, name := range want {
		f := mustNew(t, name)
		if f.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, f.Name())
		}
		if mustNew(t, " "+name+"\t").Name() != name {
			t.Errorf("New(%q) with white space differs", name)
		}
	}
	if got := mustNew(t, "").Name(); got != "crc32" {
		t.Errorf("New(\"\").Name() = %q, want crc32", got)
	}
}

func TestNewUnknown(t *testing.T) {
	tests := []struct {
		spec    string
		suggest string // "" = no suggestion expected
	}{
		{"crc23", "crc32"},
		{"CRC32", "crc32"},
		{"crc", "crc32"},
		{"crc-16", "crc16"},
		{"fnv", "fnv1a-32"},
		{"fnv64", "fnv1a-64"},
		{"fnv1a_64", "fnv1a-64"},
		{"md4", "md5"},
		{"exe /bin/h", "exec /bin/h"},
		{"EXEC /bin/h", "exec /bin/h"},
		{"murmur3", ""},
		{"sha256", ""},
	}
	for _, tt := range tests {
		f, err := New(tt.spec)
		if !errors.Is(err, ErrUnknown) {
			t.Errorf("New(%q) = %v, %v; want ErrUnknown", tt.spec, f, err)
			continue
		}
		msg := err.Error()
		name, _ := splitSpec(tt.spec)
		if !strings.Contains(msg, strconv.Quote(name)) {
			t.Errorf("New(%q): %q does not name %q", tt.spec, msg, name)
		}
		for _, known := range append(Names(), "exec PATH") {
			if !strings.Contains(msg, known) {
				t.Errorf("New(%q): %q does not list %q", tt.spec, msg, known)
			}
		}
		hint := "did you mean " + tt.suggest + "?"
		if tt.suggest == "" {
			if strings.Contains(msg, "did you mean") {
				t.Errorf("New(%q): %q suggests, want no suggestion", tt.spec, msg)
			}
		} else if !strings.HasSuffix(msg, hint) {
			t.Errorf("New(%q): %q, want it to end with %q", tt.spec, msg, hint)
		}
	}
}

func TestNewBuiltinWithArgument(t *testing.T) {
	_, err := New("crc32 extra")
	if err == nil || errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "crc32") {
		t.Fatalf("New(\"crc32 extra\") = %v, want an error naming crc32", err)
	}
}

func TestPartitionsBelowOne(t *testing.T) {
	for _, name := range Names() {
		f := mustNew(t, name)
		for _, n := range []int{0, -1, math.MinInt} {
			if p, err := f.Partition([]byte("k"), n); !errors.Is(err, errPartitions) {
				t.Errorf("%s: Partition(k, %d) = %d, %v; want errPartitions", name, n, p, err)
			}
		}
		if p, err := f.Partition([]byte("k"), 1); p != 0 || err != nil {
			t.Errorf("%s: Partition(k, 1) = %d, %v; want 0", name, p, err)
		}
	}
}

func TestBuiltinsDoNotAllocate(t *testing.T) {
	key := []byte("{user1000}.following")
	for _, name := range Names() {
		f := mustNew(t, name)
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := f.Partition(key, 64); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Partition, want 0", name, allocs)
		}
	}
}

func TestBuiltinsConcurrent(t *testing.T) {
	keys := make([][]byte, 200)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
	}
	for _, name := range Names() {
		f := mustNew(t, name)
		want := make([]int, len(keys))
		for i, k := range keys {
			want[i], _ = f.Partition(k, 64)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for i, k := range keys {
					if got, err := f.Partition(k, 64); got != want[i] || err != nil {
						t.Errorf("%s: concurrent Partition(%q) = %d, %v; want %d", name, k, got, err, want[i])
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
