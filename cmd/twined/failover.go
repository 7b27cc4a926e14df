package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"
	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
)

// switchCatchUp bounds how long a switchover waits, writes paused, for the
// replicas to receive the master's last writes.
const switchCatchUp = 5 * time.Second

// runFailover carries out `twined -failover P`: a planned switchover of
// partition P (or the status set) to its most up-to-date replica, losing
// no acknowledged write, through Sentinel where one watches the set. It
// talks to the nodes and Sentinels directly, so it runs from any machine
// holding twine.conf.
func runFailover(ctx context.Context, o options, stdout io.Writer) error {
	c, _, err := loadConfig(o.config)
	if err != nil {
		return &mainutil.ExitError{Code: 2, Err: err}
	}
	set, label, err := failoverSet(c, o.failover)
	if err != nil {
		return &mainutil.ExitError{Code: 2, Err: err}
	}
	password, err := c.Settings().RedisPassword()
	if err != nil {
		return err
	}
	s := c.Settings()
	opts := replset.SwitchoverOptions{
		Name: c.MasterName(set[0]), Set: set, Password: password,
		Timeout: max(s.CheckTimeout, time.Second), CatchUp: switchCatchUp, Failover: s.FailoverTimeout,
	}
	how := "by twined (no Sentinel watches it)"
	if c.Watched(set[0]) {
		host, _ := resolveHost(c, o.host)
		opts.Sentinels = replset.NewSentinels(c, host, password, opts.Timeout)
		defer opts.Sentinels.Close()
		how = "through Sentinel, as " + opts.Name
	}
	fmt.Fprintf(stdout, "switching %s over %s; writes pause until its replicas have every write...\n", label, how)
	ctx, cancel := context.WithTimeout(ctx, s.FailoverTimeout+switchCatchUp+10*time.Second)
	defer cancel()
	sw, err := replset.Switchover(ctx, opts)
	if err != nil {
		if sw.New != "" {
			return fmt.Errorf("%s: %s is master now, but: %w", label, nodeName(c, sw.New), err)
		}
		if errors.Is(err, replset.ErrNoReplica) || errors.Is(err, replset.ErrNoGoodReplica) {
			return fmt.Errorf("%s: %w; nothing changed", label, err)
		}
		return fmt.Errorf("%s: %w", label, err)
	}
	was := "was " + nodeName(c, sw.Old)
	if sw.OldDown {
		was += ", down; it rejoins as a replica when its twined sees the new master"
	}
	fmt.Fprintf(stdout, "%s: master is now %s (%s); writes refused for %s\n", label, nodeName(c, sw.New), was, sw.Refused.Round(time.Millisecond))
	return nil
}

// failoverSet returns the replica set named by -failover's argument.
func failoverSet(c *config.Cluster, arg string) ([]config.Node, string, error) {
	if arg == "status" {
		set := c.StatusNodes()
		if len(set) < 2 {
			return nil, "", fmt.Errorf("-failover status: %s has %d status nodes, no replica to fail over to", c.File(), len(set))
		}
		return set, "the status set", nil
	}
	p, err := strconv.Atoi(arg)
	if err != nil || p < 0 || p >= c.Partitions() {
		return nil, "", fmt.Errorf("-failover %q: want a partition 0..%d, or status", arg, c.Partitions()-1)
	}
	set := c.ReplicaSet(p)
	if len(set) < 2 {
		return nil, "", fmt.Errorf("-failover %d: partition %d has a single node (%s), no replica to fail over to", p, p, set[0].Name)
	}
	return set, fmt.Sprintf("partition %d", p), nil
}

// nodeName is "NAME (HOST:PORT)" for an address of the cluster.
func nodeName(c *config.Cluster, addr string) string {
	if n, ok := c.NodeAt(addr); ok {
		return n.Name + " (" + addr + ")"
	}
	return addr
}
