package replset

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// NodeRole is a node's answer to ROLE.
type NodeRole struct {
	Role     string // master, replica or sentinel
	Upstream string // a replica's master, HOST:PORT
	State    string // a replica's link: connect, connecting, sync, connected
	Offset   int64  // replication offset: a master's own, what a replica has processed
	Replicas []ReplicaOffset
}

// ReplicaOffset is one replica as its master's ROLE lists it.
type ReplicaOffset struct {
	Addr   string
	Offset int64
}

// Master reports whether the node is a master.
func (r NodeRole) Master() bool { return r.Role == "master" }

// NewClient returns a client of one node for replica-set work: no
// retries, every call bounded by timeout.
func NewClient(addr, password string, timeout time.Duration) *redis.Client {
	return redis.NewClient(ClientOptions(addr, password, timeout, 2))
}

// ClientOptions are the go-redis options of every client of this package: a
// command is never sent twice, every wait is bounded by timeout, small
// buffers (replies are small), no client identity or maintenance
// notifications (Sentinels and older servers do not know them).
func ClientOptions(addr, password string, timeout time.Duration, pool int) *redis.Options {
	return &redis.Options{
		Addr:                  addr,
		Password:              password,
		Protocol:              2,
		DisableIdentity:       true,
		DialTimeout:           timeout,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		ContextTimeoutEnabled: true,
		PoolSize:              pool,
		MaxRetries:            -1,
		DialerRetries:         1,
		ReadBufferSize:        4096,
		WriteBufferSize:       4096,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
}

// RoleOf asks the node at addr for ROLE, within timeout.
func RoleOf(ctx context.Context, addr, password string, timeout time.Duration) (NodeRole, error) {
	c := NewClient(addr, password, timeout)
	defer c.Close()
	return Role(ctx, c, timeout)
}

// Role asks a node for ROLE through c, within timeout.
func Role(ctx context.Context, c *redis.Client, timeout time.Duration) (NodeRole, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := c.Do(ctx, "ROLE").Slice()
	if err != nil {
		return NodeRole{}, fmt.Errorf("role of %s: %w", c.Options().Addr, err)
	}
	r, err := parseRole(v)
	if err != nil {
		return NodeRole{}, fmt.Errorf("role of %s: %w", c.Options().Addr, err)
	}
	return r, nil
}

// parseRole reads a ROLE reply:
//
//	master:   ["master", offset, [[ip, port, offset], ...]]
//	replica:  ["slave", ip, port, state, offset]
//	sentinel: ["sentinel", [names...]]
func parseRole(v []any) (NodeRole, error) {
	if len(v) == 0 {
		return NodeRole{}, fmt.Errorf("empty ROLE reply")
	}
	kind, _ := v[0].(string)
	switch kind {
	case "master":
		r := NodeRole{Role: "master"}
		if len(v) > 1 {
			r.Offset = toInt(v[1])
		}
		if len(v) > 2 {
			list, _ := v[2].([]any)
			for _, e := range list {
				f, _ := e.([]any)
				if len(f) == 3 {
					r.Replicas = append(r.Replicas, ReplicaOffset{
						Addr:   net.JoinHostPort(toString(f[0]), toString(f[1])),
						Offset: toInt(f[2]),
					})
				}
			}
		}
		return r, nil
	case "slave", "replica":
		if len(v) < 5 {
			return NodeRole{}, fmt.Errorf("short replica ROLE reply %v", v)
		}
		return NodeRole{
			Role:     "replica",
			Upstream: net.JoinHostPort(toString(v[1]), strconv.FormatInt(toInt(v[2]), 10)),
			State:    toString(v[3]),
			Offset:   toInt(v[4]),
		}, nil
	case "sentinel":
		return NodeRole{Role: "sentinel"}, nil
	}
	return NodeRole{}, fmt.Errorf("unknown role %q", kind)
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}
