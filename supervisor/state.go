// Package supervisor is twined's policy: one watcher per node owning that
// node's state machine, health checks, restart backoff, crash-loop
// detection, events and the status snapshot. It starts and stops processes
// through procs and never sends mail or formats output for people.
package supervisor

import "fmt"

// State is where a node is in its life, as the watcher that owns it sees it.
type State int

// The node states. A node is served (answers clients) in Up and Loading.
const (
	Starting State = iota // spawned, not yet answering PING
	Loading               // answering LOADING: alive, reading its data
	Up                    // answering PING
	Hung                  // stopped answering; being killed to restart
	Down                  // exited; about to be restarted
	Backoff               // exited soon after its start; waiting before the next start
	Failed                // crash loop: still retried, at the slowest pace
	Stopped               // stopped by the operator or by twined's shutdown; with no Reason: not started yet
	// Held: a master that exited and is deliberately not restarted yet,
	// to protect data: while Sentinel promotes a replica, or until the
	// operator chooses (no Sentinel, or no replica could take over).
	Held
	// Busy: the node answers BUSY (a script or function running past
	// busy-reply-threshold) and serves nothing else; after busy-timeout
	// twined asks Redis to kill the script.
	Busy
)

var stateNames = [...]string{"starting", "loading", "up", "hung", "down", "backoff", "failed", "stopped", "held", "busy"}

// String returns the state's lower-case name, as shown in status output.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return stateNames[s]
}

// MarshalText renders the state by name in JSON and XML.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a state name.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown node state %q", b)
}

// Alive reports whether a node in this state answers clients.
func (s State) Alive() bool { return s == Up || s == Loading }
