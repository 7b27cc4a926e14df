package supervisor

import "time"

// NodeStatus is one node as its watcher last saw it: a copied value.
type NodeStatus struct {
	Name      string        `json:"name"`
	Kind      string        `json:"kind"`      // data or status
	Partition int           `json:"partition"` // -1 for status nodes
	Host      string        `json:"host"`
	Port      int           `json:"port"`
	Role      string        `json:"role"` // master, replica or status
	State     State         `json:"state"`
	Since     time.Time     `json:"since"`  // when State began
	Reason    string        `json:"reason"` // why State began
	Error     string        `json:"error"`  // the last error, "" once up again
	PID       int           `json:"pid"`
	Adopted   bool          `json:"adopted"`  // taken over from an earlier twined
	Restarts  int           `json:"restarts"` // restarts since twined started
	StartedAt time.Time     `json:"started_at"`
	RetryAt   time.Time     `json:"retry_at"` // next start, in backoff and failed
	LastCheck time.Time     `json:"last_check"`
	Latency   time.Duration `json:"latency"` // of the last PING
	// AOFRewrites counts the scheduled BGREWRITEAOFs of this node that
	// ended (well or not) since twined started; LastAOFRewrite is when the
	// last one ended and LastAOFRewriteStatus how: "ok" or "err" (Redis's
	// aof_last_bgrewrite_status), "" before the first.
	AOFRewrites          int       `json:"aof_rewrites"`
	LastAOFRewrite       time.Time `json:"last_aof_rewrite"`
	LastAOFRewriteStatus string    `json:"last_aof_rewrite_status"`
}

// HostStatus is the verdict on a host's nodes, in Nagios order.
type HostStatus int

// The host statuses.
const (
	OK       HostStatus = iota // every node up
	Degraded                   // a node down, every partition still served
	Halt                       // some partition has no live master
)

var hostStatusNames = [...]string{"OK", "DEGRADED", "HALT"}

// String returns OK, DEGRADED or HALT.
func (h HostStatus) String() string {
	if h < 0 || int(h) >= len(hostStatusNames) {
		return "UNKNOWN"
	}
	return hostStatusNames[h]
}

// MarshalText renders the status by name.
func (h HostStatus) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Snapshot is the state of every node of the host at one moment.
type Snapshot struct {
	Host   string       `json:"host"`
	Status HostStatus   `json:"status"`
	Time   time.Time    `json:"time"`
	Nodes  []NodeStatus `json:"nodes"`
	Up     int          `json:"up"` // nodes answering
	// EventsDropped counts events lost by slow subscribers.
	EventsDropped uint64 `json:"events_dropped"`
}

// hostStatus judges a host from its nodes: HALT when some partition served
// here has no live node in the master role, DEGRADED when any node is not
// up, else OK. A node stopped by the operator still counts as down.
func hostStatus(nodes []NodeStatus) (HostStatus, int) {
	up := 0
	master := map[int]bool{}
	parts := map[int]bool{}
	for _, n := range nodes {
		if n.Partition >= 0 {
			parts[n.Partition] = true
		}
		if n.State.Alive() {
			up++
			if n.Role == "master" && n.Partition >= 0 {
				master[n.Partition] = true
			}
		}
	}
	for p := range parts {
		if !master[p] {
			return Halt, up
		}
	}
	if up < len(nodes) {
		return Degraded, up
	}
	return OK, up
}
