package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"
)

// fleet is a many-host cluster (newFleetCluster) run for one scenario: a
// twined per host, each launched under the reaper like every supervisor
// the bench measures. Everything it starts is ended, by PID, in close. It
// belongs to one goroutine.
type fleet struct {
	b       *bench
	c       *cluster
	twined  string               // twined binary
	hosts   []string             // in twine.conf order; hosts[0] holds the status node
	httpd   map[string]string    // by host: its twined's listener
	running map[string]*launched // by host: its twined, while it runs
	lost    []*launched          // twineds killed by killHost
}

// fleetSession runs fn on a fresh cluster of n data nodes over hosts, a
// twined per host (twined is the binary), and tears everything down
// afterwards, whatever fn returned. fn waits for the cluster to be
// healthy itself.
func (b *bench) fleetSession(ctx context.Context, twined string, hosts []string, n int, fn func(f *fleet) error) (err error) {
	c, httpd, err := newFleetCluster(b.tmp, b.redis, hosts, n, []string{twinedStopTimeout})
	if err != nil {
		return err
	}
	f := &fleet{b: b, c: c, twined: twined, hosts: hosts, httpd: httpd, running: map[string]*launched{}}
	defer func() {
		if cerr := f.close(); err == nil {
			err = cerr
		}
	}()
	for _, h := range hosts {
		if err := f.launchHost(h); err != nil {
			return err
		}
	}
	return fn(f)
}

// launchHost runs host's twined, its output appended to twined-HOST.log
// in the cluster's directory.
func (f *fleet) launchHost(host string) error {
	argv := []string{f.twined, "-config", f.c.file, "-host", host, "-httpd", f.httpd[host]}
	l, err := launch(argv, f.c.path("twined-"+host+".log"))
	if err != nil {
		return err
	}
	f.running[host] = l
	return nil
}

// statusHost returns the host of the status node.
func (f *fleet) statusHost() string { return f.c.conf.StatusNodes()[0].Host }

// killHost loses host at once: SIGKILL to its twined, then to each of its
// redis-servers (each PID as the node itself tells, checked to be that
// node's redis-server). It returns when the first signal went out.
func (f *fleet) killHost(ctx context.Context, host string) (time.Time, error) {
	l := f.running[host]
	if l == nil || l.Exited() {
		return time.Time{}, fmt.Errorf("host %s: no running twined to kill", host)
	}
	var pids []int
	for _, n := range f.c.conf.NodesOn(host) {
		pid, err := currentPID(ctx, n.Addr())
		if err != nil {
			return time.Time{}, err
		}
		f.c.saw(pid)
		if !serves(pid, n) {
			return time.Time{}, fmt.Errorf("node %s: pid %d is not its redis-server", n.Name, pid)
		}
		pids = append(pids, pid)
	}
	delete(f.running, host)
	f.lost = append(f.lost, l)
	t0 := time.Now()
	errs := []error{syscall.Kill(l.PID, syscall.SIGKILL)}
	for _, pid := range pids {
		errs = append(errs, syscall.Kill(pid, syscall.SIGKILL))
	}
	if err := errors.Join(errs...); err != nil {
		return t0, fmt.Errorf("kill host %s: %w", host, err)
	}
	return t0, nil
}

// relaunchHost restores a host killHost killed: once the old reapers have
// exited (every process of the old twined is gone), it runs the host's
// twined again.
func (f *fleet) relaunchHost(host string) error {
	for _, l := range f.lost {
		if err := l.finish(10 * time.Second); err != nil {
			return fmt.Errorf("host %s: %w", host, err)
		}
	}
	return f.launchHost(host)
}

// close ends everything the fleet started: each running twined with
// SIGTERM and its grace (it stops its nodes cleanly), in parallel, then
// SIGKILL; then any redis-server of the cluster still alive; then it
// waits for the reapers and removes the directory (unless -keep).
func (f *fleet) close() error {
	var all []*launched
	for _, h := range f.hosts {
		if l := f.running[h]; l != nil {
			all = append(all, l)
		}
	}
	all, reapers, errs := stopTwineds(all, f.lost)
	errs = append(errs, f.c.killLeftovers(10*time.Second, reapers...))
	for _, l := range all {
		errs = append(errs, l.finish(10*time.Second))
	}
	errs = append(errs, f.b.remove(f.c))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop the many-host cluster: %w", err)
	}
	return nil
}

// stopTwineds stops the running twineds in parallel (SIGTERM and its
// grace, then SIGKILL) and returns them with the lost ones (already
// killed), the PIDs of all their reapers, and the errors of the stops.
func stopTwineds(running, lost []*launched) ([]*launched, []int, []error) {
	errs := make([]error, len(running))
	var wg sync.WaitGroup
	for i, l := range running {
		wg.Go(func() { _, errs[i] = l.stop(twinedSystem{}.Grace()) })
	}
	wg.Wait()
	all := append(running, lost...)
	var reapers []int
	for _, l := range all {
		reapers = append(reapers, l.ReaperPID())
	}
	return all, reapers, errs
}
