package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MinSentinelHosts is the fewest distinct hosts whose Sentinels can fail a
// replica set over: with two, the loss of either host leaves one Sentinel,
// which is no majority.
const MinSentinelHosts = 3

// WatchedSet is a replica set the Sentinels monitor, under its master name.
type WatchedSet struct {
	Name  string // CLUSTER-P, or CLUSTER-status for the status set
	Nodes []Node // initial master first
}

// Sentinels returns the sentinel nodes, in file order.
func (c *Cluster) Sentinels() []Node {
	return c.nodesWhere(func(n Node) bool { return n.Kind == Sentinel })
}

// SentinelOn returns the Sentinel of host, if it has one.
func (c *Cluster) SentinelOn(host string) (Node, bool) {
	for _, n := range c.nodes {
		if n.Kind == Sentinel && n.Host == host {
			return n, true
		}
	}
	return Node{}, false
}

// Quorum returns how many Sentinels must agree that a master is down:
// `set sentinel-quorum`, else a majority of the Sentinels.
func (c *Cluster) Quorum() int {
	if q := c.settings.SentinelQuorum; q > 0 {
		return q
	}
	return len(c.Sentinels())/2 + 1
}

// Replicated reports whether n's replica set has two or more nodes.
func (c *Cluster) Replicated(n Node) bool { return len(c.SetOf(n)) >= 2 }

// Watched reports whether Sentinels fail n's replica set over: the set is
// replicated and the cluster has Sentinels.
func (c *Cluster) Watched(n Node) bool {
	return c.Replicated(n) && len(c.Sentinels()) > 0
}

// MasterName returns the Sentinel master name of n's replica set:
// CLUSTER-P for partition P, CLUSTER-status for the status set; "" for a
// sentinel.
func (c *Cluster) MasterName(n Node) string {
	switch n.Kind {
	case Data:
		return c.settings.Cluster + "-" + strconv.Itoa(n.Partition)
	case Status:
		return c.settings.Cluster + "-status"
	}
	return ""
}

// WatchedSets returns the replica sets the Sentinels monitor, by
// partition, the status set last; nil without Sentinels.
func (c *Cluster) WatchedSets() []WatchedSet {
	if len(c.Sentinels()) == 0 {
		return nil
	}
	var out []WatchedSet
	for p := range c.partitions {
		if set := c.ReplicaSet(p); len(set) >= 2 {
			out = append(out, WatchedSet{Name: c.MasterName(set[0]), Nodes: set})
		}
	}
	if set := c.StatusNodes(); len(set) >= 2 {
		out = append(out, WatchedSet{Name: c.MasterName(set[0]), Nodes: set})
	}
	return out
}

// replicatedSets returns every replica set of two or more nodes.
func (c *Cluster) replicatedSets() [][]Node {
	var out [][]Node
	for p := range c.partitions {
		if set := c.ReplicaSet(p); len(set) >= 2 {
			out = append(out, set)
		}
	}
	if set := c.StatusNodes(); len(set) >= 2 {
		out = append(out, set)
	}
	return out
}

// Warnings returns what is valid but risky in the file, each as
// "FILE:LINE: warning: ...": replica sets that no Sentinel watches (and
// how much a master crash can lose then), sets that live on one host.
func (c *Cluster) Warnings() []string { return slices.Clone(c.warnings) }

// setLabel names a replica set for people: "partition 3" or "the status set".
func setLabel(set []Node) string {
	if set[0].Kind == Status {
		return "the status set"
	}
	return "partition " + strconv.Itoa(set[0].Partition)
}

// CrashLoss says, for people, how much of its own writes a master can lose
// when its process crashes, with the persistence twine.conf configures.
func (s Settings) CrashLoss() string {
	if s.AppendOnly {
		return "with appendonly yes (fsync every second) a crashed master loses up to its last two seconds of writes"
	}
	return "with RDB snapshots (save 60 1) a crashed master's own files can miss the last 60 s of writes or more"
}

// checkSentinels validates the sentinel lines against the replica sets and
// collects the warnings.
func (p *parser) checkSentinels() {
	c := &Cluster{nodes: p.nodes, partitions: p.partitions, settings: p.settings}
	sentinels := c.Sentinels()
	sets := c.replicatedSets()
	var hosts []string
	last := 0
	for _, s := range sentinels {
		if !slices.Contains(hosts, s.Host) {
			hosts = append(hosts, s.Host)
		}
		last = max(last, s.Line)
	}
	switch {
	case len(sentinels) == 0:
		for _, set := range sets {
			p.warnf(set[1].Line, "%s is replicated but no Sentinel watches it: a crashed master is held down (HALT) until an operator runs twined -failover or twined -start, unless it restarts from an AOF; %s; add NAME=sentinel HOST PORT lines on 3 hosts for automatic fail-over",
				setLabel(set), p.settings.CrashLoss())
		}
	case len(sets) == 0:
		p.warnf(last, "%d sentinels but no replica set: Sentinels watch partitions with two or more nodes", len(sentinels))
	case len(hosts) < MinSentinelHosts:
		p.errs.addf(last, "replica sets need Sentinels on at least %d hosts, found %d (%s): with two, losing either host leaves no majority to fail over; add NAME=sentinel HOST PORT on a third host (it need hold no data), or remove the sentinel lines and fail over by hand (twined -failover P)",
			MinSentinelHosts, len(hosts), strings.Join(hosts, ", "))
	}
	if q := p.settings.SentinelQuorum; q > 0 && len(sentinels) > 0 && q > len(sentinels) {
		p.errs.addf(p.setLines["sentinel-quorum"], "sentinel-quorum %d exceeds the %d sentinels: no master could ever be agreed down", q, len(sentinels))
	}
	if q := p.settings.SentinelQuorum; q > 0 && len(sentinels) == 0 {
		p.warnf(p.setLines["sentinel-quorum"], "sentinel-quorum is set but there are no sentinel lines")
	}
	for _, set := range sets {
		one := true
		for _, n := range set[1:] {
			if n.Host != set[0].Host {
				one = false
			}
		}
		if one && !IsLoopback(set[0].Host) {
			p.warnf(set[1].Line, "every node of %s is on host %s: losing that host loses the partition", setLabel(set), set[0].Host)
		}
	}
	if p.settings.MinReplicasToWrite > 0 {
		for _, set := range sets {
			if len(set)-1 < p.settings.MinReplicasToWrite {
				p.warnf(p.setLines["min-replicas-to-write"], "min-replicas-to-write %d: %s has only %d replicas, so its master refuses every write", p.settings.MinReplicasToWrite, setLabel(set), len(set)-1)
			}
		}
	}
}

// warnf records a warning about a line (0 = the file).
func (p *parser) warnf(line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if line == 0 {
		p.warnings = append(p.warnings, p.errs.file+": warning: "+msg)
		return
	}
	p.warnings = append(p.warnings, fmt.Sprintf("%s:%d: warning: %s", p.errs.file, line, msg))
}
