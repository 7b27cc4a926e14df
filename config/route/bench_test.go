package route

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/twine/twine/config/route/routetest"
)

// The benchmarks compare the Router with plain go-redis on one node, so
// that the difference is the cost of routing: finding the keys in the
// command table, hashing them, and reading typed replies. Besides ns/op
// (wall time, dominated by the round trip) they report cpu-ns/op, the
// CPU time of this process (user + system) per command, which is what
// routing adds to. Run:
//
//	go test -run '^$' -bench . -benchtime 2s ./config/route

// cpuTime returns the CPU time used by this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureCPU runs f(b) and reports the process CPU per op.
func measureCPU(b *testing.B, f func()) {
	b.ReportAllocs()
	start := cpuTime()
	b.ResetTimer()
	f()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// benchSetup starts a one-node cluster with 1000 keys and returns a
// Router (table read) and a plain go-redis client of the same node.
func benchSetup(b *testing.B) (*Router, *redis.Client, [][]byte) {
	b.Helper()
	c := routetest.Start(b, routetest.Options{Partitions: 1})
	r, err := New(c.Config, Options{CacheDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	plain := redis.NewClient(&redis.Options{
		Addr: c.Servers[0].Addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	b.Cleanup(func() { plain.Close() })
	ctx := context.Background()
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%d", i)
		if err := plain.Set(ctx, string(keys[i]), "value", 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.Table(ctx); err != nil {
		b.Fatal(err)
	}
	return r, plain, keys
}

// BenchmarkGet is one GET per round trip.
func BenchmarkGet(b *testing.B) {
	r, plain, keys := benchSetup(b)
	ctx := context.Background()
	b.Run("go-redis", func(b *testing.B) {
		measureCPU(b, func() {
			for i := range b.N {
				if err := plain.Get(ctx, string(keys[i%len(keys)])).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("route", func(b *testing.B) {
		get := []byte("GET")
		measureCPU(b, func() {
			for i := range b.N {
				rep, err := r.Do(ctx, [][]byte{get, keys[i%len(keys)]})
				if err != nil || rep.Kind != Bulk {
					b.Fatal(rep, err)
				}
			}
		})
	})
}

// BenchmarkPipelined sends SETs in pipelined batches of 1000, where the
// round trip is shared and the client's own CPU shows: plain go-redis
// pipelines, route.Pipe with every command sent unrouted to the node, and
// route.Pipe routing each command (key spec, hash). route.Pipe hands
// batches from the sending goroutine to the node's, so on several cores
// both run at once (more CPU time per op than one goroutine doing both,
// for less wall time).
func BenchmarkPipelined(b *testing.B) {
	r, plain, keys := benchSetup(b)
	ctx := context.Background()
	const batch = 1000
	b.Run("go-redis", func(b *testing.B) {
		measureCPU(b, func() {
			for i := 0; i < b.N; i += batch {
				pipe := plain.Pipeline()
				for j := i; j < min(i+batch, b.N); j++ {
					pipe.Set(ctx, string(keys[j%len(keys)]), "value", 0)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	// route-unrouted is route.Pipe sending every command to the node
	// without routing it: route minus it is the cost of routing.
	b.Run("route-unrouted", func(b *testing.B) {
		set, value := []byte("SET"), []byte("value")
		target := r.Master(0)
		measureCPU(b, func() {
			p := r.NewPipe(ctx, PipeOptions{Batch: batch, Target: &target})
			for i := range b.N {
				if err := p.Send(int64(i), [][]byte{set, keys[i%len(keys)], value}); err != nil {
					b.Fatal(err)
				}
			}
			if st := p.Close(); st.Errors != 0 || st.Done != int64(b.N) {
				b.Fatalf("stats %+v", st)
			}
		})
	})
	b.Run("route", func(b *testing.B) {
		set, value := []byte("SET"), []byte("value")
		measureCPU(b, func() {
			p := r.NewPipe(ctx, PipeOptions{Batch: batch})
			for i := range b.N {
				if err := p.Send(int64(i), [][]byte{set, keys[i%len(keys)], value}); err != nil {
					b.Fatal(err)
				}
			}
			if st := p.Close(); st.Errors != 0 || st.Done != int64(b.N) {
				b.Fatalf("stats %+v", st)
			}
		})
	})
}

// BenchmarkRoute is the routing decision alone, as a Pipe makes it (one
// Route reused): table lookup, key specs, hashing.
func BenchmarkRoute(b *testing.B) {
	r, _, keys := benchSetup(b)
	ctx := context.Background()
	for _, cmd := range []string{"GET", "SET", "MGET"} {
		b.Run(cmd, func(b *testing.B) {
			b.ReportAllocs()
			args := [][]byte{[]byte(cmd), keys[0]}
			if cmd == "SET" {
				args = append(args, []byte("v"))
			}
			if cmd == "MGET" {
				args = append(args, keys[1], keys[2])
			}
			var rt Route
			for b.Loop() {
				if err := r.route(ctx, args, &rt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
