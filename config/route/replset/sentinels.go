// Package replset talks to the replica sets of a cluster and to the Redis
// Sentinels that watch them: who is the master of a set (by Sentinel's
// highest config epoch, confirmed by ROLE), a forced fail-over and the
// wait for its switch, a loss-free planned switchover, and keeping a
// running Sentinel's monitored masters in line with twine.conf. It
// decides nothing; the supervisor and twined's commands do.
package replset

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
)

// Errors callers branch on.
var (
	// ErrNoGoodReplica: Sentinel found no replica fit to promote
	// (-NOGOODSLAVE): none connected, or all too far behind.
	ErrNoGoodReplica = errors.New("no replica can take over")
	// ErrNoSentinel: no Sentinel answered, or none knows the master.
	ErrNoSentinel = errors.New("no sentinel answers for the set")
)

// Sentinels is a client of a cluster's Sentinels, its own host's first.
// Its methods are safe for concurrent use; Close it to close its
// connections.
type Sentinels struct {
	addrs    []string // the local Sentinel first
	password string
	timeout  time.Duration

	mu      sync.Mutex
	clients map[string]*redis.SentinelClient
	closed  bool
}

// NewSentinels returns a client of c's Sentinels; the one on host, if
// any, is asked first. Every call to one Sentinel is bounded by timeout.
func NewSentinels(c *config.Cluster, host, password string, timeout time.Duration) *Sentinels {
	s := &Sentinels{password: password, timeout: timeout, clients: map[string]*redis.SentinelClient{}}
	if local, ok := c.SentinelOn(host); ok {
		s.addrs = append(s.addrs, local.Addr())
	}
	for _, n := range c.Sentinels() {
		if n.Host != host {
			s.addrs = append(s.addrs, n.Addr())
		}
	}
	return s
}

// SameAs reports whether s and o ask the same Sentinels, in the same
// order, with the same password and timeout: one can serve for the other.
func (s *Sentinels) SameAs(o *Sentinels) bool {
	return slices.Equal(s.addrs, o.addrs) && s.password == o.password && s.timeout == o.timeout
}

// Addrs returns the Sentinels' addresses, the local one first.
func (s *Sentinels) Addrs() []string { return append([]string(nil), s.addrs...) }

// Close closes every connection.
func (s *Sentinels) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for _, c := range s.clients {
		errs = append(errs, c.Close())
	}
	clear(s.clients)
	return errors.Join(errs...)
}

func (s *Sentinels) client(addr string) *redis.SentinelClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clients[addr]; c != nil {
		return c
	}
	c := redis.NewSentinelClient(ClientOptions(addr, s.password, s.timeout, 4))
	if !s.closed {
		s.clients[addr] = c
	}
	return c
}

// Opinion is one Sentinel's view of a master name.
type Opinion struct {
	Sentinel string // the Sentinel's address
	Addr     string // the master it names, HOST:PORT
	Epoch    int64  // its config epoch for the name
	Flags    string // Sentinel's flags for the master: master, s_down, o_down, failover_in_progress...
	Err      error  // why it gave no opinion
}

// View is what the Sentinels say of one master name.
type View struct {
	// Addr is the master named at the highest config epoch (the latest
	// fail-over wins, as among Sentinels themselves); "" when none knows.
	Addr     string
	Epoch    int64
	Agree    int // Sentinels naming Addr
	Answered int // Sentinels that named a master
	Total    int // Sentinels asked
	Opinions []Opinion
}

// Majority reports whether more than half of all the Sentinels name Addr.
func (v View) Majority() bool { return v.Addr != "" && v.Agree > v.Total/2 }

// Master asks every Sentinel, in parallel, for the master of name.
func (s *Sentinels) Master(ctx context.Context, name string) View {
	ops := make([]Opinion, len(s.addrs))
	var wg sync.WaitGroup
	for i, addr := range s.addrs {
		wg.Go(func() { ops[i] = s.opinion(ctx, addr, name) })
	}
	wg.Wait()
	return aggregate(ops)
}

// Views asks every Sentinel, in parallel, for every master it monitors
// (SENTINEL MASTERS: one request each) and returns the view of each of
// names.
func (s *Sentinels) Views(ctx context.Context, names []string) map[string]View {
	all := make([]map[string]Opinion, len(s.addrs))
	var wg sync.WaitGroup
	for i, addr := range s.addrs {
		wg.Go(func() { all[i] = s.opinions(ctx, addr) })
	}
	wg.Wait()
	out := make(map[string]View, len(names))
	for _, name := range names {
		ops := make([]Opinion, len(s.addrs))
		for i, addr := range s.addrs {
			o, ok := all[i][name]
			if !ok {
				o = Opinion{Sentinel: addr, Err: fmt.Errorf("sentinel %s: no master %s", addr, name)}
			}
			ops[i] = o
		}
		out[name] = aggregate(ops)
	}
	return out
}

// opinions asks one Sentinel for SENTINEL MASTERS, by name; nil when it
// does not answer.
func (s *Sentinels) opinions(ctx context.Context, addr string) map[string]Opinion {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	raw, err := s.client(addr).Masters(ctx).Result()
	if err != nil {
		return nil
	}
	out := make(map[string]Opinion, len(raw))
	for _, r := range raw {
		m := fieldMap(r)
		epoch, _ := strconv.ParseInt(m["config-epoch"], 10, 64)
		out[m["name"]] = Opinion{Sentinel: addr, Addr: net.JoinHostPort(m["ip"], m["port"]), Epoch: epoch, Flags: m["flags"]}
	}
	return out
}

// aggregate makes a view of the Sentinels' opinions, given local first.
func aggregate(ops []Opinion) View {
	v := View{Total: len(ops), Opinions: ops}
	for _, o := range v.Opinions { // the local Sentinel wins ties
		if o.Err == nil && (v.Addr == "" || o.Epoch > v.Epoch) {
			v.Addr, v.Epoch = o.Addr, o.Epoch
		}
	}
	for _, o := range v.Opinions {
		if o.Err == nil {
			v.Answered++
			if o.Addr == v.Addr {
				v.Agree++
			}
		}
	}
	return v
}

// opinion asks one Sentinel for SENTINEL MASTER name.
func (s *Sentinels) opinion(ctx context.Context, addr, name string) Opinion {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	o := Opinion{Sentinel: addr}
	m, err := s.client(addr).Master(ctx, name).Result()
	if err != nil {
		o.Err = fmt.Errorf("sentinel %s: %w", addr, err)
		return o
	}
	o.Addr = net.JoinHostPort(m["ip"], m["port"])
	o.Epoch, _ = strconv.ParseInt(m["config-epoch"], 10, 64)
	o.Flags = m["flags"]
	return o
}

// Failover asks a Sentinel that names old as the master of name (the
// local one first) for an immediate fail-over (SENTINEL FAILOVER), and
// returns the Sentinel's address. A fail-over already in progress counts
// as asked. ErrNoGoodReplica when Sentinel has no replica to promote,
// ErrNoSentinel when none names old.
func (s *Sentinels) Failover(ctx context.Context, name, old string) (string, error) {
	v := s.Master(ctx, name)
	var errs []error
	for _, o := range v.Opinions {
		if o.Err != nil {
			errs = append(errs, o.Err)
			continue
		}
		if o.Addr != old {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		err := s.client(o.Sentinel).Failover(cctx, name).Err()
		cancel()
		switch {
		case err == nil:
			return o.Sentinel, nil
		case strings.HasPrefix(err.Error(), "INPROG"):
			return o.Sentinel, nil
		case strings.HasPrefix(err.Error(), "NOGOODSLAVE"):
			return o.Sentinel, fmt.Errorf("fail over %s: sentinel %s: %w", name, o.Sentinel, ErrNoGoodReplica)
		}
		errs = append(errs, fmt.Errorf("sentinel %s: %w", o.Sentinel, err))
	}
	if v.Addr != "" && v.Addr != old {
		return "", fmt.Errorf("fail over %s: the master is already %s, not %s", name, v.Addr, old)
	}
	return "", fmt.Errorf("fail over %s: %w (master %s): %w", name, ErrNoSentinel, old, errors.Join(errs...))
}

// WaitSwitch waits until a member of set other than old is master: one
// that the Sentinels name, or one that answers ROLE as a master (Sentinel
// promoted it and is still repointing the others: it takes writes from
// then on). It returns the new master's address. It listens for
// +switch-master on the Sentinel that runs the fail-over (via, "" for
// none) and polls meanwhile, so a lost message costs at most a poll
// period. ctx bounds the wait.
func (s *Sentinels) WaitSwitch(ctx context.Context, name, old, via string, set []config.Node) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	heard := make(chan string, 1)
	if via != "" {
		ps := s.client(via).Subscribe(ctx, "+switch-master")
		defer ps.Close()
		go func() {
			for m := range ps.Channel() {
				f := strings.Fields(m.Payload) // name oldip oldport newip newport
				if len(f) == 5 && f[0] == name {
					select {
					case heard <- net.JoinHostPort(f[3], f[4]):
					default:
					}
				}
			}
		}()
	}
	tick := time.NewTicker(switchPoll)
	defer tick.Stop()
	for n := 0; ; n++ {
		cand := ""
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for the fail-over of %s: %w", name, ctx.Err())
		case cand = <-heard:
		case <-tick.C:
			cand = s.promoted(ctx, old, set)
			if cand == "" && n%4 == 0 {
				if v := s.Master(ctx, name); v.Addr != "" && v.Addr != old {
					cand = v.Addr
				}
			}
		}
		if cand == "" || cand == old {
			continue
		}
		if r, err := RoleOf(ctx, cand, s.password, s.timeout); err == nil && r.Master() {
			return cand, nil
		}
	}
}

// FitReplicas returns how many replicas of name the Sentinels could
// promote right now, as the first Sentinel that answers sees them: flags
// just "slave", link to the master up, priority not 0. Sentinel learns a
// replica's state from its INFO every 10 s, so a replica that has just
// synced may not count yet.
func (s *Sentinels) FitReplicas(ctx context.Context, name string) (int, error) {
	var errs []error
	for _, addr := range s.addrs {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		reps, err := s.client(addr).Replicas(cctx, name).Result()
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("sentinel %s: %w", addr, err))
			continue
		}
		fit := 0
		for _, r := range reps {
			if r["flags"] == "slave" && r["master-link-status"] == "ok" && r["slave-priority"] != "0" {
				fit++
			}
		}
		return fit, nil
	}
	return 0, fmt.Errorf("replicas of %s: %w: %w", name, ErrNoSentinel, errors.Join(errs...))
}

// switchPoll is how often WaitSwitch looks at the set's members (and at
// every fourth look, the Sentinels).
const switchPoll = 25 * time.Millisecond

// promoted returns the address of a member of set, other than old, that
// answers ROLE as a master; "" when none does.
func (s *Sentinels) promoted(ctx context.Context, old string, set []config.Node) string {
	found := make([]string, len(set))
	var wg sync.WaitGroup
	for i, n := range set {
		if n.Addr() == old {
			continue
		}
		wg.Go(func() {
			if r, err := RoleOf(ctx, n.Addr(), s.password, s.timeout); err == nil && r.Master() {
				found[i] = n.Addr()
			}
		})
	}
	wg.Wait()
	for _, a := range found {
		if a != "" {
			return a
		}
	}
	return ""
}
