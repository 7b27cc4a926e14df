package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
	"github.com/twine/twine/supervisor"
)

// Lease is the alpha lease (twine:alpha).
type Lease struct {
	Host  string    `json:"host"`
	Epoch int64     `json:"epoch"`
	Since time.Time `json:"since"`
	Token string    `json:"token"` // tells two incarnations of one host apart
}

// Options configure a Member.
type Options struct {
	Cluster  *config.Cluster
	Host     string
	Snapshot func() supervisor.Snapshot
	Password string
	Version  string
	HTTPD    string       // this twined's listener address, published for -restore
	Logger   hclog.Logger // nil = discard
	// Now is the clock; nil = time.Now. It must carry a monotonic reading:
	// the lease's validity is measured with it.
	Now func() time.Time
}

// Member is one twined's part in the cluster view: it publishes its host,
// competes for the alpha lease, and, as alpha, computes and writes the
// cluster's status. Its methods are safe for concurrent use.
type Member struct {
	o     Options
	log   hclog.Logger
	now   func() time.Time
	keys  Keys
	store *store
	token string
	start time.Time

	mu         sync.Mutex
	lease      *Lease               // held, nil when not alpha
	leaseValue string               // the JSON of lease, as written
	validUntil time.Time            // the lease may have expired elsewhere from then on
	view       View                 // the last view computed or read
	contact    time.Time            // the status node last answered
	viewRead   time.Time            // when a non-alpha last read the view
	readMu     sync.Mutex           // one view read at a time
	lastSeen   map[string]time.Time // each host's last record seen, to date a lost one
	turned     map[string]time.Time // when each host was last found lost or back (Snapshot)
}

// New prepares a Member; Run does the work.
func New(o Options) (*Member, error) {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	st, err := newStore(o.Cluster, o.Host, o.Password, o.Cluster.Settings().CheckTimeout)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	m := &Member{o: o, log: o.Logger, now: o.Now, keys: KeysOf(o.Cluster), store: st, token: hex.EncodeToString(b), start: o.Now(),
		lastSeen: map[string]time.Time{}, turned: map[string]time.Time{}}
	m.view = View{Cluster: o.Cluster.Settings().Cluster, Status: StatusUnknown, Reason: "not read yet"}
	return m, nil
}

// Run publishes, holds or seeks the lease and refreshes the view every
// check-interval until ctx ends; then it gives the lease up.
func (m *Member) Run(ctx context.Context) {
	defer func() { m.storeNow().close() }()
	iv := m.cluster().Settings().CheckInterval
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		m.Step(ctx)
		select {
		case <-ctx.Done():
			m.release()
			return
		case <-t.C:
		}
	}
}

// Step does one round: publish the host, renew or seek the lease, and
// compute (as alpha) or read the cluster view. Tests drive it by hand.
func (m *Member) Step(ctx context.Context) {
	s := m.cluster().Settings()
	if err := m.publish(ctx); err != nil {
		m.log.Debug("publish to the status node failed", "error", err)
		m.loseLease("the status node does not answer")
		m.setView(View{Cluster: s.Cluster, Status: StatusUnknown, Reason: "no status node answers: " + err.Error(), Time: m.now()})
		m.mu.Lock()
		m.viewRead = m.now()
		m.mu.Unlock()
		return
	}
	m.touch()
	m.leaseStep(ctx)
	if l, ok := m.Lease(); ok {
		v, err := m.computeView(ctx)
		if err != nil {
			m.log.Warn("could not compute the cluster view", "error", err)
			return
		}
		v.Alpha, v.AlphaEpoch = l.Host, l.Epoch
		if err := m.writeFenced(ctx, m.keysNow().Cluster, v); err != nil {
			m.log.Warn("cluster status not written", "error", err)
		}
		m.setView(v)
		return
	}
	// Not alpha: the view is read when someone asks for it (View), not
	// every round: at hundreds of nodes it is tens of kilobytes per host
	// and second.
}

// publish writes this host's record with an expiry of host-ttl.
func (m *Member) publish(ctx context.Context) error {
	snap := m.o.Snapshot()
	rec := HostRecord{Host: m.o.Host, Status: snap.Status.String(), Time: snap.Time, Version: m.o.Version, Started: m.start,
		HTTPD: m.o.HTTPD, Nodes: snap.Nodes, Masters: snap.Masters}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ttl := m.cluster().Settings().HostTTL
	return m.storeNow().do(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.Set(ctx, m.keysNow().Host(m.o.Host), b, ttl).Err()
	})
}

// renewScript extends the lease if it is still ours.
var renewScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)

// fencedSet writes KEYS[2] only while KEYS[1] holds ARGV[1] (our lease).
var fencedSet = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2]) return 1 end return 0`)

// releaseScript deletes the lease if it is still ours.
var releaseScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// leaseStep renews a held lease when a renewal is due, or tries to take a
// free one. The lease counts as held only until validUntil: its start
// (the time the renewing request was sent) plus alpha-ttl less two
// check-timeouts, so that this twined stops acting as alpha before the
// key can have expired on the status node and been taken by another.
func (m *Member) leaseStep(ctx context.Context) {
	s := m.cluster().Settings()
	ttl := s.AlphaTTL
	m.mu.Lock()
	held, value, valid := m.lease != nil, m.leaseValue, m.validUntil
	m.mu.Unlock()
	sent := m.now()
	if held {
		if sent.Before(valid.Add(-ttl + s.AlphaRenew() + 2*s.CheckTimeout)) {
			return // renewed recently enough
		}
		var n int64
		err := m.storeNow().do(ctx, func(ctx context.Context, c *redis.Client) error {
			var err error
			n, err = renewScript.Run(ctx, c, []string{m.keysNow().Alpha}, value, ttl.Milliseconds()).Int64()
			return err
		})
		switch {
		case err == nil && n == 1:
			m.mu.Lock()
			m.validUntil = sent.Add(ttl - 2*s.CheckTimeout)
			m.mu.Unlock()
		case err == nil:
			m.loseLease("the lease is held by another twined")
		case m.now().After(valid):
			m.loseLease("could not renew the lease in time: " + err.Error())
		}
		return
	}
	var epoch int64
	var taken bool
	var lv string
	err := m.storeNow().do(ctx, func(ctx context.Context, c *redis.Client) error {
		if exists, err := c.Exists(ctx, m.keysNow().Alpha).Result(); err != nil || exists == 1 {
			return err
		}
		var err error
		if epoch, err = c.Incr(ctx, m.keysNow().Epoch).Result(); err != nil {
			return err
		}
		b, _ := json.Marshal(Lease{Host: m.o.Host, Epoch: epoch, Since: sent.UTC(), Token: m.token})
		lv = string(b)
		taken, err = c.SetNX(ctx, m.keysNow().Alpha, lv, ttl).Result()
		return err
	})
	if err != nil || !taken {
		return
	}
	m.mu.Lock()
	m.lease = &Lease{Host: m.o.Host, Epoch: epoch, Since: sent.UTC(), Token: m.token}
	m.leaseValue, m.validUntil = lv, sent.Add(ttl-2*s.CheckTimeout)
	m.mu.Unlock()
	m.log.Info("holding the alpha lease", "epoch", epoch)
}

// loseLease stops acting as alpha.
func (m *Member) loseLease(why string) {
	m.mu.Lock()
	had := m.lease
	m.lease, m.leaseValue = nil, ""
	m.mu.Unlock()
	if had != nil {
		m.log.Warn("no longer alpha", "epoch", had.Epoch, "reason", why)
	}
}

// release gives the lease up at the end, so that another twined takes it
// at once rather than after alpha-ttl.
func (m *Member) release() {
	m.mu.Lock()
	value := m.leaseValue
	m.mu.Unlock()
	if value == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cluster().Settings().CheckTimeout)
	defer cancel()
	_ = m.storeNow().do(ctx, func(ctx context.Context, c *redis.Client) error {
		return releaseScript.Run(ctx, c, []string{m.keysNow().Alpha}, value).Err()
	})
	m.loseLease("twined is stopping")
}

// storeNow returns the status node's store in force.
func (m *Member) storeNow() *store {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.store
}

// keysNow returns the keys in force.
func (m *Member) keysNow() Keys {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys
}

// cluster returns the config in force.
func (m *Member) cluster() *config.Cluster {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.o.Cluster
}

// SetCluster applies a reloaded twine.conf: the next rounds publish,
// compute and judge by it. A changed set of status nodes is reached from
// the next round on.
func (m *Member) SetCluster(c *config.Cluster) error {
	old := m.cluster()
	var st *store
	if !slices.Equal(old.StatusNodes(), c.StatusNodes()) || old.Settings().Cluster != c.Settings().Cluster {
		var err error
		if st, err = newStore(c, m.o.Host, m.o.Password, c.Settings().CheckTimeout); err != nil {
			return err
		}
	}
	m.mu.Lock()
	m.o.Cluster = c
	m.keys = KeysOf(c)
	prev := m.store
	if st != nil {
		m.store = st
	}
	m.mu.Unlock()
	if st != nil {
		m.loseLease("the status nodes changed")
		prev.close()
	}
	return nil
}

// IsAlpha reports whether this twined holds the lease now (and it cannot
// have expired elsewhere).
func (m *Member) IsAlpha() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lease != nil && m.now().Before(m.validUntil)
}

// Lease returns the lease held, if any.
func (m *Member) Lease() (Lease, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lease == nil || !m.now().Before(m.validUntil) {
		return Lease{}, false
	}
	return *m.lease, true
}

// writeFenced writes v as JSON to key, only while this twined's lease is
// the key's: a stale alpha's write is refused. The epoch goes with it.
func (m *Member) writeFenced(ctx context.Context, key string, v View) error {
	m.mu.Lock()
	value := m.leaseValue
	lease := m.lease
	m.mu.Unlock()
	if lease == nil {
		return errors.New("not alpha")
	}
	v.Alpha, v.AlphaEpoch = lease.Host, lease.Epoch
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n int64
	err = m.storeNow().do(ctx, func(ctx context.Context, c *redis.Client) error {
		var err error
		n, err = fencedSet.Run(ctx, c, []string{m.keysNow().Alpha, key}, value, b).Int64()
		return err
	})
	if err == nil && n == 0 {
		m.loseLease("the status node has another alpha")
		return fmt.Errorf("write %s: refused, the lease is no longer ours", key)
	}
	return err
}

// computeView reads every host's record and asks the nodes of lost hosts
// themselves.
func (m *Member) computeView(ctx context.Context) (View, error) {
	c := m.cluster()
	hosts := c.Hosts()
	keys := make([]string, len(hosts))
	for i, h := range hosts {
		keys[i] = m.keysNow().Host(h)
	}
	var vals []any
	if err := m.storeNow().do(ctx, func(ctx context.Context, cl *redis.Client) error {
		var err error
		vals, err = cl.MGet(ctx, keys...).Result()
		return err
	}); err != nil {
		return View{}, err
	}
	records := map[string]*HostRecord{}
	var lost []config.Node
	for i, h := range hosts {
		s, ok := vals[i].(string)
		var rec HostRecord
		if ok && json.Unmarshal([]byte(s), &rec) == nil {
			records[h] = &rec
			continue
		}
		lost = append(lost, c.NodesOn(h)...)
	}
	probes := probeNodes(ctx, lost, m.o.Password, c.Settings().CheckTimeout)
	v := compute(c, records, probes, m.now())
	m.mu.Lock()
	for i, h := range v.Hosts {
		if h.Lost {
			v.Hosts[i].Seen = m.lastSeen[h.Host] // zero: not seen since this twined started
		} else {
			m.lastSeen[h.Host] = h.Seen
		}
	}
	m.mu.Unlock()
	return v, nil
}

// probeNodes asks each node for ROLE, in parallel.
func probeNodes(ctx context.Context, nodes []config.Node, password string, timeout time.Duration) map[string]lostProbe {
	out := make(map[string]lostProbe, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() {
			r, err := replset.RoleOf(ctx, n.Addr(), password, timeout)
			mu.Lock()
			out[n.Name] = lostProbe{alive: err == nil, role: r.Role}
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// readView reads the alpha's view; it is UNKNOWN when there is no alpha
// or its view is older than alpha-ttl.
func (m *Member) readView(ctx context.Context) (View, error) {
	return readView(ctx, m.storeNow(), m.keysNow(), m.cluster(), m.now())
}

func readView(ctx context.Context, st *store, k Keys, c *config.Cluster, now time.Time) (View, error) {
	var raw, alpha string
	err := st.do(ctx, func(ctx context.Context, cl *redis.Client) error {
		vals, err := cl.MGet(ctx, k.Cluster, k.Alpha).Result()
		if err != nil {
			return err
		}
		raw, _ = vals[0].(string)
		alpha, _ = vals[1].(string)
		return nil
	})
	if err != nil {
		return View{}, err
	}
	var v View
	if raw == "" || json.Unmarshal([]byte(raw), &v) != nil {
		return View{Cluster: c.Settings().Cluster, Status: StatusUnknown, Reason: "no cluster status written yet", Time: now}, nil
	}
	var l Lease
	if alpha == "" || json.Unmarshal([]byte(alpha), &l) != nil || l.Epoch != v.AlphaEpoch {
		v.Status, v.Reason = StatusUnknown, "no alpha holds the lease: the status shown is the last one written"
	} else if age := now.Sub(v.Time); age > c.Settings().AlphaTTL {
		v.Status, v.Reason = StatusUnknown, fmt.Sprintf("the alpha's status is %s old", age.Round(time.Millisecond))
	}
	return v, nil
}

// View returns the cluster view: as alpha, the one it computed last;
// otherwise the alpha's, read from the status node when the one read last
// is older than check-interval. Safe for concurrent use.
func (m *Member) View() View {
	if m.IsAlpha() {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.view
	}
	m.readMu.Lock()
	defer m.readMu.Unlock()
	m.mu.Lock()
	v, at := m.view, m.viewRead
	m.mu.Unlock()
	c := m.cluster()
	if m.now().Sub(at) < c.Settings().CheckInterval {
		return v
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(c.Settings().CheckTimeout, time.Second))
	defer cancel()
	nv, err := m.readView(ctx)
	if err != nil {
		nv = View{Cluster: c.Settings().Cluster, Status: StatusUnknown, Reason: "no status node answers: " + err.Error(), Time: m.now()}
	}
	m.mu.Lock()
	m.view, m.viewRead = nv, m.now()
	m.mu.Unlock()
	return nv
}

func (m *Member) setView(v View) {
	m.mu.Lock()
	m.view = v
	m.mu.Unlock()
}

func (m *Member) touch() {
	m.mu.Lock()
	m.contact = m.now()
	m.mu.Unlock()
}

// Contact returns when the status node last answered (zero if never).
func (m *Member) Contact() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.contact
}

// Read reads the cluster view from the status node directly, as
// `twined -status -cluster` does from any machine holding twine.conf.
func Read(ctx context.Context, c *config.Cluster, password string) (View, error) {
	st, err := newStore(c, "", password, max(c.Settings().CheckTimeout, time.Second))
	if err != nil {
		return View{}, err
	}
	defer st.close()
	return readView(ctx, st, KeysOf(c), c, time.Now())
}

// Snapshot returns the cluster view as one supervisor snapshot of every
// node of every host, for the alpha's alerter: a lost host's silent nodes
// are down, its answering ones up (the host itself is reported apart), and
// each lost host and each partition with two masters is a pseudo node in
// trouble (named "host HOST" and "masters of pN"), so that they open
// incidents and get their recovery mails like nodes do.
func (m *Member) Snapshot() supervisor.Snapshot {
	v := m.View()
	s := supervisor.Snapshot{Host: "cluster " + v.Cluster, Time: v.Time}
	// A host found lost (or back) is dated from the round that found it:
	// its nodes' states then begin later than what their last records
	// said, so the alerter sees the change.
	m.mu.Lock()
	turned := map[string]time.Time{}
	for _, h := range v.Hosts {
		key := h.Host
		if h.Lost {
			key = "lost " + h.Host
		}
		if _, ok := m.turned[key]; !ok {
			m.turned[key] = v.Time
			other := "lost " + h.Host
			if h.Lost {
				other = h.Host
			}
			delete(m.turned, other)
		}
		turned[h.Host] = m.turned[key]
	}
	m.mu.Unlock()
	for _, h := range v.Hosts {
		for _, n := range h.Nodes {
			ns := supervisor.NodeStatus{Name: n.Name, Kind: n.Kind, Partition: n.Partition, Host: n.Host, Port: n.Port,
				Role: n.Role, Since: n.Since, PID: n.PID, Restarts: n.Restarts, Error: n.Error}
			switch n.State {
			case StateUnsupervised:
				ns.State = supervisor.Up
			case StateLost:
				ns.State, ns.Reason = supervisor.Down, "on host "+h.Host+", which is lost: its twined does not publish, and the node does not answer"
				ns.Since = turned[h.Host]
			default:
				if err := ns.State.UnmarshalText([]byte(n.State)); err != nil {
					ns.State = supervisor.Down
				}
			}
			s.Nodes = append(s.Nodes, ns)
		}
		pseudo := supervisor.NodeStatus{Name: "host " + h.Host, Kind: "host", Partition: -1, Host: h.Host, State: supervisor.Up, Since: turned[h.Host]}
		if h.Lost {
			pseudo.State = supervisor.Down
			seen := "since before this alpha started"
			if !h.Seen.IsZero() {
				seen = "for " + v.Time.Sub(h.Seen).Round(time.Second).String()
			}
			pseudo.Reason = fmt.Sprintf("lost: its twined has not published %s (host-ttl %s); %d of its nodes answer unsupervised",
				seen, m.cluster().Settings().HostTTL, h.Unsupervised)
		}
		s.Nodes = append(s.Nodes, pseudo)
	}
	for _, p := range v.Partitions {
		if len(p.Masters) < 2 {
			continue
		}
		s.Nodes = append(s.Nodes, supervisor.NodeStatus{Name: fmt.Sprintf("masters of p%d", p.Partition), Kind: "split", Partition: p.Partition,
			State: supervisor.Down, Since: v.Time, Reason: fmt.Sprintf("%d nodes claim to be its master: %v", len(p.Masters), p.Masters)})
	}
	return s
}

// IncidentStore keeps the alpha's open incidents on the status node
// (twine:incidents), fenced by the lease: only the alpha saves.
func (m *Member) IncidentStore() IncidentStore { return IncidentStore{m} }

// IncidentStore is a StateStore of the alert package on the status node.
type IncidentStore struct{ m *Member }

// Load reads the incidents the last alpha saved.
func (s IncidentStore) Load() ([]byte, error) {
	var b []byte
	ctx, cancel := context.WithTimeout(context.Background(), s.m.cluster().Settings().CheckTimeout)
	defer cancel()
	err := s.m.storeNow().do(ctx, func(ctx context.Context, c *redis.Client) error {
		v, err := c.Get(ctx, s.m.keysNow().Incidents).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		b = v
		return err
	})
	return b, err
}

// Save writes the incidents, only while this twined holds the lease.
func (s IncidentStore) Save(b []byte) error {
	s.m.mu.Lock()
	value := s.m.leaseValue
	s.m.mu.Unlock()
	if value == "" {
		return errors.New("not alpha")
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.m.cluster().Settings().CheckTimeout)
	defer cancel()
	var n int64
	err := s.m.storeNow().do(ctx, func(ctx context.Context, c *redis.Client) error {
		var err error
		n, err = fencedSet.Run(ctx, c, []string{s.m.keysNow().Alpha, s.m.keysNow().Incidents}, value, b).Int64()
		return err
	})
	if err == nil && n == 0 {
		return errors.New("refused: the lease is no longer ours")
	}
	return err
}

// ControlAddr returns the listener address host's twined publishes on the
// status node ("" when it publishes none).
func ControlAddr(ctx context.Context, c *config.Cluster, password, host string) (string, error) {
	st, err := newStore(c, "", password, max(c.Settings().CheckTimeout, time.Second))
	if err != nil {
		return "", err
	}
	defer st.close()
	var raw string
	if err := st.do(ctx, func(ctx context.Context, cl *redis.Client) error {
		var err error
		raw, err = cl.Get(ctx, KeysOf(c).Host(host)).Result()
		return err
	}); err != nil {
		return "", err
	}
	var rec HostRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return "", err
	}
	return rec.HTTPD, nil
}
