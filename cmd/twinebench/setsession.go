package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
	"github.com/twine/twine/supervisor/setup"
)

// setSession is the fail-over cluster (newSetCluster) run for one row of
// a fail-over scenario: under a twined per host (launched under the
// reaper, like every supervisor the bench measures), or, with no twined
// binary, as plain Redis Sentinel: the redis.conf and sentinel.conf files
// twined would write, every redis-server and Sentinel started by the
// bench itself, no supervisor. Everything it starts is ended, by PID, in
// close. It belongs to one goroutine.
type setSession struct {
	b      *bench
	c      *cluster
	set    []config.Node        // partition 0, initial master first
	twined string               // twined binary; "" for plain Sentinel
	httpd  map[string]string    // by host: its twined's listener
	hosts  map[string]*launched // by host: its running twined
	lost   []*launched          // twineds killed by loseHost
	procs  map[string]*child    // plain Sentinel: the processes, by node name

	// Clients for the health checks, by node name.
	nodes     map[string]*redis.Client
	sentinels map[string]*redis.SentinelClient
}

// setSession runs fn on a fresh fail-over cluster, started under twined
// (twined is its binary) or as plain Sentinel (twined ""), and tears
// everything down afterwards, whatever fn returned. fn waits for the set
// to be healthy itself.
func (b *bench) setSession(ctx context.Context, twined string, fn func(s *setSession) error) (err error) {
	c, httpd, err := newSetCluster(b.tmp, b.redis, []string{twinedStopTimeout})
	if err != nil {
		return err
	}
	s := &setSession{
		b: b, c: c, set: c.conf.ReplicaSet(0), twined: twined, httpd: httpd,
		hosts: map[string]*launched{}, procs: map[string]*child{},
		nodes: map[string]*redis.Client{}, sentinels: map[string]*redis.SentinelClient{},
	}
	for _, n := range s.set {
		s.nodes[n.Name] = replset.NewClient(n.Addr(), "", checkTimeout)
	}
	for _, n := range c.conf.Sentinels() {
		s.sentinels[n.Name] = newSentinelClient(n.Addr())
	}
	defer func() {
		if cerr := s.close(); err == nil {
			err = cerr
		}
	}()
	if err := s.start(); err != nil {
		return err
	}
	return fn(s)
}

// plain reports whether the session runs plain Sentinel, no twined.
func (s *setSession) plain() bool { return s.twined == "" }

// start starts every host: its twined, or, for plain Sentinel, the
// configs and then every redis-server and Sentinel.
func (s *setSession) start() error {
	if !s.plain() {
		for _, h := range setHosts {
			if err := s.launchHost(h); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.writeConfigs(); err != nil {
		return err
	}
	for _, n := range s.c.nodes {
		if err := s.startNode(n); err != nil {
			return err
		}
	}
	return nil
}

// launchHost runs host's twined, its output appended to
// twined-HOST.log in the cluster's directory.
func (s *setSession) launchHost(host string) error {
	argv := []string{s.twined, "-config", s.c.file, "-host", host, "-httpd", s.httpd[host]}
	l, err := launch(argv, s.c.path("twined-"+host+".log"))
	if err != nil {
		return err
	}
	s.hosts[host] = l
	return nil
}

// writeConfigs writes, for plain Sentinel, what twined would on a first
// start: each data node's redis.conf with the role twine.conf's line
// order gives it, and each Sentinel's first sentinel.conf (which Sentinel
// then rewrites).
func (s *setSession) writeConfigs() error {
	for _, n := range s.c.nodes {
		var b []byte
		var err error
		if n.Kind == config.Sentinel {
			b, err = setup.RenderSentinel(s.c.conf, n, "", nil)
		} else {
			b, err = setup.Render(s.c.conf, n, "", setup.InitialRole(s.c.conf, n))
		}
		if err != nil {
			return err
		}
		f := s.c.conf.Files(n)
		if err := os.MkdirAll(f.Dir, 0o750); err != nil {
			return fmt.Errorf("write the config of %s: %w", n.Name, err)
		}
		if err := os.WriteFile(f.Conf, b, 0o644); err != nil {
			return fmt.Errorf("write the config of %s: %w", n.Name, err)
		}
	}
	return nil
}

// startNode starts, for plain Sentinel, node n from its config: as
// `redis-server redis.conf`, or `redis-server sentinel.conf --sentinel`.
func (s *setSession) startNode(n config.Node) error {
	f := s.c.conf.Files(n)
	argv := []string{s.c.redis, f.Conf}
	if n.Kind == config.Sentinel {
		argv = append(argv, "--sentinel")
	}
	ch, err := startChild(argv, f.Dir)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	s.c.saw(ch.PID())
	s.procs[n.Name] = ch
	return nil
}

// pidOf returns the PID of the process serving n, as n itself tells
// (INFO server), once it is sure that PID is n's redis-server.
func (s *setSession) pidOf(ctx context.Context, n config.Node) (int, error) {
	pid, err := currentPID(ctx, n.Addr())
	if err != nil {
		return 0, err
	}
	s.c.saw(pid)
	if !serves(pid, n) {
		return 0, fmt.Errorf("node %s: pid %d is not its redis-server", n.Name, pid)
	}
	return pid, nil
}

// killMaster SIGKILLs m's redis-server and returns when it did.
func (s *setSession) killMaster(ctx context.Context, m config.Node) (time.Time, error) {
	pid, err := s.pidOf(ctx, m)
	if err != nil {
		return time.Time{}, err
	}
	t0 := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return t0, fmt.Errorf("kill -9 %s pid %d: %w", m.Name, pid, err)
	}
	return t0, nil
}

// bringBack restores a master killMaster killed: twined restarts it by
// itself; for plain Sentinel the bench starts its redis-server again from
// the same redis.conf (and Sentinel converts it to a replica).
func (s *setSession) bringBack(_ context.Context, m config.Node) error {
	if !s.plain() {
		return nil
	}
	if err := s.procs[m.Name].wait(10 * time.Second); err != nil {
		return fmt.Errorf("node %s: %w", m.Name, err)
	}
	return s.startNode(m)
}

// loseHost loses m's whole host at once: SIGKILL to its twined, then to
// m's redis-server and to the host's Sentinel. It returns when the first
// signal went out.
func (s *setSession) loseHost(ctx context.Context, m config.Node) (time.Time, error) {
	l := s.hosts[m.Host]
	sn, ok := s.c.conf.SentinelOn(m.Host)
	if l == nil || !ok || l.Exited() {
		return time.Time{}, fmt.Errorf("host %s: no running twined and Sentinel to lose", m.Host)
	}
	mpid, err := s.pidOf(ctx, m)
	if err != nil {
		return time.Time{}, err
	}
	spid, err := s.pidOf(ctx, sn)
	if err != nil {
		return time.Time{}, err
	}
	delete(s.hosts, m.Host)
	s.lost = append(s.lost, l)
	t0 := time.Now()
	errs := []error{syscall.Kill(l.PID, syscall.SIGKILL), syscall.Kill(mpid, syscall.SIGKILL), syscall.Kill(spid, syscall.SIGKILL)}
	if err := errors.Join(errs...); err != nil {
		return t0, fmt.Errorf("lose host %s: %w", m.Host, err)
	}
	return t0, nil
}

// relaunchHost restores the host loseHost lost: once its old reaper has
// exited (every process of the old twined is gone), it runs the host's
// twined again.
func (s *setSession) relaunchHost(_ context.Context, m config.Node) error {
	for _, l := range s.lost {
		if err := l.finish(10 * time.Second); err != nil {
			return fmt.Errorf("host %s: %w", m.Host, err)
		}
	}
	return s.launchHost(m.Host)
}

// close ends everything the session started: each twined with SIGTERM
// and its grace (it stops its nodes cleanly), then SIGKILL; for plain
// Sentinel each process with SIGKILL; then any redis-server of the
// cluster still alive; then it waits for the reapers and removes the
// directory (unless -keep).
func (s *setSession) close() error {
	var all []*launched
	for _, h := range setHosts {
		if l := s.hosts[h]; l != nil {
			all = append(all, l)
		}
	}
	all, reapers, errs := stopTwineds(all, s.lost)
	for name, ch := range s.procs {
		if err := ch.kill(10 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", name, err))
		}
	}
	errs = append(errs, s.c.killLeftovers(10*time.Second, reapers...))
	for _, l := range all {
		errs = append(errs, l.finish(10*time.Second))
	}
	for _, cl := range s.nodes {
		_ = cl.Close()
	}
	for _, sc := range s.sentinels {
		_ = sc.Close()
	}
	errs = append(errs, s.b.remove(s.c))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop the fail-over cluster: %w", err)
	}
	return nil
}
