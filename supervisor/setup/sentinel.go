package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"

	"github.com/twine/twine/config"
	"github.com/twine/twine/templates"
)

// Sentinel writes the sentinel.conf of Sentinel n when it has none: every
// watched set monitored at the master that masters names (by master name,
// HOST:PORT) or, for a set it does not name, at the set's role as the
// nodes' configs record it (CurrentRole; the initial master on a first
// start). An existing sentinel.conf is never touched: Sentinel rewrites
// it with its own state, and twined changes it only through SENTINEL
// commands.
func Sentinel(c *config.Cluster, n config.Node, password string, masters map[string]string) (Result, error) {
	files := c.Files(n)
	if _, err := os.Stat(files.Conf); err == nil {
		return write(c, n, nil, password != "", true)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Result{Node: n, Files: files}, fmt.Errorf("set up sentinel %s: %w", n.Name, err)
	}
	conf, err := RenderSentinel(c, n, password, masters)
	if err != nil {
		return Result{Node: n, Files: files}, err
	}
	return write(c, n, conf, password != "", true)
}

// RenderSentinel returns the first sentinel.conf of Sentinel n (see
// Sentinel).
func RenderSentinel(c *config.Cluster, n config.Node, password string, masters map[string]string) ([]byte, error) {
	files := c.Files(n)
	d := templates.SentinelConfData{
		Node:              n.Name,
		Source:            c.File(),
		Line:              n.Line,
		Port:              n.Port,
		Bind:              quote(n.Host),
		Protected:         config.IsLoopback(n.Host) && password == "",
		Dir:               quote(files.Dir),
		Pidfile:           quote(files.Pidfile),
		Logfile:           quote(files.Log),
		AnnounceIP:        quote(n.Host),
		AnnounceHostnames: net.ParseIP(n.Host) == nil,
		Password:          quoteIf(password),
	}
	for _, set := range c.WatchedSets() {
		addr := masters[set.Name]
		if addr == "" {
			addr = recordedMaster(c, set.Nodes)
		}
		m, err := SentinelMasterOf(c, set.Name, addr, password)
		if err != nil {
			return nil, fmt.Errorf("render sentinel.conf of %s: %w", n.Name, err)
		}
		d.Masters = append(d.Masters, m)
	}
	var b bytes.Buffer
	if err := templates.SentinelConf.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render sentinel.conf of %s: %w", n.Name, err)
	}
	return b.Bytes(), nil
}

// recordedMaster returns the address of the first node of set whose
// redis.conf on this host records it as a master, else the initial
// master's.
func recordedMaster(c *config.Cluster, set []config.Node) string {
	for _, m := range set {
		if role, ok, err := RecordedRole(c, m); err == nil && ok && role.Master() {
			return m.Addr()
		}
	}
	return set[0].Addr()
}

// SentinelMasterOf is how a Sentinel monitors the set named name whose
// master is at addr, with the cluster's settings; its strings are quoted
// for sentinel.conf.
func SentinelMasterOf(c *config.Cluster, name, addr, password string) (templates.SentinelMaster, error) {
	s := c.Settings()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return templates.SentinelMaster{}, fmt.Errorf("master of %s at %q: %w", name, addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return templates.SentinelMaster{}, fmt.Errorf("master of %s at %q: bad port", name, addr)
	}
	return templates.SentinelMaster{
		Name:            name,
		Host:            quote(host),
		Port:            p,
		Quorum:          c.Quorum(),
		DownAfterMS:     s.SentinelDownAfter.Milliseconds(),
		FailoverTimeout: s.FailoverTimeout.Milliseconds(),
		AuthPass:        quoteIf(password),
	}, nil
}
