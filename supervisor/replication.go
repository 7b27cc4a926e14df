package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
	"github.com/twine/twine/supervisor/setup"
)

// cleanMark is the file in a node's directory that says its last exit was
// a clean stop by twined (SIGTERM, data saved). It is removed at every
// start, so its absence after a start means the node ended some other way.
const cleanMark = "stopped-cleanly"

// failoverRetry is the pause between two SENTINEL FAILOVER requests while
// Sentinel finds no replica fit yet (one may be restarting).
const failoverRetry = 250 * time.Millisecond

// startRole decides the role the node starts in. A node alone in its set
// is a master. Otherwise, in order: the role a fail-over decided for it;
// the master the Sentinels name (the node itself, or the member it must
// replicate); the role its redis.conf records (as Sentinel or a
// switchover left it); the line order of twine.conf on a first start.
func (w *watcher) startRole() setup.Role {
	c, n := w.env.cluster, w.node
	if !c.Replicated(n) {
		return setup.Role{}
	}
	if w.override != nil {
		r := *w.override
		w.override = nil
		return r
	}
	if addr := w.sentinelMaster(); addr == n.Addr() {
		return setup.Role{}
	} else if addr != "" {
		return setup.Role{Upstream: addr}
	}
	r, err := setup.CurrentRole(c, n)
	if err != nil {
		w.log.Warn("could not read the recorded role; using twine.conf's", "error", err)
	}
	return r
}

// sentinelMaster asks the Sentinels, bounded by check-timeout, for the
// master of the node's set; "" when the set is not watched, no Sentinel
// answers, or they name an address outside the set.
func (w *watcher) sentinelMaster() string {
	c, n := w.env.cluster, w.node
	if !c.Watched(n) || w.env.sentinels == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(w.runCtx, w.env.settings.CheckTimeout)
	defer cancel()
	v := w.env.sentinels.Master(ctx, c.MasterName(n))
	if v.Addr == "" || !slices.ContainsFunc(c.SetOf(n), func(m config.Node) bool { return m.Addr() == v.Addr }) {
		return ""
	}
	return v.Addr
}

// wasMaster reports whether the node, now not running, is its set's
// master: as the Sentinels say, else as it last reported or as its
// redis.conf records.
func (w *watcher) wasMaster() bool {
	if !w.env.cluster.Replicated(w.node) {
		return false
	}
	if addr := w.sentinelMaster(); addr != "" {
		return addr == w.node.Addr()
	}
	if w.statusRole() == "master" {
		return true
	}
	r, ok, err := setup.RecordedRole(w.env.cluster, w.node)
	return err == nil && ok && r.Master()
}

func (w *watcher) statusRole() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status.Role
}

func (w *watcher) setRole(r setup.Role) {
	role := "master"
	if !r.Master() {
		role = "replica"
	}
	w.mu.Lock()
	if w.status.Role != "status" && w.status.Role != "sentinel" {
		w.status.Role = role
	}
	w.mu.Unlock()
}

// guardMaster handles the exit of a replicated master (an exit is a fact,
// not a suspicion): with Sentinels, it holds the node down and asks for
// an immediate fail-over; without, it holds it down for the operator,
// whatever its persistence: an RDB snapshot may be minutes old, and an AOF
// with fsync every second may lack up to two seconds of acknowledged
// writes even after a kill -9 (Redis postpones the write itself while an
// fsync is slow), which the replicas would lose by resyncing from it. It
// reports whether it took the node over; false leaves it to the usual
// restart.
func (w *watcher) guardMaster(at time.Time, errStr string) bool {
	c, n := w.env.cluster, w.node
	if !c.Replicated(n) || !w.wasMaster() {
		return false
	}
	w.exitAt = at
	if c.Watched(n) && w.env.sentinels != nil {
		w.setState(Held, "master exited; asking Sentinel for an immediate fail-over of "+c.MasterName(n), errStr)
		w.beginFailover()
		return true
	}
	w.setState(Held, w.operatorChoice(), errStr)
	return true
}

// operatorChoice is the Held reason of a master that no Sentinel watches:
// the two ways out, as commands.
func (w *watcher) operatorChoice() string {
	files := "its RDB snapshot may be older than its replicas"
	if w.env.settings.AppendOnly {
		files = "its AOF may lack its last seconds of writes, which its replicas have"
	}
	return fmt.Sprintf("master exited and %s: held down, %s has no master; "+
		"run `twined -failover %s` to promote the most up-to-date replica (this node then rejoins as its replica), "+
		"or `twined -start %s` to restart it as master (its replicas resync and lose what its files lack)",
		files, setName(w.node), setArg(w.node), w.node.Name)
}

// setName names the node's replica set for people.
func setName(n config.Node) string {
	if n.Kind == config.Status {
		return "the status set"
	}
	return fmt.Sprintf("partition %d", n.Partition)
}

// setArg is the argument of twined -failover for the node's set.
func setArg(n config.Node) string {
	if n.Kind == config.Status {
		return "status"
	}
	return fmt.Sprint(n.Partition)
}

// beginFailover runs the fail-over in the background: SENTINEL FAILOVER
// (retried while Sentinel finds no fit replica but one answers), then the
// wait for the switch, bounded by failover-timeout. The result is applied
// by the owner goroutine (onFailover).
func (w *watcher) beginFailover() {
	c, n := w.env.cluster, w.node
	name, self := c.MasterName(n), n.Addr()
	sentinels, timeout := w.env.sentinels, w.env.settings.FailoverTimeout
	peers := peersOf(c, n)
	password, checkTimeout := w.env.password, w.env.settings.CheckTimeout
	w.background(func(ctx context.Context) func() {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var via, addr string
		var err error
		for {
			via, err = sentinels.Failover(ctx, name, self)
			if !errors.Is(err, replset.ErrNoGoodReplica) || !anyAnswers(ctx, peers, password, checkTimeout) || !pause(ctx, failoverRetry) {
				break
			}
		}
		if err == nil {
			addr, err = sentinels.WaitSwitch(ctx, name, self, via, c.SetOf(n))
		}
		return func() { w.onFailover(addr, err) }
	})
}

// pause waits d, or until ctx ends; it reports whether d passed.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// peersOf returns the other members of n's set.
func peersOf(c *config.Cluster, n config.Node) []config.Node {
	return slices.DeleteFunc(c.SetOf(n), func(m config.Node) bool { return m.Name == n.Name })
}

// anyAnswers reports whether any of nodes answers ROLE as a replica.
func anyAnswers(ctx context.Context, nodes []config.Node, password string, timeout time.Duration) bool {
	for _, m := range nodes {
		if r, err := replset.RoleOf(ctx, m.Addr(), password, timeout); err == nil && r.Role == "replica" {
			return true
		}
	}
	return false
}

// onFailover applies the end of a fail-over: on success the old master
// starts as a replica of the new one; otherwise it restarts as master
// from its own files when it has some, and stays held when it has none
// (restarting it empty would wipe its replicas).
func (w *watcher) onFailover(addr string, err error) {
	if w.state != Held || w.proc != nil {
		return // the operator started or stopped it meanwhile
	}
	info := &FailoverInfo{Set: setName(w.node), Partition: w.node.Partition, Name: w.env.cluster.MasterName(w.node),
		Old: w.node.Name + " (" + w.node.Addr() + ")"}
	now := w.env.now()
	if err == nil {
		info.New = nodeLabel(w.env.cluster, addr)
		info.Refused = now.Sub(w.exitAt)
		reason := fmt.Sprintf("fail-over of %s done: %s is its master now (writes refused for %s); restarting as its replica",
			info.Set, info.New, info.Refused.Round(time.Millisecond))
		w.env.publish(Event{Kind: Failover, Time: now, Node: w.node.Name, From: Held, To: Held, Reason: reason, Failover: info})
		w.override = &setup.Role{Upstream: addr}
		w.setState(Down, reason, "")
		w.start()
		return
	}
	if w.hasOwnData() {
		reason := fmt.Sprintf("no replica took over %s within %s; restarting %s as master from its own files (its replicas resync from it)",
			info.Set, w.env.settings.FailoverTimeout, w.node.Name)
		w.env.publish(Event{Kind: FailoverFailed, Time: now, Node: w.node.Name, From: Held, To: Held, Reason: reason, Err: err.Error(), Failover: info})
		w.override = &setup.Role{}
		w.setState(Down, reason, err.Error())
		w.start()
		return
	}
	reason := fmt.Sprintf("no replica took over %s and %s has no data files: restarting it empty would wipe its replicas; held down until a replica is promoted (twined -failover %s) or the operator runs twined -start %s",
		info.Set, w.node.Name, setArg(w.node), w.node.Name)
	w.env.publish(Event{Kind: FailoverFailed, Time: now, Node: w.node.Name, From: Held, To: Held, Reason: reason, Err: err.Error(), Failover: info})
	w.setState(Held, reason, err.Error())
}

// nodeLabel is "NAME (HOST:PORT)" for an address of the cluster.
func nodeLabel(c *config.Cluster, addr string) string {
	if n, ok := c.NodeAt(addr); ok {
		return n.Name + " (" + addr + ")"
	}
	return addr
}

// hasOwnData reports whether the node has data files to restart from: an
// AOF directory or an RDB snapshot.
func (w *watcher) hasOwnData() bool {
	for _, f := range []string{"appendonlydir", "dump.rdb"} {
		if _, err := os.Stat(filepath.Join(w.files.Dir, f)); err == nil {
			return true
		}
	}
	return false
}

// pollHeld looks, in the background, for a new master of a held node's
// set (promoted by Sentinel, by twined -failover or by hand); once there
// is one the node starts as its replica.
func (w *watcher) pollHeld() {
	c, n := w.env.cluster, w.node
	sentinels, password, timeout := w.env.sentinels, w.env.password, w.env.settings.CheckTimeout
	peers := peersOf(c, n)
	w.background(func(ctx context.Context) func() {
		addr := ""
		if c.Watched(n) && sentinels != nil {
			if v := sentinels.Master(ctx, c.MasterName(n)); v.Addr != "" && v.Addr != n.Addr() {
				if r, err := replset.RoleOf(ctx, v.Addr, password, timeout); err == nil && r.Master() {
					addr = v.Addr
				}
			}
		} else {
			addr = replset.MasterByRole(ctx, peers, password, timeout)
		}
		return func() {
			if addr == "" || w.state != Held || w.proc != nil {
				return
			}
			w.override = &setup.Role{Upstream: addr}
			w.setState(Down, fmt.Sprintf("%s has a new master, %s; restarting as its replica", setName(n), nodeLabel(c, addr)), "")
			w.start()
		}
	})
}

// background runs job in its own goroutine under the watcher's context;
// the func it returns is run by the owner goroutine. One job at a time.
func (w *watcher) background(job func(ctx context.Context) func()) {
	w.busy = true
	ctx := w.runCtx
	go func() {
		apply := job(ctx)
		select {
		case w.jobs <- apply:
		case <-ctx.Done():
		}
	}()
}

// markClean records a clean stop by twined; clearClean forgets it at a
// start.
func (w *watcher) markClean() {
	if err := os.WriteFile(filepath.Join(w.files.Dir, cleanMark), []byte(w.env.now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		w.log.Debug("could not record the clean stop", "error", err)
	}
}

func (w *watcher) clearClean() {
	_ = os.Remove(filepath.Join(w.files.Dir, cleanMark))
}

// endedUncleanly reports whether the node has run before and did not end
// in a clean stop by twined: killed, crashed, or stopped while twined was
// not watching. Its files may then be older than its replicas.
func (w *watcher) endedUncleanly() bool {
	if _, err := os.Stat(w.files.Conf); err != nil {
		return false // first start
	}
	_, err := os.Stat(filepath.Join(w.files.Dir, cleanMark))
	return errors.Is(err, os.ErrNotExist)
}

// reconcileSentinel brings this host's Sentinel in line with twine.conf
// (SENTINEL MONITOR, SET, REMOVE), in the background.
func (w *watcher) reconcileSentinel() {
	if w.env.sentinels == nil {
		return
	}
	sentinels, addr := w.env.sentinels, w.node.Addr()
	want, prefixes := replset.Monitors(w.env.cluster), w.env.prefixes
	log := w.log
	w.background(func(ctx context.Context) func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		changes, err := sentinels.Reconcile(ctx, addr, want, prefixes)
		return func() {
			if len(changes) > 0 {
				log.Info("sentinel brought in line with twine.conf", "changes", fmt.Sprint(changes))
			}
			if err != nil {
				log.Warn("sentinel not fully in line with twine.conf; retried at its next start or reload", "error", err)
			}
		}
	})
}

// sentinelMasters returns, for a Sentinel's first sentinel.conf, the
// current master of every watched set as the other Sentinels or the
// nodes' ROLE tell (sets nobody answers for are left out).
func (w *watcher) sentinelMasters() map[string]string {
	out := map[string]string{}
	if w.env.sentinels == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(w.runCtx, 2*w.env.settings.CheckTimeout)
	defer cancel()
	for _, set := range w.env.cluster.WatchedSets() {
		if addr := w.env.sentinels.FindMaster(ctx, set.Name, set.Nodes); addr != "" {
			out[set.Name] = addr
		}
	}
	return out
}
