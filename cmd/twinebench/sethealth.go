package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
)

// Patience of the fail-over scenarios' waits. None of them is timed.
const (
	// healthyLimit bounds the wait for a healthy set. Sentinel refreshes
	// a replica's INFO every 10 s, so it may see a rejoined replica's link
	// up only that much later; a returning master is converted to a
	// replica 8 s after it reported its role, at one of those refreshes.
	healthyLimit = 2 * time.Minute
	// rejoinLimit bounds the wait for a lost master to be a replica again.
	rejoinLimit = 90 * time.Second
	// lookEvery is the pace of those waits.
	lookEvery = 100 * time.Millisecond
	// checkTimeout bounds one request of a check.
	checkTimeout = time.Second
)

// newSentinelClient returns a client of the Sentinel at addr, with no
// retries, every call bounded by checkTimeout.
func newSentinelClient(addr string) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{
		Addr:                     addr,
		Protocol:                 2,
		DisableIdentity:          true,
		DialTimeout:              checkTimeout,
		ReadTimeout:              checkTimeout,
		WriteTimeout:             checkTimeout,
		ContextTimeoutEnabled:    true,
		PoolSize:                 2,
		MaxRetries:               -1,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// waitHealthy waits until the set is healthy (see look) and returns its
// master.
func (s *setSession) waitHealthy(ctx context.Context, limit time.Duration) (config.Node, error) {
	var m config.Node
	err := eventually(ctx, limit, lookEvery, func() error {
		var err error
		m, err = s.look(ctx)
		return err
	})
	if err != nil {
		return config.Node{}, fmt.Errorf("wait for a healthy set: %w", err)
	}
	return m, nil
}

// look checks the set once: every data node answers ROLE, exactly one is
// a master, the others are its replicas with their link up, and every
// Sentinel names that master (flags just "master": no fail-over under
// way), sees both replicas with master-link-status ok and knows the other
// Sentinels. It returns the master, or an error saying what is not so
// yet.
func (s *setSession) look(ctx context.Context) (config.Node, error) {
	roles := make(map[string]replset.NodeRole, len(s.set))
	var masters []config.Node
	for _, n := range s.set {
		r, err := replset.Role(ctx, s.nodes[n.Name], checkTimeout)
		if err != nil {
			return config.Node{}, fmt.Errorf("node %s: %w", n.Name, err)
		}
		roles[n.Name] = r
		if r.Master() {
			masters = append(masters, n)
		}
	}
	if len(masters) != 1 {
		return config.Node{}, fmt.Errorf("%d masters, want 1", len(masters))
	}
	m := masters[0]
	for _, n := range s.set {
		if r := roles[n.Name]; n.Name != m.Name && (r.Upstream != m.Addr() || r.State != "connected") {
			return config.Node{}, fmt.Errorf("node %s: a %s of %s, link %s; want a connected replica of %s", n.Name, r.Role, r.Upstream, r.State, m.Name)
		}
	}
	name := s.c.conf.MasterName(m)
	for _, sn := range s.c.conf.Sentinels() {
		if err := sentinelSees(ctx, s.sentinels[sn.Name], name, m, len(s.set)-1, len(s.sentinels)-1); err != nil {
			return config.Node{}, fmt.Errorf("sentinel %s: %w", sn.Name, err)
		}
	}
	return m, nil
}

// sentinelSees checks that one Sentinel names m as the master of name,
// with no fail-over under way, sees replicas replicas with their link up
// and knows peers other Sentinels.
func sentinelSees(ctx context.Context, sc *redis.SentinelClient, name string, m config.Node, replicas, peers int) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	got, err := sc.Master(ctx, name).Result()
	if err != nil {
		return err
	}
	if addr := net.JoinHostPort(got["ip"], got["port"]); addr != m.Addr() || got["flags"] != "master" {
		return fmt.Errorf("names master %s (flags %s), want %s", addr, got["flags"], m.Addr())
	}
	reps, err := sc.Replicas(ctx, name).Result()
	if err != nil {
		return err
	}
	ok := 0
	for _, r := range reps {
		if r["flags"] == "slave" && r["master-link-status"] == "ok" {
			ok++
		}
	}
	if ok != replicas {
		return fmt.Errorf("sees %d replicas with their link up, want %d", ok, replicas)
	}
	ss, err := sc.Sentinels(ctx, name).Result()
	if err != nil {
		return err
	}
	live := 0
	for _, p := range ss {
		if p["flags"] == "sentinel" {
			live++
		}
	}
	if live != peers {
		return fmt.Errorf("knows %d other Sentinels, want %d", live, peers)
	}
	return nil
}

// waitRejoined waits until old answers ROLE as a replica of master with
// its link up.
func (s *setSession) waitRejoined(ctx context.Context, old, master config.Node, limit time.Duration) error {
	err := eventually(ctx, limit, lookEvery, func() error {
		r, err := replset.Role(ctx, s.nodes[old.Name], checkTimeout)
		switch {
		case err != nil:
			return err
		case r.Upstream != master.Addr() || r.State != "connected":
			return fmt.Errorf("a %s of %s, link %s", r.Role, r.Upstream, r.State)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("wait for %s to rejoin as a replica of %s: %w", old.Name, master.Name, err)
	}
	return nil
}

// eventually calls f every `every` until it returns nil, and fails with
// f's last error once limit has passed; it returns ctx's error when ctx
// ends first.
func eventually(ctx context.Context, limit, every time.Duration, f func() error) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still not so after %s: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
