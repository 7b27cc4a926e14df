package supervisor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
	"github.com/twine/twine/supervisor/setup"
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("supervisor closed")

// ErrUnknownNode is returned for a node name that is not on this host.
var ErrUnknownNode = errors.New("unknown node")

// Options configure a Supervisor.
type Options struct {
	Cluster *config.Cluster
	Host    string       // the host of Cluster this supervisor serves
	Logger  hclog.Logger // nil = discard
	// Stopped names nodes that stay stopped at Start, besides those the
	// operator stopped before twined restarted (kept in StoppedFile).
	Stopped map[string]bool
	// ObserveCheck, when set, is called after every health check with the
	// PING's round trip and whether the node answered (for metrics). It is
	// called from watcher goroutines and must not block.
	ObserveCheck func(node string, latency time.Duration, alive bool)

	// leaveRunning makes Close let go of the nodes without stopping them,
	// as a twined that is killed does; tests use it to exercise adoption.
	leaveRunning bool
}

// Supervisor runs the nodes of one host: one watcher goroutine per node.
// Its methods are safe for concurrent use.
type Supervisor struct {
	cluster *config.Cluster
	host    string
	log     hclog.Logger
	bus     bus

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	reloadMu sync.Mutex // one Reload at a time

	mu              sync.Mutex
	watchers        []*watcher // in config order; replaced, never changed in place, by Reload
	env             nodeEnv    // what watchers are given; replaced by Reload
	aofStop         func()     // stops the AOF schedule; replaced by Reload
	started         bool
	closed          bool
	stopped         map[string]bool // by the operator: persisted in stoppedFile
	stoppedFile     string
	observe         func(string, time.Duration, bool)
	leave           bool                 // Options.leaveRunning
	sentinelClients []*replset.Sentinels // every one made, closed by Close
	masters         []SetMaster          // the master map, replaced by mastersLoop
}

// New prepares a supervisor for host; nothing runs until Start.
func New(o Options) (*Supervisor, error) {
	if o.Cluster == nil {
		return nil, errors.New("new supervisor: no cluster")
	}
	if len(o.Cluster.NodesOn(o.Host)) == 0 {
		return nil, fmt.Errorf("new supervisor: %w: no node of %s is on host %q", ErrUnknownNode, o.Cluster.File(), o.Host)
	}
	log := o.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	stoppedFile := StoppedFile(o.Cluster, o.Host)
	stopped, err := readStopped(stoppedFile)
	if err != nil {
		return nil, err
	}
	for n, ok := range o.Stopped {
		if ok {
			stopped[n] = true
		}
	}
	for n := range stopped {
		if node, ok := o.Cluster.Node(n); !ok || node.Host != o.Host {
			log.Warn("a node listed as stopped is not on this host; forgetting it", "node", n, "file", stoppedFile)
			delete(stopped, n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Supervisor{
		cluster:     o.Cluster,
		host:        o.Host,
		log:         log,
		ctx:         ctx,
		cancel:      cancel,
		stopped:     stopped,
		stoppedFile: stoppedFile,
		observe:     o.ObserveCheck,
		leave:       o.leaveRunning,
	}, nil
}

// Subscribe returns a subscription to every event from now on, with a
// buffer of the given size. A subscriber that falls behind loses events
// (counted by Dropped); it never slows a watcher.
func (s *Supervisor) Subscribe(buffer int) *Subscription {
	return s.bus.subscribe(buffer)
}

// Start adopts the host's nodes that are still running from an earlier
// twined and starts the others, all in parallel, and starts the AOF
// rewrite schedule when appendonly is on. It returns at once; use
// WaitReady to learn when they answer.
func (s *Supervisor) Start() error {
	password, err := setup.ReadPassword(s.cluster.Settings().RedisPasswordFile)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return errors.New("start supervisor: already started")
	}
	s.started = true
	env := nodeEnv{
		cluster:   s.cluster,
		settings:  s.cluster.Settings(),
		password:  password,
		logger:    s.log,
		publish:   s.bus.publish,
		now:       time.Now,
		observe:   s.observe,
		leave:     s.leave,
		sentinels: s.newSentinels(s.cluster, password, nil),
		prefixes:  []string{s.cluster.Settings().Cluster},
	}
	s.env = env
	for _, n := range s.cluster.NodesOn(s.host) {
		s.watchers = append(s.watchers, s.spawnWatcher(n, env, s.stopped[n.Name]))
	}
	s.aofStop = s.startAOF(env, s.watchers)
	s.wg.Go(func() { s.mastersLoop(s.ctx) })
	return nil
}

// newSentinels returns the client of c's Sentinels, nil when it has
// none: prev when it asks the same ones, else a new one. The caller holds
// s.mu; every client made is closed by Close (watchers of an older config
// may still be using one).
func (s *Supervisor) newSentinels(c *config.Cluster, password string, prev *replset.Sentinels) *replset.Sentinels {
	if len(c.Sentinels()) == 0 {
		return nil
	}
	r := replset.NewSentinels(c, s.host, password, c.Settings().CheckTimeout)
	if prev != nil && prev.SameAs(r) {
		return prev // a reload that changed nothing of the Sentinels keeps their connections
	}
	s.sentinelClients = append(s.sentinelClients, r)
	return r
}

// startAOF runs the AOF rewrite schedule of the given watchers' data and
// status nodes, if the settings ask for one, and returns the func that
// stops it and waits.
func (s *Supervisor) startAOF(env nodeEnv, all []*watcher) func() {
	o, ok := aofOptionsFor(env)
	if !ok {
		return func() {}
	}
	var ws []*watcher
	for _, w := range all {
		if w.node.Replicable() {
			ws = append(ws, w)
		}
	}
	ctx, cancel := context.WithCancel(s.ctx)
	a := newAOFScheduler(ctx, ws, o)
	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		a.run()
	}()
	return func() { cancel(); <-done }
}

// spawnWatcher creates a node's watcher and runs it in its own goroutine,
// under the supervisor's context. The caller holds s.mu.
func (s *Supervisor) spawnWatcher(n config.Node, env nodeEnv, stopped bool) *watcher {
	w := newWatcher(n, env)
	ctx, cancel := context.WithCancel(s.ctx)
	w.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		w.run(ctx, stopped)
	}()
	return w
}

// WaitReady waits until every node not stopped by the operator answers
// PING, or until ctx ends. It returns the names of the nodes that do not
// answer (nil when all do).
func (s *Supervisor) WaitReady(ctx context.Context) []string {
	sub := s.Subscribe(1024)
	defer sub.Cancel()
	for {
		var missing []string
		s.mu.Lock()
		stopped := maps.Clone(s.stopped)
		s.mu.Unlock()
		for _, n := range s.Snapshot().Nodes {
			if !n.State.Alive() && !(n.State == Stopped && stopped[n.Name]) {
				missing = append(missing, n.Name)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return missing
		case _, ok := <-sub.C:
			if !ok {
				return missing
			}
		case <-time.After(100 * time.Millisecond): // events may have been dropped
		}
	}
}

// Snapshot returns the status of every node of the host, copied.
func (s *Supervisor) Snapshot() Snapshot {
	s.mu.Lock()
	ws, masters := s.watchers, slices.Clone(s.masters)
	s.mu.Unlock()
	snap := Snapshot{Host: s.host, Time: time.Now(), Nodes: make([]NodeStatus, 0, len(ws)), Masters: masters}
	for _, w := range ws {
		n := w.snapshot()
		n.finish(snap.Time)
		snap.Nodes = append(snap.Nodes, n)
	}
	applyMasters(snap.Nodes, masters)
	snap.PartitionCount, snap.Masterless = snap.Partitions()
	snap.Status, snap.Up = hostStatus(snap.Nodes, snap.Masterless)
	snap.EventsDropped = s.bus.dropped.Load()
	return snap
}

// Stop stops a node by the operator's wish (SIGTERM, then SIGKILL after
// stop-timeout). It stays stopped, across twined restarts too, until
// StartNode or Restart. Stop returns once the stop has begun; the node's
// state says when it is done.
func (s *Supervisor) Stop(ctx context.Context, name string) error {
	if err := s.markStopped(name, true); err != nil {
		return err
	}
	return s.control(ctx, name, opStop)
}

// StartNode starts a node stopped by Stop. It returns once the start has
// begun.
func (s *Supervisor) StartNode(ctx context.Context, name string) error {
	if err := s.markStopped(name, false); err != nil {
		return err
	}
	return s.control(ctx, name, opStart)
}

// Restart stops a node cleanly and starts it again (a stopped node is just
// started). It returns once the stop has begun.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	if err := s.markStopped(name, false); err != nil {
		return err
	}
	return s.control(ctx, name, opRestart)
}

// markStopped records the operator's wish for a node and persists it.
func (s *Supervisor) markStopped(name string, stopped bool) error {
	if _, err := s.watcher(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped[name] == stopped {
		return nil
	}
	next := maps.Clone(s.stopped)
	if stopped {
		next[name] = true
	} else {
		delete(next, name)
	}
	if err := writeStopped(s.stoppedFile, next); err != nil {
		return err
	}
	s.stopped = next
	return nil
}

// StoppedByOperator reports whether the operator stopped the node.
func (s *Supervisor) StoppedByOperator(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped[name]
}

// watcher returns the watcher of a node of this host.
func (s *Supervisor) watcher(name string) (*watcher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.watchers {
		if w.name == name {
			return w, nil
		}
	}
	if !s.started {
		if n, ok := s.cluster.Node(name); ok && n.Host == s.host {
			return nil, fmt.Errorf("control %s: supervisor not started", name)
		}
	}
	return nil, fmt.Errorf("%w %q on host %s", ErrUnknownNode, name, s.host)
}

// Heartbeat asks every watcher's owner goroutine for an answer and
// returns nil once all have answered: a supervisor that is wedged anywhere
// does not answer. systemd's watchdog is fed from it. It fails with
// ctx's error when some watcher does not answer in time.
func (s *Supervisor) Heartbeat(ctx context.Context) error {
	s.mu.Lock()
	ws := s.watchers
	s.mu.Unlock()
	for _, w := range ws {
		err := w.do(ctx, opNoop)
		if errors.Is(err, ErrClosed) && ctx.Err() == nil && !s.isClosed() {
			continue // ended by a reload since the list was copied
		}
		if err != nil {
			return fmt.Errorf("heartbeat %s: %w", w.name, err)
		}
	}
	return nil
}

func (s *Supervisor) control(ctx context.Context, name string, o op) error {
	w, err := s.watcher(name)
	if err != nil {
		return err
	}
	return w.do(ctx, o)
}

func (s *Supervisor) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops every node in parallel (SIGTERM: they save; SIGKILL after
// stop-timeout), waits for them and closes the event subscriptions.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.bus.close()
	s.mu.Lock()
	for _, c := range s.sentinelClients {
		_ = c.Close()
	}
	s.mu.Unlock()
	return nil
}
