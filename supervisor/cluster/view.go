package cluster

import (
	"slices"
	"sort"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
)

// HostRecord is what a twined publishes of its host (twine:host:HOST).
type HostRecord struct {
	Host    string                  `json:"host"`
	Status  string                  `json:"status"` // OK, DEGRADED or HALT, as the host sees itself
	Time    time.Time               `json:"time"`
	Version string                  `json:"version"` // of twined
	Started time.Time               `json:"started"` // when this twined started
	HTTPD   string                  `json:"httpd"`   // this twined's status/control listener, HOST:PORT
	Nodes   []supervisor.NodeStatus `json:"nodes"`
	Masters []supervisor.SetMaster  `json:"masters"`
}

// The cluster statuses, in Nagios order.
const (
	StatusOK       = "OK"
	StatusDegraded = "DEGRADED"
	StatusHalt     = "HALT"
	StatusUnknown  = "UNKNOWN"
)

// Node states that only the cluster view has: the node of a lost host
// (its twined gone) answers PING, or does not.
const (
	StateUnsupervised = "unsupervised"
	StateLost         = "down" // silent, on a lost host
)

// View is the cluster as a whole (twine:cluster, `twined -status -cluster`).
type View struct {
	Cluster    string          `json:"cluster"`
	Status     string          `json:"status"` // OK, DEGRADED, HALT, UNKNOWN
	Reason     string          `json:"reason,omitempty"`
	Alpha      string          `json:"alpha"` // the host holding the lease, "" for none
	AlphaEpoch int64           `json:"alpha_epoch"`
	Time       time.Time       `json:"time"` // when the alpha computed it
	Hosts      []HostView      `json:"hosts"`
	Partitions []PartitionView `json:"partitions"`
}

// HostView is one host in the cluster view.
type HostView struct {
	Host         string     `json:"host"`
	Status       string     `json:"status"` // the host's own, or DEGRADED/HALT for a lost one
	Lost         bool       `json:"lost"`   // its snapshot expired: its twined is gone or cut off
	Unsupervised int        `json:"unsupervised"`
	Seen         time.Time  `json:"seen"` // its last snapshot
	Version      string     `json:"version,omitempty"`
	Nodes        []NodeView `json:"nodes"`
}

// NodeView is one node in the cluster view.
type NodeView struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Partition int       `json:"partition"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	Role      string    `json:"role"`
	State     string    `json:"state"` // a node state, or unsupervised / down on a lost host
	Since     time.Time `json:"since"`
	PID       int       `json:"pid"`
	Restarts  int       `json:"restarts"`
	Error     string    `json:"error,omitempty"`
}

// alive reports whether the node serves clients.
func (n NodeView) alive() bool {
	return n.State == "up" || n.State == "loading" || n.State == StateUnsupervised
}

// PartitionView is one partition (or the status set, -1) in the view.
type PartitionView struct {
	Partition int      `json:"partition"`
	Master    string   `json:"master"` // the live master's name, "" for none
	Masters   []string `json:"masters,omitempty"`
	Status    string   `json:"status"`
	Nodes     []string `json:"nodes"`
}

// lostProbe is what the alpha learns by asking a lost host's node itself:
// whether it answers, and its role.
type lostProbe struct {
	alive bool
	role  string
}

// compute makes the cluster view from the hosts' records (by host; a
// missing one is lost) and the answers of the lost hosts' nodes.
func compute(c *config.Cluster, records map[string]*HostRecord, probes map[string]lostProbe, now time.Time) View {
	v := View{Cluster: c.Settings().Cluster, Time: now}
	nodes := map[string]NodeView{}
	for _, h := range c.Hosts() {
		hv := HostView{Host: h}
		rec := records[h]
		if rec != nil {
			hv.Status, hv.Seen, hv.Version = rec.Status, rec.Time, rec.Version
			for _, n := range rec.Nodes {
				nv := NodeView{Name: n.Name, Kind: n.Kind, Partition: n.Partition, Host: n.Host, Port: n.Port,
					Role: n.Role, State: n.State.String(), Since: n.Since, PID: n.PID, Restarts: n.Restarts, Error: n.Error}
				hv.Nodes = append(hv.Nodes, nv)
				nodes[n.Name] = nv
			}
		} else {
			hv.Lost = true
			for _, n := range c.NodesOn(h) {
				nv := NodeView{Name: n.Name, Kind: n.Kind.String(), Partition: n.Partition, Host: n.Host, Port: n.Port, State: StateLost}
				if p, ok := probes[n.Name]; ok && p.alive {
					nv.State, nv.Role = StateUnsupervised, p.role
					hv.Unsupervised++
				}
				hv.Nodes = append(hv.Nodes, nv)
				nodes[n.Name] = nv
			}
		}
		v.Hosts = append(v.Hosts, hv)
	}
	v.Status = StatusOK
	worse := func(s string) {
		if rank(s) > rank(v.Status) {
			v.Status = s
		}
	}
	for p := range c.Partitions() {
		v.Partitions = append(v.Partitions, partitionView(p, c.ReplicaSet(p), nodes))
	}
	if st := c.StatusNodes(); len(st) > 0 {
		v.Partitions = append(v.Partitions, partitionView(-1, st, nodes))
	}
	for _, p := range v.Partitions {
		worse(p.Status)
	}
	for i, hv := range v.Hosts {
		if hv.Lost {
			worse(StatusDegraded)
			v.Hosts[i].Status = StatusDegraded
			for _, n := range hv.Nodes {
				if n.Kind == "data" && !slices.ContainsFunc(v.Partitions, func(p PartitionView) bool { return p.Partition == n.Partition && p.Master != "" }) {
					v.Hosts[i].Status = StatusHalt
				}
			}
		}
	}
	return v
}

// partitionView judges one set: HALT without a live master, DEGRADED with
// a member not up, OK else. A set with two live masters is DEGRADED (and
// an incident): clients may write to either.
func partitionView(p int, set []config.Node, nodes map[string]NodeView) PartitionView {
	pv := PartitionView{Partition: p, Status: StatusOK}
	down := false
	for _, m := range set {
		pv.Nodes = append(pv.Nodes, m.Name)
		n, ok := nodes[m.Name]
		if !ok || !n.alive() {
			down = true
			continue
		}
		if n.Role == "master" || (len(set) == 1 && n.Kind == "data") || (n.Kind == "status" && len(set) == 1) {
			pv.Masters = append(pv.Masters, m.Name)
		}
	}
	sort.Strings(pv.Masters)
	switch {
	case len(pv.Masters) == 0:
		pv.Status = StatusHalt
	case len(pv.Masters) > 1:
		pv.Master = pv.Masters[0]
		pv.Status = StatusDegraded
	default:
		pv.Master = pv.Masters[0]
		pv.Masters = nil
		if down {
			pv.Status = StatusDegraded
		}
	}
	return pv
}

// rank orders statuses by gravity.
func rank(s string) int {
	switch s {
	case StatusOK:
		return 0
	case StatusDegraded:
		return 1
	case StatusHalt:
		return 2
	}
	return 3
}
