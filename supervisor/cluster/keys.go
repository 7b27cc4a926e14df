// Package cluster makes the hosts of a Twine cluster one: every twined
// publishes its host's snapshot to the status node, one of them holds the
// alpha lease and computes the cluster's status from all of them, and any
// machine holding twine.conf reads that view back. The alpha decides
// nothing that can lose data: losing its lease at worst duplicates a mail.
//
// # Keys on the status node (a public contract)
//
// The status node is the master of the status set (the `status` lines of
// twine.conf; with Sentinels, the master Sentinel names as CLUSTER-status),
// in the db of its line. Every key starts with the cluster's name (`set
// cluster`, default twine):
//
//	twine:host:HOST     JSON of HOST's snapshot (HostRecord), written by its
//	                    twined every check-interval with an expiry of
//	                    host-ttl: a host whose key has expired is lost
//	twine:alpha         JSON of the alpha lease (Lease), SET NX PX alpha-ttl,
//	                    renewed by its holder with a compare-and-set
//	twine:alpha:epoch   a counter, INCR by every new holder: the lease's epoch
//	twine:cluster       JSON of the cluster's status (Status), written by the
//	                    alpha only while it holds the lease (fenced: a write
//	                    whose lease value is no longer the key's is refused)
//	twine:incidents     JSON of the open incidents (the alpha's mail state),
//	                    fenced the same way, so that a new alpha continues them
//
// Other tools may read these keys; they must not write them.
package cluster

import "github.com/twine/twine/config"

// Keys are the status-node keys of one cluster.
type Keys struct {
	Prefix    string // "twine:"
	Alpha     string
	Epoch     string
	Cluster   string
	Incidents string
}

// KeysOf returns c's keys.
func KeysOf(c *config.Cluster) Keys {
	p := c.Settings().Cluster + ":"
	return Keys{Prefix: p, Alpha: p + "alpha", Epoch: p + "alpha:epoch", Cluster: p + "cluster", Incidents: p + "incidents"}
}

// Host returns the key of host's snapshot.
func (k Keys) Host(host string) string { return k.Prefix + "host:" + host }
