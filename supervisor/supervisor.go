package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/config"
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
	// Stopped names nodes that stay stopped at Start (stopped by the
	// operator before twined restarted).
	Stopped map[string]bool

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

	mu       sync.Mutex
	watchers []*watcher // in config order; fixed after Start
	started  bool
	closed   bool
	stopped  map[string]bool
	leave    bool // Options.leaveRunning
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
	ctx, cancel := context.WithCancel(context.Background())
	return &Supervisor{
		cluster: o.Cluster,
		host:    o.Host,
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		stopped: o.Stopped,
		leave:   o.leaveRunning,
	}, nil
}

// Subscribe returns a subscription to every event from now on, with a
// buffer of the given size. A subscriber that falls behind loses events
// (counted by Dropped); it never slows a watcher.
func (s *Supervisor) Subscribe(buffer int) *Subscription {
	return s.bus.subscribe(buffer)
}

// Start adopts the host's nodes that are still running from an earlier
// twined and starts the others, all in parallel. It returns at once; use
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
		cluster:  s.cluster,
		settings: s.cluster.Settings(),
		password: password,
		logger:   s.log,
		publish:  s.bus.publish,
		now:      time.Now,
		leave:    s.leave,
	}
	for _, n := range s.cluster.NodesOn(s.host) {
		w := newWatcher(n, env)
		s.watchers = append(s.watchers, w)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.run(s.ctx, s.stopped[n.Name])
		}()
	}
	return nil
}

// WaitReady waits until every node not stopped by the operator answers
// PING, or until ctx ends. It returns the names of the nodes that do not
// answer (nil when all do).
func (s *Supervisor) WaitReady(ctx context.Context) []string {
	sub := s.Subscribe(1024)
	defer sub.Cancel()
	for {
		var missing []string
		for _, n := range s.Snapshot().Nodes {
			if !n.State.Alive() && !(n.State == Stopped && s.stopped[n.Name]) {
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
	ws := s.watchers
	s.mu.Unlock()
	snap := Snapshot{Host: s.host, Time: time.Now(), Nodes: make([]NodeStatus, 0, len(ws))}
	for _, w := range ws {
		snap.Nodes = append(snap.Nodes, w.snapshot())
	}
	snap.Status, snap.Up = hostStatus(snap.Nodes)
	snap.EventsDropped = s.bus.dropped.Load()
	return snap
}

// Stop stops a node (SIGTERM, then SIGKILL after stop-timeout); it stays
// stopped until Start. It returns once the stop has begun.
func (s *Supervisor) Stop(ctx context.Context, name string) error {
	return s.control(ctx, name, opStop)
}

// StartNode starts a node stopped by Stop.
func (s *Supervisor) StartNode(ctx context.Context, name string) error {
	return s.control(ctx, name, opStart)
}

// Restart stops a node cleanly and starts it again.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	return s.control(ctx, name, opRestart)
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
		if err := w.do(ctx, opNoop); err != nil {
			return fmt.Errorf("heartbeat %s: %w", w.node.Name, err)
		}
	}
	return nil
}

func (s *Supervisor) control(ctx context.Context, name string, o op) error {
	s.mu.Lock()
	var w *watcher
	for _, x := range s.watchers {
		if x.node.Name == name {
			w = x
		}
	}
	s.mu.Unlock()
	if w == nil {
		return fmt.Errorf("%w %q on host %s", ErrUnknownNode, name, s.host)
	}
	return w.do(ctx, o)
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
	return nil
}
