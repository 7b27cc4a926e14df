package supervisor

import (
	"testing"
	"time"
)

// publishBounded publishes e on b and fails if publishing blocks.
func publishBounded(t *testing.T, b *bus, e Event) Event {
	t.Helper()
	done := make(chan Event, 1)
	go func() { done <- b.publish(e) }()
	select {
	case e := <-done:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("publish blocked")
		return Event{}
	}
}

func TestBusNeverBlocksAndCountsDrops(t *testing.T) {
	var b bus
	slow := b.subscribe(1)
	fast := b.subscribe(10)
	var last uint64
	for i := range 5 {
		e := publishBounded(t, &b, Event{Node: "n0", Reason: string(rune('a' + i))})
		if e.Seq <= last {
			t.Fatalf("event %d: seq %d not after %d", i, e.Seq, last)
		}
		last = e.Seq
	}
	if got := slow.Dropped(); got != 4 {
		t.Errorf("slow subscriber dropped %d, want 4", got)
	}
	if got := fast.Dropped(); got != 0 {
		t.Errorf("fast subscriber dropped %d, want 0", got)
	}
	if got := b.dropped.Load(); got != 4 {
		t.Errorf("bus dropped %d, want 4", got)
	}
	// The slow subscriber kept the first event; the fast one has all, in
	// order.
	if e := <-slow.C; e.Reason != "a" || e.Seq != 1 {
		t.Errorf("slow got %+v, want the first event", e)
	}
	for i := range 5 {
		e := <-fast.C
		if e.Seq != uint64(i+1) {
			t.Errorf("fast event %d has seq %d", i, e.Seq)
		}
	}
	// Room again: delivered, no new drop.
	publishBounded(t, &b, Event{})
	if got := slow.Dropped(); got != 4 {
		t.Errorf("after draining: slow dropped %d, want 4", got)
	}
}

func TestBusZeroBufferStillReceives(t *testing.T) {
	var b bus
	s := b.subscribe(0)
	publishBounded(t, &b, Event{Node: "x"})
	select {
	case e := <-s.C:
		if e.Node != "x" {
			t.Errorf("got %+v", e)
		}
	default:
		t.Error("subscriber with buffer 0 received nothing")
	}
}

func TestSubscriptionCancel(t *testing.T) {
	var b bus
	s := b.subscribe(4)
	other := b.subscribe(4)
	publishBounded(t, &b, Event{})
	s.Cancel()
	s.Cancel() // idempotent
	if _, ok := <-s.C; !ok {
		t.Fatal("buffered event lost on Cancel")
	}
	if _, ok := <-s.C; ok {
		t.Fatal("C not closed after Cancel")
	}
	publishBounded(t, &b, Event{})
	if s.Dropped() != 0 {
		t.Errorf("cancelled subscription counted a drop")
	}
	if n := len(other.C); n != 2 {
		t.Errorf("other subscriber has %d events, want 2", n)
	}
}

func TestBusCloseClosesSubscriptions(t *testing.T) {
	var b bus
	s := b.subscribe(4)
	b.close()
	if _, ok := <-s.C; ok {
		t.Fatal("C not closed by close")
	}
	s.Cancel() // after close: no panic
	late := b.subscribe(4)
	if _, ok := <-late.C; ok {
		t.Fatal("subscription after close: C not closed")
	}
	late.Cancel()
	publishBounded(t, &b, Event{}) // no subscribers, no panic
}

func TestSupervisorEventsSeqAndDrops(t *testing.T) {
	c := testCluster(t, 2)
	s, err := New(Options{Cluster: c, Host: testHost})
	if err != nil {
		t.Fatal(err)
	}
	stuck := s.Subscribe(1) // never read until the end
	all := s.Subscribe(1024)
	t.Cleanup(func() { closeAndReap(t, s) })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitAllUp(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var evs []Event
	for e := range all.C { // closed by Close
		evs = append(evs, e)
	}
	// starting and up per node at least, stopped at the close.
	if len(evs) < 6 {
		t.Fatalf("only %d events: %s", len(evs), eventList(evs))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Errorf("seq not increasing: %d then %d", evs[i-1].Seq, evs[i].Seq)
		}
	}
	want := uint64(len(evs) - 1)
	if got := stuck.Dropped(); got != want {
		t.Errorf("stuck subscriber dropped %d, want %d", got, want)
	}
	if got := s.Snapshot().EventsDropped; got != want {
		t.Errorf("snapshot EventsDropped = %d, want %d", got, want)
	}
	if _, ok := <-stuck.C; !ok {
		t.Error("stuck subscriber lost its one buffered event")
	}
	if _, ok := <-stuck.C; ok {
		t.Error("stuck subscriber's C not closed by Close")
	}
}
