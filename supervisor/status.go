package supervisor

import (
	"fmt"
	"slices"
	"time"
)

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
	Latency   time.Duration `json:"-"`          // of the last PING
	LatencyMS float64       `json:"latency_ms"` // Latency in milliseconds
	// Checks and FailedChecks count health checks of this node since
	// twined started.
	Checks       uint64 `json:"checks"`
	FailedChecks uint64 `json:"failed_checks"`

	// From the node's last INFO (every few seconds while it answers).
	Uptime         time.Duration `json:"-"`
	UptimeSeconds  int64         `json:"uptime_seconds"` // of the process, 0 when not alive
	MasterLink     string        `json:"master_link,omitempty"`
	UsedMemory     int64         `json:"used_memory"`      // bytes
	LastSave       time.Time     `json:"last_save"`        // last successful RDB save
	LastSaveStatus string        `json:"last_save_status"` // ok or err
	AOFEnabled     bool          `json:"aof_enabled"`
	AOFWriteStatus string        `json:"aof_write_status,omitempty"` // ok or err
	// AOFRewrites counts the scheduled BGREWRITEAOFs of this node that
	// ended (well or not) since twined started; LastAOFRewrite is when the
	// last one ended and LastAOFRewriteStatus how: "ok" or "err" (Redis's
	// aof_last_bgrewrite_status, also read from INFO), "" before the first.
	AOFRewrites          int       `json:"aof_rewrites"`
	LastAOFRewrite       time.Time `json:"last_aof_rewrite"`
	LastAOFRewriteStatus string    `json:"last_aof_rewrite_status"`
}

// applyInfo copies what an INFO reply says into the status. The caller
// holds the watcher's lock.
func (n *NodeStatus) applyInfo(in nodeInfo) {
	if in.role != "" && n.Role != "status" && n.Role != "sentinel" { // a lone status node keeps "status"
		n.Role = in.role
	}
	n.MasterLink = in.masterLink
	n.UsedMemory = in.usedMemory
	if in.uptime > 0 {
		n.StartedAt = in.at.Add(-in.uptime).Truncate(time.Second)
	}
	n.LastSave = in.lastSave
	n.LastSaveStatus = in.lastSaveStatus
	n.AOFEnabled = in.aofEnabled
	if in.aofEnabled {
		n.AOFWriteStatus = in.aofWriteStatus
		n.LastAOFRewriteStatus = in.aofLastStatus
	}
}

// finish fills the fields derived at snapshot time.
func (n *NodeStatus) finish(now time.Time) {
	n.LatencyMS = float64(n.Latency.Microseconds()) / 1000
	n.Uptime, n.UptimeSeconds = 0, 0
	if n.State.Alive() && !n.StartedAt.IsZero() {
		n.Uptime = now.Sub(n.StartedAt)
		n.UptimeSeconds = int64(n.Uptime / time.Second)
	}
}

// Partitions returns how many partitions have a node on this host, and
// those of them that this host is meant to serve but have no live master
// here, in increasing order. A partition is this host's to serve when one
// of its nodes here is, or was last seen as, a master (Role keeps the last
// role seen, starting from the config's initial master); a partition with
// only replicas here is served by another host and never counts as
// masterless.
func (s Snapshot) Partitions() (total int, masterless []int) {
	master := map[int]bool{}
	parts := map[int]bool{}
	served := map[int]bool{}
	for _, n := range s.Nodes {
		if n.Partition < 0 {
			continue
		}
		parts[n.Partition] = true
		if n.Role != "master" {
			continue
		}
		served[n.Partition] = true
		if n.State.Alive() {
			master[n.Partition] = true
		}
	}
	for p := range served {
		if !master[p] {
			masterless = append(masterless, p)
		}
	}
	slices.Sort(masterless)
	return len(parts), masterless
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

// UnmarshalText parses OK, DEGRADED or HALT.
func (h *HostStatus) UnmarshalText(b []byte) error {
	for i, n := range hostStatusNames {
		if n == string(b) {
			*h = HostStatus(i)
			return nil
		}
	}
	return fmt.Errorf("unknown host status %q", b)
}

// Snapshot is the state of every node of the host at one moment.
type Snapshot struct {
	Host   string       `json:"host"`
	Status HostStatus   `json:"status"`
	Time   time.Time    `json:"time"`
	Nodes  []NodeStatus `json:"nodes"`
	Up     int          `json:"up"` // nodes answering
	// PartitionCount is how many partitions have a node here; Masterless
	// lists those this host serves that have no live master.
	PartitionCount int   `json:"partitions"`
	Masterless     []int `json:"masterless_partitions"`
	// EventsDropped counts events lost by slow subscribers.
	EventsDropped uint64 `json:"events_dropped"`
	// Masters is the live master of each replica set with a node here.
	Masters []SetMaster `json:"masters"`
}

// hostStatus judges a host from its nodes and the partitions it serves
// that have no live master: HALT when there are any, DEGRADED when any node
// is not up, else OK. A node stopped by the operator still counts as down.
func hostStatus(nodes []NodeStatus, masterless []int) (HostStatus, int) {
	up := 0
	for _, n := range nodes {
		if n.State.Alive() {
			up++
		}
	}
	switch {
	case len(masterless) > 0:
		return Halt, up
	case up < len(nodes):
		return Degraded, up
	}
	return OK, up
}
