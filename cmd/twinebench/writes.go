package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
)

// The writes of the fail-over scenarios.
const (
	// ackTimeout is WAIT's timeout: a write counts as acknowledged only
	// when every replica has it within this long.
	ackTimeout = 100 * time.Millisecond
	// writeRetry is the writer's pause after a failed SET.
	writeRetry = 5 * time.Millisecond
	// firstWriteEvery is the pace at which every other member is asked to
	// take a write once the master is lost.
	firstWriteEvery = 5 * time.Millisecond
	// firstWriteKey is the key those writes set (to the member's name).
	firstWriteKey = "twinebench:first-write"
)

// ackWriter writes wN = N to one master, N counting up, each SET followed
// by WAIT (every replica, ackTimeout) on the same connection; a write is
// acknowledged when SET answered OK and WAIT the number of replicas. It
// writes from its own goroutine until finish, retrying after failures
// (the master is lost while it writes).
type ackWriter struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has returned
	count  atomic.Int64  // acknowledged writes so far

	// Owned by the goroutine; read by finish once done is closed.
	acked []int
	next  int
}

// startWriter starts writing to the master at addr, from w<first> on, each
// write to be acknowledged by replicas replicas.
func startWriter(ctx context.Context, addr string, first, replicas int) *ackWriter {
	ctx, cancel := context.WithCancel(ctx)
	w := &ackWriter{cancel: cancel, done: make(chan struct{}), next: first}
	cl := replset.NewClient(addr, "", time.Second)
	go func() {
		defer close(w.done)
		defer cl.Close()
		for ctx.Err() == nil {
			n := w.next
			w.next++
			v := strconv.Itoa(n)
			if err := cl.Set(ctx, "w"+v, v, 0).Err(); err != nil {
				_ = pause(ctx, writeRetry)
				continue
			}
			if got, err := cl.Wait(ctx, replicas, ackTimeout).Result(); err == nil && got >= int64(replicas) {
				w.acked = append(w.acked, n)
				w.count.Add(1)
			}
		}
	}()
	return w
}

// acknowledged returns how many writes have been acknowledged so far; it
// is safe to call while the writer runs.
func (w *ackWriter) acknowledged() int { return int(w.count.Load()) }

// finish stops the writer and returns the acknowledged writes and the N
// after the last one it sent (where the next writer starts, so that no
// key is written twice in a session).
func (w *ackWriter) finish() (acked []int, next int) {
	w.cancel()
	<-w.done
	return w.acked, w.next
}

// firstWrite sends SET to every member of set but old, each from its own
// goroutine and connection, every firstWriteEvery, until one accepts it
// (OK: it is a master now), and returns that member and when its OK was
// read. ok is false when none did within limit.
func firstWrite(ctx context.Context, set []config.Node, old config.Node, limit time.Duration) (n config.Node, at time.Time, ok bool, err error) {
	type accept struct {
		n  config.Node
		at time.Time
	}
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	got := make(chan accept, len(set)) // every prober can deliver without blocking
	var wg sync.WaitGroup
	for _, m := range set {
		if m.Name == old.Name {
			continue
		}
		wg.Go(func() {
			cl := replset.NewClient(m.Addr(), "", probeTimeout)
			defer cl.Close()
			tick := time.NewTicker(firstWriteEvery)
			defer tick.Stop()
			for {
				if cl.Set(wctx, firstWriteKey, m.Name, 0).Err() == nil {
					got <- accept{m, time.Now()}
					return
				}
				select {
				case <-wctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	var a accept
	select {
	case a = <-got:
		ok = true
	case <-wctx.Done():
	}
	cancel()
	wg.Wait()
	if !ok {
		return config.Node{}, time.Time{}, false, ctx.Err()
	}
	return a.n, a.at, true, nil
}

// lostWrites returns how many of the acknowledged writes (wN = N) the
// node at addr lacks or holds with another value.
func lostWrites(ctx context.Context, addr string, acked []int) (int, error) {
	cl := replset.NewClient(addr, "", 5*time.Second)
	defer cl.Close()
	lost := 0
	for start := 0; start < len(acked); start += 1000 {
		batch := acked[start:min(start+1000, len(acked))]
		keys := make([]string, len(batch))
		for i, n := range batch {
			keys[i] = "w" + strconv.Itoa(n)
		}
		var vals []any
		var err error
		for range 3 { // a connection may be cut by a reconfiguration
			if vals, err = cl.MGet(ctx, keys...).Result(); err == nil || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return 0, fmt.Errorf("read the acknowledged writes from %s: %w", addr, err)
		}
		for i, v := range vals {
			if s, _ := v.(string); s != strconv.Itoa(batch[i]) {
				lost++
			}
		}
	}
	return lost, nil
}
