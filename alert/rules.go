package alert

import (
	"slices"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
)

// troubled reports whether a node in state s is in trouble: it opens (or
// continues) an incident. Starting continues an open incident (a restart
// is not a recovery) but opens none; alive and stopped close it.
func troubled(s supervisor.State) bool {
	switch s {
	case supervisor.Hung, supervisor.Down, supervisor.Backoff, supervisor.Failed, supervisor.Held:
		return true
	}
	return false
}

// incident is one stretch of a node not being up, from the first troubled
// state until it answers again (or is stopped, or removed).
type incident struct {
	start  time.Time // when the node left the alive states
	err    string    // the last error seen during the incident
	tail   []string  // the last log tail seen during the incident
	due    bool      // goes into the next mail as newly down
	remind bool      // goes into the next mail as still down
	mailed time.Time // last mailed (alert or reminder); zero = never
}

// track is what the rules know of one node.
type track struct {
	status supervisor.NodeStatus // latest known: state from events, the rest from snapshots
	known  bool                  // a state has been observed
	inc    *incident             // nil when the node is not in trouble
}

// noticeKind tells what a one-off notice reports.
type noticeKind int

const (
	resolvedUp       noticeKind = iota // an alerted node answers again
	resolvedStopped                    // an alerted node was stopped (operator, shutdown)
	resolvedRemoved                    // an alerted node left twine.conf
	aofFailed                          // a BGREWRITEAOF failed
	configInvalid                      // a reload found twine.conf invalid
	failedOver                         // a replica took over from a master that exited
	failoverFailed                     // no replica took over from a master that exited
	scriptUnkillable                   // a node busy with a script that Redis will not kill
)

// notice is a one-off item of a mail: a resolution or an event that has
// no recovery.
type notice struct {
	kind   noticeKind
	at     time.Time
	node   supervisor.NodeStatus // for node notices
	start  time.Time             // the incident's start, for resolutions
	err    string
	reason string
	fo     *supervisor.FailoverInfo // for fail-over notices
}

// nodeAlert is a node in trouble as a mail shows it.
type nodeAlert struct {
	status supervisor.NodeStatus
	inc    incident // copy
}

// health is the host as a whole when a mail is composed.
type health struct {
	total, up int
	troubled  int   // nodes with an open incident
	lost      []int // partitions with an incident and no live master, sorted
}

// batch is the content of one mail.
type batch struct {
	note     string // who mails what, when that needs saying
	at       time.Time
	down     []nodeAlert
	still    []nodeAlert
	resolved []notice
	notes    []notice
	health   health
}

func (b *batch) empty() bool {
	return len(b.down)+len(b.still)+len(b.resolved)+len(b.notes) == 0
}

// rules decide what is mailed and when. They are a pure value: fed events,
// snapshots and the time, they tell when a mail is due and what goes in it,
// so tests drive them with any clock. Not safe for concurrent use: the
// Alerter's Run goroutine owns them.
type rules struct {
	after    time.Duration // alert-after
	reminder time.Duration // alert-reminder, 0 = off
	group    time.Duration // alert-group

	nodes   map[string]*track
	order   []string // snapshot order, for stable mails
	notices []notice
	since   time.Time // when the open batch began; zero = none open
}

func newRules(s config.Settings) *rules {
	return &rules{
		after:    s.AlertAfter,
		reminder: s.AlertReminder,
		group:    s.AlertGroup,
		nodes:    map[string]*track{},
	}
}

// setSettings applies changed alert-after, alert-reminder and
// alert-group; incidents and the open batch are kept.
func (r *rules) setSettings(s config.Settings) {
	r.after, r.reminder, r.group = s.AlertAfter, s.AlertReminder, s.AlertGroup
}

func (r *rules) track(name string) *track {
	t := r.nodes[name]
	if t == nil {
		t = &track{status: supervisor.NodeStatus{Name: name, Partition: -1}}
		r.nodes[name] = t
		r.order = append(r.order, name)
	}
	return t
}

// event applies one supervisor event.
func (r *rules) event(e supervisor.Event) {
	switch e.Kind {
	case supervisor.StateChange:
		t := r.track(e.Node)
		if t.known && e.Time.Before(t.status.Since) {
			return // a snapshot already told a later state
		}
		r.observe(t, e.To, e.Time, e.Reason, e.Err, e.LogTail)
	case supervisor.AOFRewriteFailed:
		n := supervisor.NodeStatus{Name: e.Node, Partition: -1}
		if t := r.nodes[e.Node]; t != nil {
			n = t.status
		}
		r.notices = append(r.notices, notice{kind: aofFailed, at: e.Time, node: n, err: e.Err, reason: e.Reason})
	case supervisor.ConfigInvalid:
		r.notices = append(r.notices, notice{kind: configInvalid, at: e.Time, err: e.Err, reason: e.Reason})
	case supervisor.ScriptUnkillable:
		n := supervisor.NodeStatus{Name: e.Node, Partition: -1}
		if t := r.nodes[e.Node]; t != nil {
			n = t.status
		}
		r.notices = append(r.notices, notice{kind: scriptUnkillable, at: e.Time, node: n, err: e.Err, reason: e.Reason})
	case supervisor.Failover, supervisor.FailoverFailed:
		kind := failedOver
		if e.Kind == supervisor.FailoverFailed {
			kind = failoverFailed
		}
		n := supervisor.NodeStatus{Name: e.Node, Partition: -1}
		if t := r.nodes[e.Node]; t != nil {
			n = t.status
		}
		r.notices = append(r.notices, notice{kind: kind, at: e.Time, node: n, err: e.Err, reason: e.Reason, fo: e.Failover})
	}
}

// snapshot applies the supervisor's current view: a state change that the
// events have not told (a subscriber that falls behind loses events) and
// every other field of each node. A node no longer listed has been removed
// from the config.
func (r *rules) snapshot(s supervisor.Snapshot) {
	seen := make(map[string]bool, len(s.Nodes))
	order := make([]string, 0, len(s.Nodes))
	for _, n := range s.Nodes {
		seen[n.Name] = true
		order = append(order, n.Name)
		t := r.track(n.Name)
		if !t.known || n.Since.After(t.status.Since) || (n.Since.Equal(t.status.Since) && n.State != t.status.State) {
			r.observe(t, n.State, n.Since, n.Reason, n.Error, nil)
		}
		if !n.Since.Before(t.status.Since) {
			t.status = n
		} else { // events told a later state than this snapshot (cannot happen with one clock)
			st, since, reason := t.status.State, t.status.Since, t.status.Reason
			t.status = n
			t.status.State, t.status.Since, t.status.Reason = st, since, reason
		}
	}
	for _, name := range r.order {
		if seen[name] {
			continue
		}
		t := r.nodes[name]
		r.close(t, resolvedRemoved, s.Time, "removed from twine.conf")
		delete(r.nodes, name)
	}
	r.order = order
}

// observe applies a state that began at `at`.
func (r *rules) observe(t *track, to supervisor.State, at time.Time, reason, errStr string, tail []string) {
	t.known = true
	t.status.State = to
	t.status.Since = at
	t.status.Reason = reason
	if errStr != "" || to.Alive() {
		t.status.Error = errStr
	}
	switch {
	case troubled(to):
		if t.inc == nil {
			t.inc = &incident{start: at}
		}
		if errStr != "" {
			t.inc.err = errStr
		}
		if len(tail) > 0 {
			t.inc.tail = tail
		}
	case to == supervisor.Starting:
		// a restart: an open incident goes on until the node answers
	case to.Alive():
		r.close(t, resolvedUp, at, reason)
	case to == supervisor.Stopped && reason != "":
		r.close(t, resolvedStopped, at, reason)
	case to == supervisor.Stopped:
		// not started yet (a new twined's first look): an incident kept
		// from before its restart goes on
	}
}

// close ends t's incident; one that was mailed gets a resolution notice,
// one that was not (a flap, a stop before alert-after) ends silently.
func (r *rules) close(t *track, kind noticeKind, at time.Time, reason string) {
	if t.inc == nil {
		return
	}
	if !t.inc.mailed.IsZero() {
		r.notices = append(r.notices, notice{kind: kind, at: at, node: t.status, start: t.inc.start, err: t.inc.err, reason: reason})
	}
	t.inc = nil
}

// evaluate marks what has fallen due by now and reports whether the open
// batch should be mailed now: alert-group after the first of its alerts
// fell due.
func (r *rules) evaluate(now time.Time) bool {
	if r.since.IsZero() && len(r.notices) == 0 && !r.anyIncident() {
		return false // nothing open: the common case, checked every tick
	}
	lost := r.lostSet()
	for _, name := range r.order {
		t := r.nodes[name]
		inc := t.inc
		if inc == nil {
			continue
		}
		if inc.mailed.IsZero() && !inc.due {
			switch {
			case t.status.State == supervisor.Failed:
				inc.due = true
				r.open(t.status.Since)
			case now.Sub(inc.start) >= r.after:
				inc.due = true
				r.open(inc.start.Add(r.after))
			case lost[t.status.Partition]:
				inc.due = true
				r.open(now)
			}
		}
		if !inc.mailed.IsZero() && !inc.remind && r.reminder > 0 && now.Sub(inc.mailed) >= r.reminder {
			inc.remind = true
			r.open(inc.mailed.Add(r.reminder))
		}
	}
	for _, n := range r.notices {
		r.open(n.at)
	}
	return !r.since.IsZero() && now.Sub(r.since) >= r.group
}

// anyIncident reports whether some node has an open incident.
func (r *rules) anyIncident() bool {
	for _, t := range r.nodes {
		if t.inc != nil {
			return true
		}
	}
	return false
}

// open opens the batch, or moves its start back to at.
func (r *rules) open(at time.Time) {
	if r.since.IsZero() || at.Before(r.since) {
		r.since = at
	}
}

// pending reports whether a batch is open (something is waiting to be
// mailed).
func (r *rules) pending() bool { return !r.since.IsZero() }

// take empties the open batch into a mail's content and marks its nodes
// mailed at now. The batch may be empty: everything in it resolved before
// it was mailed.
func (r *rules) take(now time.Time) batch {
	b := batch{at: now}
	for _, name := range r.order {
		t := r.nodes[name]
		inc := t.inc
		switch {
		case inc == nil:
			continue
		case inc.due:
			b.down = append(b.down, nodeAlert{status: t.status, inc: *inc})
		case inc.remind:
			b.still = append(b.still, nodeAlert{status: t.status, inc: *inc})
		default:
			continue
		}
		inc.due, inc.remind, inc.mailed = false, false, now
	}
	for _, n := range r.notices {
		if n.kind != resolvedUp && n.kind != resolvedStopped && n.kind != resolvedRemoved {
			b.notes = append(b.notes, n)
		} else {
			b.resolved = append(b.resolved, n)
		}
	}
	r.notices = nil
	r.since = time.Time{}
	b.health = r.health()
	return b
}

// takeNotes empties the open batch of its one-off notes (AOF failures,
// rejected configs, fail-overs...) into a mail's content, for an alerter
// whose node incidents another one mails (the alpha's): those stay open
// and unmailed here, resolutions of them are dropped.
func (r *rules) takeNotes(now time.Time) batch {
	b := batch{at: now}
	for _, n := range r.notices {
		if n.kind != resolvedUp && n.kind != resolvedStopped && n.kind != resolvedRemoved {
			b.notes = append(b.notes, n)
		}
	}
	r.notices = nil
	// Due incidents keep the batch open, to go out when this alerter is
	// no longer covered.
	keep := false
	for _, t := range r.nodes {
		if t.inc != nil && (t.inc.due || t.inc.remind) {
			keep = true
		}
	}
	if !keep {
		r.since = time.Time{}
	}
	b.health = r.health()
	return b
}

// lostSet returns the partitions in trouble with no live master: some node
// of the partition has an open incident, and no node of it is alive in
// the master role. Partitions whose nodes are only starting (twined's own
// start) or stopped by the operator are not lost in this sense.
func (r *rules) lostSet() map[int]bool {
	type part struct{ trouble, master bool }
	parts := map[int]*part{}
	for _, t := range r.nodes {
		p := t.status.Partition
		if p < 0 || t.status.Kind == config.Status.String() {
			continue
		}
		if parts[p] == nil {
			parts[p] = &part{}
		}
		if t.inc != nil {
			parts[p].trouble = true
		}
		if t.status.State.Alive() && t.status.Role == "master" {
			parts[p].master = true
		}
	}
	lost := map[int]bool{}
	for p, x := range parts {
		if x.trouble && !x.master {
			lost[p] = true
		}
	}
	return lost
}

func (r *rules) health() health {
	h := health{total: len(r.order)}
	for _, name := range r.order {
		t := r.nodes[name]
		if t.status.State.Alive() {
			h.up++
		}
		if t.inc != nil {
			h.troubled++
		}
	}
	for p := range r.lostSet() {
		h.lost = append(h.lost, p)
	}
	slices.Sort(h.lost)
	return h
}
