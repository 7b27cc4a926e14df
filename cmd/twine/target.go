package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route"
)

// targetKind says how a target picks the node a command runs on.
type targetKind int

// The kinds of target.
const (
	byKey       targetKind = iota // the master of the partition owning the keys
	onPartition                   // the current master of one partition
	onNode                        // one node of the config
	onAll                         // every partition's master
)

// target is where commands run: by their keys (the zero value), on a
// partition's master, on one node, or on every master. It is chosen by
// -partition, -node and -all, and at the prompt by the same switches.
type target struct {
	kind      targetKind
	partition int         // onPartition
	node      config.Node // onNode
}

// flagTarget returns the target of the -partition, -node and -all flags.
func (c *cli) flagTarget(r *route.Router) (target, error) {
	switch {
	case c.o.given["partition"]:
		return partitionTarget(r, c.o.partition)
	case c.o.given["node"]:
		return nodeTarget(r, c.o.node)
	case c.o.all:
		return target{kind: onAll}, nil
	}
	return target{}, nil
}

// partitionTarget returns the target of -partition p, checked against
// the cluster.
func partitionTarget(r *route.Router, p int) (target, error) {
	if p < 0 || p >= r.Partitions() {
		return target{}, usageError("-partition %d: the cluster has partitions 0 to %d", p, r.Partitions()-1)
	}
	return target{kind: onPartition, partition: p}, nil
}

// nodeTarget returns the target of -node name, which must be a node of
// the config.
func nodeTarget(r *route.Router, name string) (target, error) {
	n, ok := r.Cluster().Node(name)
	if !ok {
		var names []string
		for _, n := range r.Cluster().Nodes() {
			names = append(names, n.Name)
		}
		return target{}, usageError("-node %s: no such node in %s (nodes: %s)", name, r.Cluster().File(), strings.Join(names, ", "))
	}
	return target{kind: onNode, node: n}, nil
}

// nodeOf returns the one node t names, nil when it routes by key or
// names every master. A partition's master is asked for at each call, so
// that a fail-over is followed.
func (t target) nodeOf(ctx context.Context, r *route.Router) *config.Node {
	switch t.kind {
	case onPartition:
		n := r.MasterOf(ctx, t.partition)
		return &n
	case onNode:
		n := t.node
		return &n
	}
	return nil
}

// String names t as the prompt shows it: "" when routing by key,
// "partition 2", "node p2b", "all".
func (t target) String() string {
	switch t.kind {
	case onPartition:
		return "partition " + strconv.Itoa(t.partition)
	case onNode:
		return "node " + t.node.Name
	case onAll:
		return "all"
	}
	return ""
}

// describeNode names n with its address and place in the cluster:
// "p2 127.0.0.1:4202 (partition 2)".
func describeNode(n config.Node) string {
	if n.Kind == config.Data {
		return fmt.Sprintf("%s %s (partition %d)", n.Name, n.Addr(), n.Partition)
	}
	return fmt.Sprintf("%s %s (%s node)", n.Name, n.Addr(), n.Kind)
}
