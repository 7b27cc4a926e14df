// Package routetest starts real multi-node Twine clusters for tests of the
// twine client and the route package: one plain redis-server per
// partition (procs/redistest), and a twine.conf naming them.
package routetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/twine/twine/config"
	"github.com/twine/twine/procs/redistest"
)

// Options describe a test cluster. The zero value is one partition.
type Options struct {
	// Partitions is the number of partitions (one redis-server each);
	// 0 means 1.
	Partitions int
	// DB, when true, puts partition p's node in db p (instead of 0), so
	// that tests see the db of the node line being used.
	DB bool
	// Password, when set, is required by every server and written to the
	// file named by `set redis-password-file`.
	Password string
	// Conf are extra lines of twine.conf, e.g. "set hash fnv1a-64".
	Conf []string
}

// Cluster is a running test cluster.
type Cluster struct {
	Path    string          // its twine.conf
	Config  *config.Cluster // parsed Path
	Servers []*redistest.RedisServer
	opts    Options
	tb      testing.TB // of Start: owns the servers and clients

	mu      sync.Mutex
	clients map[int]*redis.Client
}

// Start starts the servers of a cluster and writes its twine.conf in a
// temporary directory. Nodes are named p0, p1...; partition p's master is
// Servers[p]. Every server is killed at the end of the test.
func Start(tb testing.TB, o Options) *Cluster {
	tb.Helper()
	if o.Partitions <= 0 {
		o.Partitions = 1
	}
	c := &Cluster{opts: o, tb: tb}
	dir := tb.TempDir()
	var lines []string
	if o.Password != "" {
		pwFile := filepath.Join(dir, "redis.password")
		if err := os.WriteFile(pwFile, []byte(o.Password+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, "set redis-password-file "+pwFile)
	}
	for p := range o.Partitions {
		var extra []string
		if o.Password != "" {
			extra = append(extra, fmt.Sprintf("requirepass %q", o.Password))
		}
		s := redistest.Server(tb, extra...)
		c.Servers = append(c.Servers, s)
		lines = append(lines, fmt.Sprintf("p%d=data %d 127.0.0.1 %d %d", p, p, s.Port, c.DB(p)))
	}
	lines = append(lines, o.Conf...)
	c.Path = filepath.Join(dir, "twine.conf")
	if err := os.WriteFile(c.Path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(c.Path)
	if err != nil {
		tb.Fatalf("load test config: %v", err)
	}
	c.Config = cfg
	return c
}

// DB returns the db of partition p's node.
func (c *Cluster) DB(p int) int {
	if c.opts.DB {
		return p
	}
	return 0
}

// Client returns a plain go-redis client of partition p's node and db,
// closed at the end of the test that started the cluster. Safe for concurrent use.
func (c *Cluster) Client(tb testing.TB, p int) *redis.Client {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.clients[p]; cl != nil {
		return cl
	}
	cl := redis.NewClient(&redis.Options{
		Addr:            c.Servers[p].Addr,
		DB:              c.DB(p),
		Password:        c.opts.Password,
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialerRetries:   1,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
	c.tb.Cleanup(func() { cl.Close() })
	if c.clients == nil {
		c.clients = make(map[int]*redis.Client)
	}
	c.clients[p] = cl
	return cl
}

// Where returns the partitions that hold key, asking every node directly
// (EXISTS).
func (c *Cluster) Where(tb testing.TB, key string) []int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []int
	for p := range c.Servers {
		n, err := c.Client(tb, p).Exists(ctx, key).Result()
		if err != nil {
			tb.Fatalf("EXISTS %q on partition %d: %v", key, p, err)
		}
		if n > 0 {
			out = append(out, p)
		}
	}
	return out
}

// KeyIn returns a key with the given prefix that the cluster's hash
// function puts in partition p.
func (c *Cluster) KeyIn(tb testing.TB, prefix string, p int) string {
	tb.Helper()
	for i := range 100000 {
		k := fmt.Sprintf("%s%d", prefix, i)
		got, err := c.Config.Partition([]byte(k))
		if err != nil {
			tb.Fatal(err)
		}
		if got == p {
			return k
		}
	}
	tb.Fatalf("no key with prefix %q in partition %d", prefix, p)
	return ""
}
