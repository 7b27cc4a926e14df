package hash

import "testing"

func BenchmarkPartition(b *testing.B) {
	key := []byte("user:0123456789a") // 16 bytes
	for _, name := range Names() {
		f := mustNew(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(key)))
			for b.Loop() {
				if _, err := f.Partition(key, 64); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
