package replset

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twine/twine/config"
)

// ErrNoReplica: no replica of the set answers, so none can take over.
var ErrNoReplica = errors.New("no replica of the set answers")

// Switch is what a switchover did.
type Switch struct {
	Old, New string        // the masters before and after, HOST:PORT
	Refused  time.Duration // how long writes were refused (paused, or no master)
	Via      string        // "sentinel" or "twined"
	OldDown  bool          // the old master was not running
}

// SwitchoverOptions say how to reach a set.
type SwitchoverOptions struct {
	Name      string        // the Sentinel master name (CLUSTER-P)
	Set       []config.Node // the replica set
	Sentinels *Sentinels    // nil when no Sentinel watches the set
	Password  string
	Timeout   time.Duration // one call to one node
	// CatchUp bounds the wait for the replicas to reach the master's
	// offset while its writes are paused.
	CatchUp time.Duration
	// Failover bounds the whole switch (Sentinel's failover-timeout).
	Failover time.Duration
}

// Switchover hands the set's mastership to its most up-to-date replica
// without losing an acknowledged write. With a live master its writes are
// paused (CLIENT PAUSE WRITE) until every replica has all of them, then
// the switch is made, through Sentinel (SENTINEL FAILOVER) where one
// watches the set, else by Redis itself (FAILOVER TO); the pause ends
// when the new master answers. With the master down, the replica with the
// highest replication offset is promoted: by Sentinel, or by REPLICAOF NO
// ONE and the other replicas repointed. Roles are saved (CONFIG REWRITE)
// so that they survive restarts.
func Switchover(ctx context.Context, o SwitchoverOptions) (Switch, error) {
	roles, errs := roles(ctx, o.Set, o.Password, o.Timeout)
	master := -1
	if o.Sentinels != nil {
		if v := o.Sentinels.Master(ctx, o.Name); v.Addr != "" {
			for i, n := range o.Set {
				if n.Addr() == v.Addr {
					master = i
				}
			}
		}
	}
	if master < 0 {
		master = currentMaster(o.Set, roles, errs)
	}
	if master < 0 {
		return Switch{}, fmt.Errorf("switch over %s: no master found: %w", o.Name, errors.Join(errs...))
	}
	old := o.Set[master].Addr()
	if errs[master] != nil || !roles[master].Master() {
		return promoteFromDown(ctx, o, old, roles, errs)
	}
	return switchLive(ctx, o, master, roles, errs)
}

// roles asks every node of set for ROLE in parallel.
func roles(ctx context.Context, set []config.Node, password string, timeout time.Duration) ([]NodeRole, []error) {
	rs := make([]NodeRole, len(set))
	errs := make([]error, len(set))
	var wg sync.WaitGroup
	for i, n := range set {
		wg.Go(func() { rs[i], errs[i] = RoleOf(ctx, n.Addr(), password, timeout) })
	}
	wg.Wait()
	return rs, errs
}

// currentMaster returns the index of the set's master without Sentinel:
// the member that answers ROLE as a master, else the one the answering
// replicas replicate; -1 when neither tells.
func currentMaster(set []config.Node, rs []NodeRole, errs []error) int {
	for i := range set {
		if errs[i] == nil && rs[i].Master() {
			return i
		}
	}
	for i := range set {
		if errs[i] != nil || rs[i].Role != "replica" {
			continue
		}
		for j, n := range set {
			if n.Addr() == rs[i].Upstream {
				return j
			}
		}
	}
	return -1
}

// switchLive moves mastership away from the live master set[m].
func switchLive(ctx context.Context, o SwitchoverOptions, m int, rs []NodeRole, errs []error) (Switch, error) {
	if o.Sentinels == nil {
		return failoverTo(ctx, o, m, rs, errs)
	}
	old := o.Set[m].Addr()
	sw := Switch{Old: old, Via: "sentinel"}
	// Writes are paused only once Sentinel sees a replica it can promote:
	// it would refuse (NOGOODSLAVE) while its view of them is stale.
	if err := waitFit(ctx, o); err != nil {
		return sw, err
	}
	mc := NewClient(old, o.Password, o.Timeout)
	defer mc.Close()
	begin := time.Now()
	pause := o.Failover + o.CatchUp + 5*time.Second
	pctx, cancel := context.WithTimeout(ctx, o.Timeout)
	err := mc.Do(pctx, "CLIENT", "PAUSE", strconv.FormatInt(pause.Milliseconds(), 10), "WRITE").Err()
	cancel()
	if err != nil {
		return sw, fmt.Errorf("switch over %s: pause writes on %s: %w", o.Name, old, err)
	}
	defer func() {
		// Always lifted, with a fresh context: a cancelled switch must
		// not leave the old master paused until the timeout.
		uctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
		defer cancel()
		_ = mc.Do(uctx, "CLIENT", "UNPAUSE").Err()
	}()
	if _, err := caughtUp(ctx, o, m); err != nil {
		return sw, err
	}
	via, err := o.Sentinels.Failover(ctx, o.Name, old)
	if err != nil {
		return sw, err
	}
	wctx, cancel := context.WithTimeout(ctx, o.Failover)
	defer cancel()
	if sw.New, err = o.Sentinels.WaitSwitch(wctx, o.Name, old, via, o.Set); err != nil {
		return sw, err
	}
	sw.Refused = time.Since(begin)
	// Sentinel demotes the old master only at its next look at it, seconds
	// later: lifting the pause before would let it take writes that its
	// resync then wipes. Demote it now, still paused.
	host, port, _ := net.SplitHostPort(sw.New)
	dctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := mc.Do(dctx, "REPLICAOF", host, port).Err(); err != nil {
		return sw, fmt.Errorf("switch over %s: demote the old master %s: %w", o.Name, o.Set[m].Name, err)
	}
	_ = mc.Do(dctx, "CONFIG", "REWRITE").Err()
	return sw, nil
}

// sentinelView bounds how long a switchover waits for Sentinel to see a
// replica fit to promote: its INFO period is 10 s.
const sentinelView = 15 * time.Second

// waitFit waits, bounded by sentinelView, until the Sentinels see a
// replica of the set that they can promote.
func waitFit(ctx context.Context, o SwitchoverOptions) error {
	deadline := time.Now().Add(sentinelView)
	for {
		n, err := o.Sentinels.FitReplicas(ctx, o.Name)
		if err == nil && n > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("switch over %s: %w", o.Name, err)
			}
			return fmt.Errorf("switch over %s: after %s Sentinel still sees no replica in sync that it could promote: %w", o.Name, sentinelView, ErrNoGoodReplica)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// failoverTo switches a set no Sentinel watches with Redis's own
// coordinated FAILOVER: the master pauses its writes, waits until the
// most up-to-date connected replica has them all, and becomes its
// replica; the other replicas are then repointed.
func failoverTo(ctx context.Context, o SwitchoverOptions, m int, rs []NodeRole, errs []error) (Switch, error) {
	old := o.Set[m].Addr()
	sw := Switch{Old: old, Via: "twined"}
	target := -1
	for i, r := range rs {
		if i == m || errs[i] != nil || r.Role != "replica" || r.Upstream != old || r.State != "connected" {
			continue
		}
		if target < 0 || r.Offset > rs[target].Offset {
			target = i
		}
	}
	if target < 0 {
		return sw, fmt.Errorf("switch over %s: %w connected to the master %s", o.Name, ErrNoReplica, old)
	}
	mc := NewClient(old, o.Password, o.Timeout)
	defer mc.Close()
	begin := time.Now()
	host, port, _ := net.SplitHostPort(o.Set[target].Addr())
	fctx, cancel := context.WithTimeout(ctx, o.Timeout)
	err := mc.Do(fctx, "FAILOVER", "TO", host, port, "TIMEOUT", strconv.FormatInt(o.Failover.Milliseconds(), 10)).Err()
	cancel()
	if err != nil {
		return sw, fmt.Errorf("switch over %s: FAILOVER TO %s on %s: %w", o.Name, o.Set[target].Name, o.Set[m].Name, err)
	}
	sw.New = o.Set[target].Addr()
	if err := waitRole(ctx, o, target, true, o.Failover); err != nil {
		return sw, err
	}
	sw.Refused = time.Since(begin)
	if err := waitRole(ctx, o, m, false, o.Failover); err != nil {
		return sw, err
	}
	return sw, repoint(ctx, o, target, -1)
}

// caughtUp waits, bounded by o.CatchUp, until every answering replica of
// the paused master set[m] has its whole offset, and returns the replica
// to promote. A replica that stays behind fails the switchover: Sentinel
// could pick it (its view of offsets is seconds old) and lose writes.
func caughtUp(ctx context.Context, o SwitchoverOptions, m int) (int, error) {
	deadline := time.Now().Add(o.CatchUp)
	for {
		rs, errs := roles(ctx, o.Set, o.Password, o.Timeout)
		if errs[m] != nil {
			return -1, fmt.Errorf("switch over %s: the master stopped answering: %w", o.Name, errs[m])
		}
		want := rs[m].Offset
		target, behind := -1, ""
		for i, r := range rs {
			if i == m || errs[i] != nil || r.Role != "replica" {
				continue
			}
			if r.Offset < want || r.Upstream != o.Set[m].Addr() || r.State != "connected" {
				behind = fmt.Sprintf("%s is at offset %d of %d (%s)", o.Set[i].Name, r.Offset, want, r.State)
				continue
			}
			if target < 0 {
				target = i
			}
		}
		switch {
		case target >= 0 && behind == "":
			return target, nil
		case time.Now().After(deadline) && target < 0:
			return -1, fmt.Errorf("switch over %s: %w caught up with the master", o.Name, ErrNoReplica)
		case time.Now().After(deadline):
			return -1, fmt.Errorf("switch over %s: not switching: %s after %s; a lagging replica could be promoted", o.Name, behind, o.CatchUp)
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// promoteFromDown makes the most up-to-date replica of a set whose master
// (old) is down the master.
func promoteFromDown(ctx context.Context, o SwitchoverOptions, old string, rs []NodeRole, errs []error) (Switch, error) {
	sw := Switch{Old: old, OldDown: true, Via: "twined"}
	begin := time.Now()
	if o.Sentinels != nil {
		sw.Via = "sentinel"
		via, err := o.Sentinels.Failover(ctx, o.Name, old)
		if err != nil {
			return sw, err
		}
		wctx, cancel := context.WithTimeout(ctx, o.Failover)
		defer cancel()
		sw.New, err = o.Sentinels.WaitSwitch(wctx, o.Name, old, via, o.Set)
		sw.Refused = time.Since(begin)
		return sw, err
	}
	best := -1
	for i, r := range rs {
		if errs[i] != nil || r.Role != "replica" {
			continue
		}
		if best < 0 || r.Offset > rs[best].Offset {
			best = i
		}
	}
	if best < 0 {
		return sw, fmt.Errorf("switch over %s: the master %s is down and %w", o.Name, old, ErrNoReplica)
	}
	c := NewClient(o.Set[best].Addr(), o.Password, o.Timeout)
	defer c.Close()
	pctx, cancel := context.WithTimeout(ctx, o.Timeout)
	err := c.Do(pctx, "REPLICAOF", "NO", "ONE").Err()
	cancel()
	if err != nil {
		return sw, fmt.Errorf("switch over %s: promote %s: %w", o.Name, o.Set[best].Name, err)
	}
	sw.New = o.Set[best].Addr()
	if err := waitRole(ctx, o, best, true, o.Failover); err != nil {
		return sw, err
	}
	sw.Refused = time.Since(begin)
	down := -1
	for i, n := range o.Set {
		if n.Addr() == old {
			down = i
		}
	}
	return sw, repoint(ctx, o, best, down)
}

// waitRole waits until set[i] answers ROLE as a master (master true) or
// as a replica (false).
func waitRole(ctx context.Context, o SwitchoverOptions, i int, master bool, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		r, err := RoleOf(ctx, o.Set[i].Addr(), o.Password, o.Timeout)
		if err == nil && r.Master() == master {
			return nil
		}
		if time.Now().After(deadline) {
			want := "a replica"
			if master {
				want = "a master"
			}
			return fmt.Errorf("switch over %s: %s is not %s after %s (%v)", o.Name, o.Set[i].Name, want, bound, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// repoint makes every answering member other than set[master] a replica
// of it and saves each role with CONFIG REWRITE; skip is left alone when
// it is down (its twined starts it as a replica).
func repoint(ctx context.Context, o SwitchoverOptions, master, skip int) error {
	host, port, _ := net.SplitHostPort(o.Set[master].Addr())
	var errs []error
	for i, n := range o.Set {
		c := NewClient(n.Addr(), o.Password, o.Timeout)
		cctx, cancel := context.WithTimeout(ctx, o.Timeout)
		var err error
		if i != master {
			var r NodeRole
			if r, err = Role(cctx, c, o.Timeout); err == nil && (r.Master() || r.Upstream != o.Set[master].Addr()) {
				err = c.Do(cctx, "REPLICAOF", host, port).Err()
			}
		}
		if err == nil {
			err = c.Do(cctx, "CONFIG", "REWRITE").Err()
		}
		cancel()
		c.Close()
		if err != nil && i != skip {
			errs = append(errs, fmt.Errorf("%s: %w", n.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("switch over %s: repoint the replicas: %w", o.Name, errors.Join(errs...))
	}
	return nil
}
