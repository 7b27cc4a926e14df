package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
)

// ErrNoStatusNode means no status node answered: the cluster view is
// unknown.
var ErrNoStatusNode = errors.New("no status node answers")

// store reaches the status node: the master of the status set, found
// again after any failure. Safe for concurrent use.
type store struct {
	c         *config.Cluster
	password  string
	timeout   time.Duration
	sentinels *replset.Sentinels // nil unless Sentinels watch the status set

	mu     sync.Mutex
	addr   string
	client *redis.Client
}

func newStore(c *config.Cluster, host, password string, timeout time.Duration) (*store, error) {
	st := c.StatusNodes()
	if len(st) == 0 {
		return nil, fmt.Errorf("cluster view: %s has no status node (NAME=status HOST PORT DB)", c.File())
	}
	s := &store{c: c, password: password, timeout: timeout}
	if c.Watched(st[0]) {
		s.sentinels = replset.NewSentinels(c, host, password, timeout)
	}
	return s, nil
}

// close closes the connections.
func (s *store) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		_ = s.client.Close()
		s.client = nil
	}
	if s.sentinels != nil {
		_ = s.sentinels.Close()
	}
}

// get returns a client of the status master, finding it when needed.
func (s *store) get(ctx context.Context) (*redis.Client, error) {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	addr := s.findMaster(ctx)
	if addr == "" {
		return nil, ErrNoStatusNode
	}
	n, _ := s.c.NodeAt(addr)
	o := replsetOptions(addr, s.password, s.timeout)
	o.DB = n.DB
	c = redis.NewClient(o)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil { // another caller was first
		_ = c.Close()
		return s.client, nil
	}
	s.addr, s.client = addr, c
	return c, nil
}

// fail drops the client after an error that a new master may cure.
func (s *store) fail(c *redis.Client, err error) {
	var rerr redis.Error
	if errors.As(err, &rerr) && !isReadonly(rerr) {
		return // the node answered: the client is fine
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == c {
		_ = c.Close()
		s.client, s.addr = nil, ""
	}
}

func isReadonly(err redis.Error) bool {
	msg := err.Error()
	return len(msg) >= 8 && msg[:8] == "READONLY"
}

// findMaster returns the status set's master: the one the Sentinels name,
// else the member answering ROLE as master, else the only status node.
func (s *store) findMaster(ctx context.Context) string {
	set := s.c.StatusNodes()
	if s.sentinels != nil {
		if addr := s.sentinels.FindMaster(ctx, s.c.MasterName(set[0]), set); addr != "" {
			return addr
		}
	}
	if len(set) == 1 {
		return set[0].Addr()
	}
	return replset.MasterByRole(ctx, set, s.password, s.timeout)
}

// do runs fn with the status node's client, dropping it when fn fails in a
// way another master could cure.
func (s *store) do(ctx context.Context, fn func(ctx context.Context, c *redis.Client) error) error {
	c, err := s.get(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := fn(ctx, c); err != nil {
		s.fail(c, err)
		return err
	}
	return nil
}

// replsetOptions are replset's client options for the status node.
func replsetOptions(addr, password string, timeout time.Duration) *redis.Options {
	return replset.ClientOptions(addr, password, timeout, 4)
}
