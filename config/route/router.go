package route

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/hash"
)

// Options tune a Router. The zero value is ready to use.
type Options struct {
	// CacheDir holds the command table cache; "" means DefaultCacheDir().
	CacheDir string
	// NoCache disables the command table cache: the table is read from a
	// node by every new Router.
	NoCache bool
	// Password authenticates to every node. "" means the password of the
	// cluster's `set redis-password-file`, if any.
	Password string
	// DialTimeout bounds a connection attempt; 0 means 3s.
	DialTimeout time.Duration
	// ReadTimeout bounds the wait for a reply; 0 means 30s, negative means
	// no bound (for blocking commands such as BLPOP key 0).
	ReadTimeout time.Duration
	// PoolSize is the number of connections kept per node; 0 means 4.
	PoolSize int
	// Dialer, when set, opens the connections to nodes (a tunnel, a
	// socket wrapper); nil means TCP with DialTimeout.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Router sends commands to the nodes of one cluster. Its methods are safe
// for concurrent use. Close it to close its connections.
//
// The master of a partition is its initial master in twine.conf (the first
// node listed for it), or, where Sentinels watch the partition, the master
// they name (see MasterOf).
type Router struct {
	cluster  *config.Cluster
	hash     hash.Func
	n        int
	masters  []config.Node // by partition
	order    []config.Node // where to read the command table: masters first
	opts     Options
	cacheDir string // "" when caching is off
	password string

	fetch sync.Mutex                  // serialises reading the table
	table atomic.Pointer[Table]       // nil until read
	live  atomic.Pointer[config.Node] // the node the table came from

	mtab *masterTable // each partition's current master

	mu      sync.Mutex
	clients map[string]*redis.Client // by node name
	unknown map[string]bool          // names the live node does not know
	closed  bool
}

// New returns a Router for c. It reads the cluster's redis-password-file
// when o.Password is empty; it does not connect to any node yet.
func New(c *config.Cluster, o Options) (*Router, error) {
	if o.DialTimeout == 0 {
		o.DialTimeout = defaultDialTimeout
	}
	switch {
	case o.ReadTimeout == 0:
		o.ReadTimeout = 30 * time.Second
	case o.ReadTimeout < 0:
		o.ReadTimeout = -1 // go-redis: no deadline
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 4
	}
	pw := o.Password
	var err error
	if pw == "" {
		if pw, err = c.Settings().RedisPassword(); err != nil {
			return nil, err
		}
	}
	r := &Router{
		cluster:  c,
		hash:     c.Hash(),
		n:        c.Partitions(),
		opts:     o,
		password: pw,
		clients:  make(map[string]*redis.Client),
		unknown:  make(map[string]bool),
	}
	if !o.NoCache {
		r.cacheDir = o.CacheDir
		if r.cacheDir == "" {
			r.cacheDir = DefaultCacheDir()
		}
	}
	for p := range r.n {
		m, ok := c.InitialMaster(p)
		if !ok {
			return nil, fmt.Errorf("route: partition %d has no node", p)
		}
		r.masters = append(r.masters, m)
	}
	if r.mtab, err = newMasterTable(c, pw, o.DialTimeout); err != nil {
		return nil, err
	}
	r.order = append(r.order, r.masters...)
	for _, n := range c.Nodes() {
		if !n.InitialMaster() {
			r.order = append(r.order, n)
		}
	}
	return r, nil
}

// Cluster returns the cluster the Router routes to.
func (r *Router) Cluster() *config.Cluster { return r.cluster }

// Master returns the initial master of partition p (0 <= p < Partitions())
// in twine.conf; MasterOf follows fail-overs.
func (r *Router) Master(p int) config.Node { return r.masters[p] }

// Partitions returns the number of partitions.
func (r *Router) Partitions() int { return r.n }

// Partition returns the partition that owns key.
func (r *Router) Partition(key []byte) (int, error) {
	return r.hash.Partition(key, r.n)
}

// Close closes every connection. Commands in flight fail; later calls
// fail too.
func (r *Router) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	var errs []error
	if r.mtab.sent != nil {
		errs = append(errs, r.mtab.sent.Close())
	}
	for _, c := range r.clients {
		errs = append(errs, c.Close())
	}
	clear(r.clients)
	return errors.Join(errs...)
}

// errClosed is returned after Close.
var errClosed = errors.New("route: router closed")

// client returns the go-redis client of node n, creating it on first use.
func (r *Router) client(n config.Node) (*redis.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errClosed
	}
	if c := r.clients[n.Name]; c != nil {
		return c, nil
	}
	c := redis.NewClient(&redis.Options{
		Addr:            n.Addr(),
		DB:              n.DB,
		Password:        r.password,
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1, // a command is never sent twice
		DialerRetries:   1,
		DialTimeout:     r.opts.DialTimeout,
		ReadTimeout:     r.opts.ReadTimeout,
		WriteTimeout:    r.opts.DialTimeout,
		PoolSize:        r.opts.PoolSize,
		Dialer:          r.opts.Dialer,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
	r.clients[n.Name] = c
	return c, nil
}

// DoOn runs args (args[0] is the command name) on node n as they are, and
// returns its reply. A Redis error reply is a Reply of Kind Error, not an
// error; the error is a *NodeError when n could not run the command.
func (r *Router) DoOn(ctx context.Context, n config.Node, args [][]byte) (Reply, error) {
	c, err := r.client(n)
	if err != nil {
		return Reply{}, err
	}
	raw, err := c.DoRaw(ctx, argv(args)...).Result()
	if err != nil {
		return Reply{}, nodeError(n, err)
	}
	reply, err := ParseReply(raw)
	if err != nil {
		return Reply{}, nodeError(n, err)
	}
	return reply, nil
}

// Do runs args (args[0] is the command name) on the partition that owns
// its keys and returns the reply. See Route for how the partition is
// found; a split command's replies are merged (MGET values in key order,
// MSET one OK, counts summed). A command Redis will reject whatever node
// runs it (unknown command, wrong number of arguments) is sent to a live
// node so that the reply is Redis's own error.
//
// A Redis error reply is a Reply of Kind Error. The error is from Route
// (ErrNoKeys, ErrCrossPartition: nothing was sent) or a *NodeError. When a
// split command fails on one node the other parts may have run.
func (r *Router) Do(ctx context.Context, args [][]byte) (Reply, error) {
	rt := routePool.Get().(*Route)
	defer routePool.Put(rt)
	if err := r.route(ctx, args, rt); err != nil {
		return Reply{}, err
	}
	switch {
	case rt.Anywhere:
		return r.DoOn(ctx, r.liveNode(), args)
	case rt.Split:
		return r.split(ctx, rt, args)
	}
	return r.doMaster(ctx, rt.Partition, rt.Command, args)
}

// routePool recycles the Routes of Do, whose slices are reused.
var routePool = sync.Pool{New: func() any { return new(Route) }}

// liveNode returns the node the command table was read from (the first
// node that answered), or partition 0's master before that.
func (r *Router) liveNode() config.Node {
	if n := r.live.Load(); n != nil {
		return *n
	}
	return r.masters[0]
}

// arg is one command argument handed to go-redis by pointer: boxing a
// pointer into an interface does not allocate, boxing a []byte does.
type arg []byte

// MarshalBinary returns the argument's bytes (go-redis writes them as a
// bulk string).
func (a *arg) MarshalBinary() ([]byte, error) { return *a, nil }

// smallArgv holds the arguments of a short command in one allocation.
type smallArgv struct {
	out  [4]any
	hold [4]arg
}

// argv converts arguments for go-redis with one allocation for up to four
// arguments, two for more. The result refers to args' bytes.
func argv(args [][]byte) []any {
	var out []any
	var hold []arg
	if len(args) <= 4 {
		s := new(smallArgv)
		out, hold = s.out[:len(args)], s.hold[:len(args)]
	} else {
		out, hold = make([]any, len(args)), make([]arg, len(args))
	}
	for i, a := range args {
		hold[i] = a
		out[i] = &hold[i]
	}
	return out
}
