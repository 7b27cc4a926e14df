package supervisor

import (
	"sync"
	"sync/atomic"
	"time"
)

// EventKind tells what an Event reports.
type EventKind int

// The kinds of event.
const (
	// StateChange: a node went from one state to another (From, To).
	StateChange EventKind = iota
	// AOFRewriteFailed: a scheduled BGREWRITEAOF of Node ended with an
	// error (Err); the node's state did not change (From == To).
	AOFRewriteFailed
	// ConfigInvalid: a reload found the config invalid (Err holds every
	// FILE:LINE error); the running cluster is unchanged. Node is "".
	ConfigInvalid
	// ConfigReloaded: a reload was applied (Reason says what changed).
	// Node is "".
	ConfigReloaded
	// Failover: Node, a master that exited, was replaced by a replica
	// (Failover says which, and how long writes were refused).
	Failover
	// FailoverFailed: no replica took over from Node, a master that
	// exited (Reason says what twined does instead, Err why).
	FailoverFailed
	// ScriptUnkillable: Node has been BUSY for busy-timeout and Redis
	// refused SCRIPT KILL or FUNCTION KILL because the script wrote (Err);
	// twined leaves the node running (From == To).
	ScriptUnkillable
)

var eventKindNames = [...]string{"state", "aof-rewrite-failed", "config-invalid", "config-reloaded", "failover", "failover-failed", "script-unkillable"}

// String returns the kind's name, e.g. "state".
func (k EventKind) String() string {
	if k < 0 || int(k) >= len(eventKindNames) {
		return "unknown"
	}
	return eventKindNames[k]
}

// MarshalText renders the kind by name.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is one thing that happened to a node or to the supervisor: most
// often a node's state change. Watchers publish every change; subscribers
// (alerts, status, logs) receive copies.
type Event struct {
	Seq    uint64    // increasing over the supervisor's life
	Kind   EventKind // StateChange unless said otherwise
	Time   time.Time //
	Node   string    // "" for events about the whole supervisor
	From   State     //
	To     State     //
	Reason string    // why the change happened, for people
	Err    string    // the error behind it, if any ("" otherwise)
	PID    int       // the node's process, 0 when none
	// LogTail holds the last lines of the node's log when the change is a
	// failure worth reading about (crash loop, early exit).
	LogTail []string
	// Failover describes a fail-over (Kind Failover and FailoverFailed).
	Failover *FailoverInfo
}

// FailoverInfo is one fail-over of a replica set.
type FailoverInfo struct {
	Set       string        // "partition 3" or "the status set"
	Partition int           // -1 for the status set
	Name      string        // the Sentinel master name, "" without Sentinel
	Old       string        // the master that exited: NAME (HOST:PORT)
	New       string        // the master now, "" when none took over
	Refused   time.Duration // from the exit until the new master answered
}

// Subscription receives events. C is closed when the subscription is
// cancelled or the supervisor closes.
type Subscription struct {
	C       <-chan Event
	ch      chan Event
	dropped atomic.Uint64
	bus     *bus
}

// Dropped reports how many events this subscriber lost because its buffer
// was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Cancel ends the subscription and closes C. It is idempotent.
func (s *Subscription) Cancel() { s.bus.remove(s) }

// bus delivers events to subscribers without ever blocking the publisher: a
// subscriber whose buffer is full loses the event, and that is counted.
type bus struct {
	mu      sync.Mutex
	seq     uint64
	subs    []*Subscription
	closed  bool
	dropped atomic.Uint64 // over all subscribers
}

func (b *bus) subscribe(buffer int) *Subscription {
	ch := make(chan Event, max(buffer, 1))
	s := &Subscription{C: ch, ch: ch, bus: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(ch)
		return s
	}
	b.subs = append(b.subs, s)
	return s
}

func (b *bus) publish(e Event) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	e.Seq = b.seq
	for _, s := range b.subs {
		select {
		case s.ch <- e:
		default:
			s.dropped.Add(1)
			b.dropped.Add(1)
		}
	}
	return e
}

func (b *bus) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.subs {
		if x == s {
			b.subs = append(b.subs[:i], b.subs[i+1:]...)
			close(s.ch)
			return
		}
	}
}

func (b *bus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		close(s.ch)
	}
	b.subs = nil
	b.closed = true
}
