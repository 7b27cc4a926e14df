package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor/setup"
)

// ErrReloadRefused is returned by Reload for a config it will not apply
// while running; nothing was changed.
var ErrReloadRefused = errors.New("reload refused")

// ReloadResult says what a reload changed.
type ReloadResult struct {
	Added     []string // nodes set up and started
	Removed   []string // nodes stopped cleanly and forgotten
	Restarted []string // nodes restarted with a new config
	// NotRestarted lists changed nodes that keep running with their old
	// config because an earlier restart of the rolling sequence did not
	// answer in time; a later reload tries them again.
	NotRestarted []string
	Settings     []string // settings applied live
}

// Changed reports whether the reload changed anything.
func (r ReloadResult) Changed() bool {
	return len(r.Added)+len(r.Removed)+len(r.Restarted)+len(r.NotRestarted)+len(r.Settings) > 0
}

// String summarises the result for logs and events.
func (r ReloadResult) String() string {
	var parts []string
	add := func(what string, names []string) {
		if len(names) > 0 {
			parts = append(parts, what+" "+strings.Join(names, ", "))
		}
	}
	add("added", r.Added)
	add("removed", r.Removed)
	add("restarted", r.Restarted)
	add("not restarted (an earlier restart did not answer)", r.NotRestarted)
	add("settings", r.Settings)
	if len(parts) == 0 {
		return "nothing changed"
	}
	return strings.Join(parts, "; ")
}

// restartWait bounds how long a rolling restart waits for one restarted
// node to answer before it leaves the rest alone.
const restartWait = startGrace + 15*time.Second

// Reload applies a new, already validated config as a diff: nodes that are
// new on this host are set up and started; nodes gone from it are stopped
// cleanly; nodes whose generated redis.conf (or redis-server binary)
// changed are restarted one at a time, each waiting for the previous to
// answer PING (ctx bounds each wait); every other node keeps running with
// the same process; settings that need no restart apply at once.
//
// A config that would leave this host without nodes, or that moves the
// data dir, is refused with ErrReloadRefused and changes nothing.
func (s *Supervisor) Reload(ctx context.Context, c *config.Cluster) (ReloadResult, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	var res ReloadResult
	s.mu.Lock()
	old, oldEnv, started, closed := s.cluster, s.env, s.started, s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return res, ErrClosed
	case !started:
		return res, errors.New("reload: supervisor not started")
	case len(c.NodesOn(s.host)) == 0:
		return res, fmt.Errorf("%w: %s has no node on host %s; keeping the running nodes", ErrReloadRefused, c.File(), s.host)
	case c.Settings().Dir != old.Settings().Dir:
		return res, fmt.Errorf("%w: set dir changed from %s to %s; move the data and restart twined to apply it", ErrReloadRefused, old.Settings().Dir, c.Settings().Dir)
	}
	password, err := setup.ReadPassword(c.Settings().RedisPasswordFile)
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrReloadRefused, err)
	}
	env := oldEnv
	env.cluster, env.settings, env.password = c, c.Settings(), password
	s.mu.Lock()
	env.sentinels = s.newSentinels(c, password, oldEnv.sentinels)
	s.mu.Unlock()
	env.prefixes = []string{c.Settings().Cluster}
	if prev := old.Settings().Cluster; prev != c.Settings().Cluster {
		env.prefixes = append(env.prefixes, prev)
	}
	res.Settings = changedSettings(old.Settings(), c.Settings())

	// Plan against the current watchers.
	s.mu.Lock()
	current := slices.Clone(s.watchers)
	s.mu.Unlock()
	byName := map[string]*watcher{}
	for _, w := range current {
		byName[w.name] = w
	}
	var keep, restart []*watcher
	newNodes := c.NodesOn(s.host)
	for _, n := range newNodes {
		w, ok := byName[n.Name]
		switch {
		case !ok:
			res.Added = append(res.Added, n.Name)
		case needsRestart(oldEnv, w.node, env, n):
			restart = append(restart, w)
		default:
			keep = append(keep, w)
		}
	}
	var removed []*watcher
	for _, w := range current {
		if _, ok := c.Node(w.name); !ok || !slices.ContainsFunc(newNodes, func(n config.Node) bool { return n.Name == w.name }) {
			removed = append(removed, w)
			res.Removed = append(res.Removed, w.name)
		}
	}

	// Live settings first: untouched nodes keep their process.
	for _, w := range keep {
		e := env
		n, _ := c.Node(w.name)
		if err := w.send(ctx, command{op: opUpdate, env: &e, node: &n}); err != nil {
			s.log.Warn("reload: could not update a node's settings", "node", w.name, "error", err)
		}
	}
	// Removed nodes stop cleanly, in parallel.
	var wg sync.WaitGroup
	for _, w := range removed {
		wg.Go(func() { w.end("removed from the config") })
	}
	wg.Wait()

	s.mu.Lock()
	s.cluster, s.env = c, env
	s.pruneStopped(c)
	next := make([]*watcher, 0, len(newNodes))
	fresh := map[string]*watcher{}
	for _, n := range newNodes {
		if w, ok := byName[n.Name]; ok && !slices.Contains(removed, w) {
			next = append(next, w)
			continue
		}
		w := s.spawnWatcher(n, env, s.stopped[n.Name])
		fresh[n.Name] = w
		next = append(next, w)
	}
	s.watchers = next
	s.mu.Unlock()

	// Changed nodes: one at a time, each replaced by a watcher of its new
	// definition once the previous answers.
	for i, w := range restart {
		n, _ := c.Node(w.name)
		w.end("restarting with its new config")
		s.mu.Lock()
		stopped := s.stopped[n.Name]
		nw := s.spawnWatcher(n, env, stopped)
		next := slices.Clone(s.watchers)
		for j, x := range next {
			if x == w {
				next[j] = nw
			}
		}
		s.watchers = next
		s.mu.Unlock()
		res.Restarted = append(res.Restarted, n.Name)
		if stopped {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, restartWait)
		err := waitAlive(wctx, nw)
		cancel()
		if err != nil {
			for _, rest := range restart[i+1:] {
				res.NotRestarted = append(res.NotRestarted, rest.name)
			}
			s.log.Error("reload: a restarted node does not answer; leaving the other changed nodes as they are", "node", n.Name, "error", err)
			break
		}
	}
	// The AOF schedule follows the new nodes and settings; a fresh one
	// spreads its first rewrites over one period again.
	s.mu.Lock()
	stopAOF := s.aofStop
	s.mu.Unlock()
	stopAOF()
	s.mu.Lock()
	s.aofStop = s.startAOF(env, s.watchers)
	s.mu.Unlock()
	s.log.Info("config reloaded", "file", c.File(), "changes", res.String())
	s.bus.publish(Event{Kind: ConfigReloaded, Time: time.Now(), Reason: res.String()})
	return res, nil
}

// ReportInvalidConfig publishes a ConfigInvalid event for a config that
// failed to load; the running nodes are untouched.
func (s *Supervisor) ReportInvalidConfig(file string, err error) {
	s.bus.publish(Event{Kind: ConfigInvalid, Time: time.Now(), Reason: "invalid config " + file + "; keeping the running nodes", Err: err.Error()})
}

// pruneStopped forgets operator stops of nodes no longer on this host.
// The caller holds s.mu.
func (s *Supervisor) pruneStopped(c *config.Cluster) {
	changed := false
	for name := range s.stopped {
		if n, ok := c.Node(name); !ok || n.Host != s.host {
			delete(s.stopped, name)
			changed = true
		}
	}
	if changed {
		if err := writeStopped(s.stoppedFile, s.stopped); err != nil {
			s.log.Warn("reload: could not update the stopped-nodes file", "error", err)
		}
	}
}

// waitAlive waits until the watcher's node answers, or ctx ends.
func waitAlive(ctx context.Context, w *watcher) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		st := w.snapshot()
		if st.State.Alive() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s still %s: %w", w.name, st.State, ctx.Err())
		case <-w.done:
			return fmt.Errorf("node %s: %w", w.name, ErrClosed)
		case <-t.C:
		}
	}
}

// needsRestart reports whether a node must be restarted to take its new
// definition: its generated redis.conf differs (comments aside), or the
// redis-server binary changed.
func needsRestart(oldEnv nodeEnv, oldNode config.Node, newEnv nodeEnv, newNode config.Node) bool {
	if oldEnv.settings.RedisServer != newEnv.settings.RedisServer || oldNode.Kind != newNode.Kind {
		return true
	}
	if newNode.Kind == config.Sentinel {
		// Sentinel owns its sentinel.conf: changes reach it as SENTINEL
		// commands (reconcileSentinel), not as a restart.
		return oldNode.Addr() != newNode.Addr()
	}
	roleA, errA := setup.CurrentRole(oldEnv.cluster, oldNode)
	roleB, errB := setup.CurrentRole(newEnv.cluster, newNode)
	if errA != nil || errB != nil {
		return true
	}
	a, errA := setup.Render(oldEnv.cluster, oldNode, oldEnv.password, roleA)
	b, errB := setup.Render(newEnv.cluster, newNode, newEnv.password, roleB)
	if errA != nil || errB != nil {
		return true
	}
	return !bytes.Equal(significant(a), significant(b))
}

// significant drops the comment lines of a redis.conf (they name the
// twine.conf line, which moves when lines are added above).
func significant(conf []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(conf, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) == 0 || t[0] == '#' {
			continue
		}
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}

// changedSettings names the live settings that differ.
func changedSettings(a, b config.Settings) []string {
	var out []string
	check := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	check("check-interval", a.CheckInterval != b.CheckInterval)
	check("check-timeout", a.CheckTimeout != b.CheckTimeout)
	check("backoff-min", a.BackoffMin != b.BackoffMin)
	check("backoff-max", a.BackoffMax != b.BackoffMax)
	check("stop-timeout", a.StopTimeout != b.StopTimeout)
	check("aof-rewrite", a.AOFRewrite != b.AOFRewrite)
	check("cluster", a.Cluster != b.Cluster)
	check("sentinel-down-after", a.SentinelDownAfter != b.SentinelDownAfter)
	check("failover-timeout", a.FailoverTimeout != b.FailoverTimeout)
	check("sentinel-quorum", a.SentinelQuorum != b.SentinelQuorum)
	check("aof-rewrite-window", a.AOFRewriteWindow != b.AOFRewriteWindow)
	check("aof-rewrite-concurrency", a.AOFRewriteConcurrency != b.AOFRewriteConcurrency)
	check("busy-timeout", a.BusyTimeout != b.BusyTimeout)
	// Read by twined's alerts and cluster view, not the supervisor, but
	// the reload's log line should say they changed.
	check("alert", !slices.Equal(a.Alerts, b.Alerts))
	check("mailserver", a.MailServer != b.MailServer)
	check("mail-from", a.MailFrom != b.MailFrom)
	check("mail-tls", a.MailTLS != b.MailTLS)
	check("mail-user", a.MailUser != b.MailUser)
	check("mail-password-file", a.MailPasswordFile != b.MailPasswordFile)
	check("alert-after", a.AlertAfter != b.AlertAfter)
	check("alert-reminder", a.AlertReminder != b.AlertReminder)
	check("alert-group", a.AlertGroup != b.AlertGroup)
	check("log-level", a.LogLevel != b.LogLevel)
	check("host-ttl", a.HostTTL != b.HostTTL)
	check("alpha-ttl", a.AlphaTTL != b.AlphaTTL)
	return out
}
