package setup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/twine/twine/config"
)

// Role is what a node is in its replica set when it starts: a master, or a
// replica of the master at Upstream.
type Role struct {
	// Upstream is the HOST:PORT of the master the node replicates; "" for
	// a master.
	Upstream string
}

// Master reports whether the role is a master's.
func (r Role) Master() bool { return r.Upstream == "" }

// String returns "master" or "replica of HOST:PORT".
func (r Role) String() string {
	if r.Master() {
		return "master"
	}
	return "replica of " + r.Upstream
}

// InitialRole is the role twine.conf's line order gives a node: the first
// node of a set is its master, the others replicate it. It holds for a
// cluster's very first start only; afterwards roles are observed.
func InitialRole(c *config.Cluster, n config.Node) Role {
	set := c.SetOf(n)
	if len(set) < 2 || n.Member == 0 {
		return Role{}
	}
	return Role{Upstream: set[0].Addr()}
}

// RecordedRole reads the role a node's existing redis.conf gives it: the
// last replicaof (or slaveof) line, as twined wrote it or as CONFIG
// REWRITE (run by Sentinel at every reconfiguration, and by twined after
// a switchover) left it. ok is false when the node has no redis.conf yet.
func RecordedRole(c *config.Cluster, n config.Node) (role Role, ok bool, err error) {
	b, err := os.ReadFile(c.Files(n).Conf)
	if errors.Is(err, fs.ErrNotExist) {
		return Role{}, false, nil
	}
	if err != nil {
		return Role{}, false, fmt.Errorf("read the role of %s: %w", n.Name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || (f[0] != "replicaof" && f[0] != "slaveof") {
			continue
		}
		if len(f) == 3 && strings.EqualFold(f[1], "no") && strings.EqualFold(f[2], "one") {
			role = Role{}
			continue
		}
		if len(f) == 3 {
			role = Role{Upstream: net.JoinHostPort(strings.Trim(f[1], `"`), strings.Trim(f[2], `"`))}
		}
	}
	if err := sc.Err(); err != nil {
		return Role{}, false, fmt.Errorf("read the role of %s: %w", n.Name, err)
	}
	return role, true, nil
}

// CurrentRole is the role a node starts with when nothing better is known
// (no Sentinel answers): the one its redis.conf records, else the initial
// role. A node alone in its set is always a master.
func CurrentRole(c *config.Cluster, n config.Node) (Role, error) {
	if !c.Replicated(n) {
		return Role{}, nil
	}
	role, ok, err := RecordedRole(c, n)
	if err != nil || !ok {
		return InitialRole(c, n), err
	}
	return role, nil
}
