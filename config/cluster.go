// Package config parses and validates twine.conf into an immutable Cluster:
// the redis nodes, their partitions and hosts, and the settings that govern
// how twined supervises them and how clients route keys.
//
// The package reads the one file it is given and does no other I/O.
package config

import (
	"net"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/twine/twine/config/hash"
)

// Kind is what a node is for.
type Kind int

const (
	// Data nodes hold one partition of the keyspace.
	Data Kind = iota
	// Status nodes hold the cluster's own bookkeeping.
	Status
	// Sentinel nodes are Redis Sentinels (redis-server --sentinel), one per
	// host, that watch the replicated sets and fail them over.
	Sentinel
)

// String returns the kind as written in twine.conf.
func (k Kind) String() string {
	switch k {
	case Status:
		return "status"
	case Sentinel:
		return "sentinel"
	}
	return "data"
}

// Node is one redis-server of the cluster, as one line of twine.conf names it.
type Node struct {
	Name      string
	Kind      Kind
	Partition int // -1 for status and sentinel nodes
	Host      string
	Port      int
	DB        int // 0 for sentinels
	// Member is the node's place in its replica set (its partition's data
	// nodes, or the status nodes), in file order: 0 is the initial master,
	// 1 and up replicate it. Always 0 for sentinels.
	Member int
	Line   int // line of twine.conf that defines the node
}

// Addr returns the node's host:port.
func (n Node) Addr() string {
	return net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
}

// InitialMaster reports whether the config makes this node its partition's
// master when the cluster starts. The role a running node has is observed
// from Redis, not taken from here.
func (n Node) InitialMaster() bool {
	return n.Kind == Data && n.Member == 0
}

// Replicable reports whether the node holds data that replicates within
// a set: data and status nodes, not sentinels.
func (n Node) Replicable() bool { return n.Kind == Data || n.Kind == Status }

// Cluster is a parsed, validated twine.conf. It is immutable: accessors
// return copies, so a Cluster may be shared between goroutines freely.
type Cluster struct {
	file       string
	nodes      []Node
	partitions int
	hosts      []string
	settings   Settings
	set        []SetLine
	hash       hash.Func
	warnings   []string
}

// SetLines returns the `set` lines of the file as written, in order.
func (c *Cluster) SetLines() []SetLine { return slices.Clone(c.set) }

// File returns the absolute path of the file the cluster was read from.
func (c *Cluster) File() string { return c.file }

// Nodes returns every node in file order.
func (c *Cluster) Nodes() []Node { return slices.Clone(c.nodes) }

// Partitions returns the number of partitions (N; they are 0..N-1).
func (c *Cluster) Partitions() int { return c.partitions }

// Hosts returns the hosts named by the nodes, in order of first appearance.
func (c *Cluster) Hosts() []string { return slices.Clone(c.hosts) }

// Settings returns the cluster's settings, defaults filled in.
func (c *Cluster) Settings() Settings { return c.settings.clone() }

// Hash returns the key hash function chosen by `set hash`.
func (c *Cluster) Hash() hash.Func { return c.hash }

// Node returns the node with the given name.
func (c *Cluster) Node(name string) (Node, bool) {
	for _, n := range c.nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// NodeAt returns the node that listens at addr (HOST:PORT as Addr gives
// it).
func (c *Cluster) NodeAt(addr string) (Node, bool) {
	for _, n := range c.nodes {
		if n.Addr() == addr {
			return n, true
		}
	}
	return Node{}, false
}

// NodesOn returns the nodes that live on host, in file order.
func (c *Cluster) NodesOn(host string) []Node {
	return c.nodesWhere(func(n Node) bool { return n.Host == host })
}

// SetOf returns the replica set the node belongs to, initial master first:
// its partition's data nodes, or every status node. A sentinel belongs to
// no set (nil).
func (c *Cluster) SetOf(n Node) []Node {
	switch n.Kind {
	case Data:
		return c.ReplicaSet(n.Partition)
	case Status:
		return c.StatusNodes()
	}
	return nil
}

// StatusNodes returns the status nodes, initial master first.
func (c *Cluster) StatusNodes() []Node {
	return c.nodesWhere(func(n Node) bool { return n.Kind == Status })
}

// ReplicaSet returns the data nodes of partition p, initial master first.
func (c *Cluster) ReplicaSet(p int) []Node {
	return c.nodesWhere(func(n Node) bool { return n.Kind == Data && n.Partition == p })
}

// nodesWhere returns the nodes for which keep is true, in file order.
func (c *Cluster) nodesWhere(keep func(Node) bool) []Node {
	var out []Node
	for _, n := range c.nodes {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// InitialMaster returns the initial master of partition p.
func (c *Cluster) InitialMaster(p int) (Node, bool) {
	for _, n := range c.nodes {
		if n.Kind == Data && n.Partition == p && n.Member == 0 {
			return n, true
		}
	}
	return Node{}, false
}

// Partition returns the partition that owns key, using the configured hash
// function and the {hash tag} rule.
func (c *Cluster) Partition(key []byte) (int, error) {
	return c.hash.Partition(key, c.partitions)
}

// NodeDir returns the directory of a node: DIR/partitions/HOST/NAME.
func (c *Cluster) NodeDir(n Node) string {
	return filepath.Join(c.settings.Dir, "partitions", n.Host, n.Name)
}

// NodeFiles are the paths twined and redis-server use for one node.
type NodeFiles struct {
	Dir     string // the node's directory (also redis's working dir)
	Conf    string // generated redis.conf (sentinel.conf for a Sentinel)
	Pidfile string // written by redis-server
	Log     string // redis-server's log
}

// Files returns the paths of a node's files. A Sentinel's are
// sentinel.conf, sentinel.pid and sentinel.log.
func (c *Cluster) Files(n Node) NodeFiles {
	d := c.NodeDir(n)
	if n.Kind == Sentinel {
		return NodeFiles{
			Dir:     d,
			Conf:    filepath.Join(d, "sentinel.conf"),
			Pidfile: filepath.Join(d, "sentinel.pid"),
			Log:     filepath.Join(d, "sentinel.log"),
		}
	}
	return NodeFiles{
		Dir:     d,
		Conf:    filepath.Join(d, "redis.conf"),
		Pidfile: filepath.Join(d, "redis.pid"),
		Log:     filepath.Join(d, "redis.log"),
	}
}
