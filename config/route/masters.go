package route

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
)

// followPoll is how often a Router asks the Sentinels again while it waits
// for a fail-over to name a new master.
const followPoll = 100 * time.Millisecond

// masterTable is the Router's view of each partition's master: the initial
// master of twine.conf, or, for a partition that Sentinels watch, the one
// they name (asked at first use, and again after a failure that a
// fail-over explains).
type masterTable struct {
	mu       sync.Mutex
	nodes    []config.Node // by partition
	resolved []bool        // the Sentinels were asked for it
	watched  []bool
	sent     *replset.Sentinels // nil without Sentinels
}

func newMasterTable(c *config.Cluster, password string, timeout time.Duration) (*masterTable, error) {
	t := &masterTable{}
	for p := range c.Partitions() {
		m, ok := c.InitialMaster(p)
		if !ok {
			return nil, errors.New("route: partition has no node")
		}
		t.nodes = append(t.nodes, m)
		t.watched = append(t.watched, c.Watched(m))
	}
	t.resolved = make([]bool, len(t.nodes))
	if len(c.Sentinels()) > 0 {
		t.sent = replset.NewSentinels(c, "", password, timeout)
	}
	return t, nil
}

// MasterOf returns partition p's master: the node the Sentinels name for
// a partition they watch (asked once, then kept until a command there
// fails as a fail-over would make it fail), else its initial master in
// twine.conf.
func (r *Router) MasterOf(ctx context.Context, p int) config.Node {
	t := r.mtab
	t.mu.Lock()
	n, need := t.nodes[p], t.watched[p] && !t.resolved[p]
	t.mu.Unlock()
	if !need {
		return n
	}
	if m, ok := r.askSentinels(ctx, p, false); ok {
		n = m
	}
	t.mu.Lock()
	t.resolved[p] = true
	t.nodes[p] = n
	t.mu.Unlock()
	return n
}

// askSentinels asks the Sentinels for p's master and confirms it with
// ROLE; with changed, only a master other than the current one counts.
func (r *Router) askSentinels(ctx context.Context, p int, changed bool) (config.Node, bool) {
	t := r.mtab
	t.mu.Lock()
	cur := t.nodes[p]
	t.mu.Unlock()
	v := t.sent.Master(ctx, r.cluster.MasterName(cur))
	if v.Addr == "" || changed && v.Addr == cur.Addr() {
		return config.Node{}, false
	}
	n, ok := r.cluster.NodeAt(v.Addr)
	if !ok || !slices.ContainsFunc(r.cluster.ReplicaSet(p), func(m config.Node) bool { return m.Name == n.Name }) {
		return config.Node{}, false
	}
	role, err := replset.RoleOf(ctx, n.Addr(), r.password, r.opts.DialTimeout)
	if err != nil || !role.Master() {
		return config.Node{}, false
	}
	return n, true
}

// follow waits, bounded by the cluster's failover-timeout and ctx, for
// the Sentinels to name a new master of p that answers as one, and
// records it. It reports whether one came.
func (r *Router) follow(ctx context.Context, p int) (config.Node, bool) {
	ctx, cancel := context.WithTimeout(ctx, r.cluster.Settings().FailoverTimeout)
	defer cancel()
	for {
		if n, ok := r.askSentinels(ctx, p, true); ok {
			r.mtab.mu.Lock()
			r.mtab.nodes[p] = n
			r.mtab.mu.Unlock()
			return n, true
		}
		select {
		case <-ctx.Done():
			return config.Node{}, false
		case <-time.After(followPoll):
		}
	}
}

// doMaster runs args on partition p's master. Where Sentinels watch p and
// the command failed as a fail-over makes it fail, it waits for the new
// master and sends the command there once more, when that is sure not to
// apply it twice: the first try was refused (READONLY: the old master is
// a replica now) or never reached the node (connection refused), or the
// command only reads.
func (r *Router) doMaster(ctx context.Context, p int, cmd *Command, args [][]byte) (Reply, error) {
	n := r.MasterOf(ctx, p)
	reply, err := r.DoOn(ctx, n, args)
	if !r.mtab.watched[p] || r.mtab.sent == nil || !failedOver(reply, err) || !(notApplied(reply, err) || readOnly(cmd)) {
		return reply, err
	}
	next, ok := r.follow(ctx, p)
	if !ok {
		return reply, err
	}
	return r.DoOn(ctx, next, args)
}

// failedOver reports whether a command's outcome is what a master that
// failed over gives: unreachable, or a replica now (READONLY).
func failedOver(reply Reply, err error) bool {
	if err != nil {
		return errors.Is(err, ErrNodeDown)
	}
	return reply.Kind == Error && bytes.HasPrefix(reply.Str, []byte("READONLY"))
}

// notApplied reports whether the command surely did not run: refused by
// a replica, or its connection never opened.
func notApplied(reply Reply, err error) bool {
	if err == nil {
		return reply.Kind == Error && bytes.HasPrefix(reply.Str, []byte("READONLY"))
	}
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &op) && op.Op == "dial"
}

// readOnly reports whether Redis flags the command readonly.
func readOnly(cmd *Command) bool {
	return cmd != nil && slices.Contains(cmd.Flags, "readonly")
}
