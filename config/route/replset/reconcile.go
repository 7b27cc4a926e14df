package replset

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/twine/twine/config"
)

// Monitor is a replica set as a Sentinel should watch it.
type Monitor struct {
	Name            string        // CLUSTER-P
	Nodes           []config.Node // the set, initial master first
	Quorum          int
	DownAfter       time.Duration
	FailoverTimeout time.Duration
}

// Monitors returns how c's Sentinels should watch its sets.
func Monitors(c *config.Cluster) []Monitor {
	s := c.Settings()
	var out []Monitor
	for _, set := range c.WatchedSets() {
		out = append(out, Monitor{
			Name: set.Name, Nodes: set.Nodes, Quorum: c.Quorum(),
			DownAfter: s.SentinelDownAfter, FailoverTimeout: s.FailoverTimeout,
		})
	}
	return out
}

// FindMaster returns the current master of a set: the one the Sentinels
// name at the highest epoch, else the one member that answers ROLE as a
// master (the most advanced when several do); "" when nothing answers.
func (s *Sentinels) FindMaster(ctx context.Context, name string, set []config.Node) string {
	if v := s.Master(ctx, name); v.Addr != "" {
		return v.Addr
	}
	return MasterByRole(ctx, set, s.password, s.timeout)
}

// MasterByRole asks every member of set for ROLE, in parallel, and returns
// the address of the one that is a master, or of the master with the most
// replicas and then the highest offset when several claim it; "" when
// none does.
func MasterByRole(ctx context.Context, set []config.Node, password string, timeout time.Duration) string {
	rs, errs := roles(ctx, set, password, timeout)
	best := -1
	for i, r := range rs {
		if errs[i] != nil || !r.Master() {
			continue
		}
		if best < 0 || len(r.Replicas) > len(rs[best].Replicas) ||
			len(r.Replicas) == len(rs[best].Replicas) && r.Offset > rs[best].Offset {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return set[best].Addr()
}

// Reconcile brings the Sentinel at addr in line with want: it starts
// monitoring each set it does not watch yet (at the set's current master,
// FindMaster, else its initial master), stops monitoring the names of
// prefixes (CLUSTER-P, CLUSTER-status) that want lacks, and sets quorum,
// down-after-milliseconds and failover-timeout where they differ, and
// auth-pass. Names of other prefixes are left alone: the Sentinel may
// watch other things. It returns what it changed, for the log.
func (s *Sentinels) Reconcile(ctx context.Context, addr string, want []Monitor, prefixes []string) ([]string, error) {
	sc := s.client(addr)
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	raw, err := sc.Masters(cctx).Result()
	cancel()
	if err != nil {
		return nil, fmt.Errorf("reconcile sentinel %s: %w", addr, err)
	}
	have := map[string]map[string]string{}
	for _, m := range raw {
		if f := fieldMap(m); f["name"] != "" {
			have[f["name"]] = f
		}
	}
	var changes []string
	var errs []error
	do := func(what string, fn func(context.Context) error) {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		if err := fn(cctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
			return
		}
		changes = append(changes, what)
	}
	wanted := map[string]bool{}
	for _, m := range want {
		wanted[m.Name] = true
		cur, ok := have[m.Name]
		if !ok {
			master := s.FindMaster(ctx, m.Name, m.Nodes)
			if master == "" {
				master = m.Nodes[0].Addr()
			}
			host, port, _ := net.SplitHostPort(master)
			do("monitor "+m.Name+" at "+master, func(ctx context.Context) error {
				return sc.Monitor(ctx, m.Name, host, port, strconv.Itoa(m.Quorum)).Err()
			})
			cur = map[string]string{}
		}
		set := func(option, value string) {
			if cur[option] == value {
				return
			}
			what := fmt.Sprintf("set %s %s %s", m.Name, option, value)
			if option == "auth-pass" {
				what = "set " + m.Name + " auth-pass"
			}
			do(what, func(ctx context.Context) error {
				return sc.Set(ctx, m.Name, option, value).Err()
			})
		}
		set("quorum", strconv.Itoa(m.Quorum))
		set("down-after-milliseconds", strconv.FormatInt(m.DownAfter.Milliseconds(), 10))
		set("failover-timeout", strconv.FormatInt(m.FailoverTimeout.Milliseconds(), 10))
		if s.password != "" { // not shown by SENTINEL MASTERS: always set
			set("auth-pass", s.password)
		}
	}
	for name := range have {
		if wanted[name] || !ownName(name, prefixes) {
			continue
		}
		do("remove "+name, func(ctx context.Context) error { return sc.Remove(ctx, name).Err() })
	}
	return changes, errors.Join(errs...)
}

// ownName reports whether name is PREFIX-P or PREFIX-status for one of
// the prefixes.
func ownName(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if regexp.MustCompile(`^` + regexp.QuoteMeta(p) + `-([0-9]+|status)$`).MatchString(name) {
			return true
		}
	}
	return false
}

// fieldMap turns a flat [k1, v1, k2, v2...] reply into a map.
func fieldMap(v any) map[string]string {
	list, _ := v.([]any)
	m := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		m[toString(list[i])] = toString(list[i+1])
	}
	return m
}
