package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
)

// SetMaster is the live master of a replica set that has a node on this
// host, as twined last learned it: from the Sentinels (the master named
// at the highest config epoch) where they watch the set, else from the
// members' ROLE; confirmed by the master's own ROLE.
type SetMaster struct {
	Partition int    `json:"partition"` // -1 for the status set
	Set       string `json:"set"`       // "partition 3" or "the status set"
	Name      string `json:"name"`      // Sentinel master name, "" without Sentinels
	Master    string `json:"master"`    // the master node's name, "" when none is known
	Addr      string `json:"addr"`      // its HOST:PORT
	Source    string `json:"source"`    // "sentinel" or "role"
	// Confirmed: the master answers ROLE as a master.
	Confirmed bool `json:"confirmed"`
	// SentinelsAgree of Sentinels name Addr (0 and 0 without Sentinels).
	SentinelsAgree int       `json:"sentinels_agree"`
	Sentinels      int       `json:"sentinels"`
	Checked        time.Time `json:"checked"`
}

// mastersLoop refreshes the master map every check-interval while the
// supervisor runs: SENTINEL MASTERS once per Sentinel and a ROLE per
// master, for the sets with a node on this host. It does nothing for a
// host whose sets are all single nodes.
func (s *Supervisor) mastersLoop(ctx context.Context) {
	var last *config.Cluster
	var sets [][]config.Node
	for {
		s.mu.Lock()
		c, env := s.cluster, s.env
		s.mu.Unlock()
		if c != last { // the sets change only with the config
			last, sets = c, replicatedSetsOn(c, s.host)
		}
		var m []SetMaster // none left after a reload that took the sets away
		if len(sets) > 0 {
			m = lookupMasters(ctx, c, env, sets)
		}
		s.mu.Lock()
		s.masters = m
		s.mu.Unlock()
		t := time.NewTimer(env.settings.CheckInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// replicatedSetsOn returns the replica sets of two or more nodes that have
// a node on host.
func replicatedSetsOn(c *config.Cluster, host string) [][]config.Node {
	var out [][]config.Node
	seen := map[string]bool{}
	for _, n := range c.NodesOn(host) {
		if !n.Replicable() || !c.Replicated(n) {
			continue
		}
		if key := c.MasterName(n); !seen[key] {
			seen[key] = true
			out = append(out, c.SetOf(n))
		}
	}
	return out
}

// lookupMasters finds the master of every set, confirming each by ROLE.
func lookupMasters(ctx context.Context, c *config.Cluster, env nodeEnv, sets [][]config.Node) []SetMaster {
	timeout := env.settings.CheckTimeout
	out := make([]SetMaster, len(sets))
	var views map[string]replset.View
	if env.sentinels != nil {
		var names []string
		for _, set := range sets {
			if c.Watched(set[0]) {
				names = append(names, c.MasterName(set[0]))
			}
		}
		views = env.sentinels.Views(ctx, names)
	}
	var wg sync.WaitGroup
	for i, set := range sets {
		wg.Go(func() {
			m := SetMaster{Partition: set[0].Partition, Set: setName(set[0]), Checked: time.Now()}
			if v, ok := views[c.MasterName(set[0])]; ok && c.Watched(set[0]) {
				m.Name, m.Source = c.MasterName(set[0]), "sentinel"
				m.Addr, m.SentinelsAgree, m.Sentinels = v.Addr, v.Agree, v.Total
			}
			if m.Addr == "" {
				m.Addr, m.Source = replset.MasterByRole(ctx, set, env.password, timeout), "role"
				m.Confirmed = m.Addr != ""
			} else if r, err := replset.RoleOf(ctx, m.Addr, env.password, timeout); err == nil && r.Master() {
				m.Confirmed = true
			}
			if n, ok := c.NodeAt(m.Addr); ok {
				m.Master = n.Name
			}
			out[i] = m
		})
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b SetMaster) int {
		if a.Partition < 0 || b.Partition < 0 {
			return b.Partition - a.Partition // the status set last
		}
		return a.Partition - b.Partition
	})
	return out
}

// applyMasters corrects the roles of a snapshot's nodes from the master
// map: a member of a set whose confirmed master is known is that master
// or a replica, whatever its last INFO said.
func applyMasters(nodes []NodeStatus, masters []SetMaster) {
	known := map[int]SetMaster{} // by partition
	for _, m := range masters {
		if m.Confirmed && m.Addr != "" {
			known[m.Partition] = m
		}
	}
	for i := range nodes {
		n := &nodes[i]
		if n.Role != "master" && n.Role != "replica" {
			continue // a lone status node, a sentinel
		}
		m, ok := known[n.Partition]
		if !ok {
			continue
		}
		if n.Name == m.Master {
			n.Role = "master"
		} else {
			n.Role = "replica"
		}
	}
}

// ErrNoSetHere is returned by ServesAs for a set with no node on this host.
var ErrNoSetHere = errors.New("no node of the set on this host")

// ServesAs tells whether a node of this host is, right now, the master of
// the given set (partition; -1 for the status set), or, with master false,
// a replica of it with its link up: asked of the node itself (ROLE) and,
// where Sentinels watch the set, only when a majority of them agree. The
// text says why, for load balancers' logs. It is what GET
// /partition/P/master and /partition/P/replica answer.
func (s *Supervisor) ServesAs(ctx context.Context, partition int, master bool) (bool, string, error) {
	s.mu.Lock()
	c, env := s.cluster, s.env
	s.mu.Unlock()
	var set []config.Node
	if partition < 0 {
		set = c.StatusNodes()
	} else if partition < c.Partitions() {
		set = c.ReplicaSet(partition)
	}
	var local []config.Node
	for _, n := range set {
		if n.Host == s.host {
			local = append(local, n)
		}
	}
	if len(local) == 0 {
		return false, "", fmt.Errorf("%w: %s on %s", ErrNoSetHere, setLabel(partition), s.host)
	}
	var view replset.View
	watched := c.Watched(set[0]) && env.sentinels != nil
	if watched {
		view = env.sentinels.Master(ctx, c.MasterName(set[0]))
	}
	var why []string
	for _, n := range local {
		r, err := replset.RoleOf(ctx, n.Addr(), env.password, env.settings.CheckTimeout)
		switch {
		case err != nil:
			why = append(why, n.Name+" does not answer")
		case master && !r.Master():
			why = append(why, n.Name+" is a "+r.Role)
		case !master && r.Role != "replica":
			why = append(why, n.Name+" is a "+r.Role)
		case !master && r.State != "connected":
			why = append(why, fmt.Sprintf("%s is a replica whose link to %s is %s", n.Name, r.Upstream, r.State))
		case watched && !view.Majority():
			why = append(why, fmt.Sprintf("%s is a %s, but only %d of %d sentinels agree on a master (%s)", n.Name, r.Role, view.Agree, view.Total, view.Addr))
		case watched && master && view.Addr != n.Addr():
			why = append(why, fmt.Sprintf("%s claims master, but the sentinels name %s", n.Name, view.Addr))
		case watched && !master && view.Addr == n.Addr():
			why = append(why, fmt.Sprintf("%s is a replica, but the sentinels name it master", n.Name))
		default:
			text := fmt.Sprintf("%s is %s's %s", n.Name, setLabel(partition), r.Role)
			if watched {
				text += fmt.Sprintf(" (%d/%d sentinels agree)", view.Agree, view.Total)
			}
			return true, text, nil
		}
	}
	return false, strings.Join(why, "; "), nil
}

// setLabel names a set by partition for people.
func setLabel(partition int) string {
	if partition < 0 {
		return "the status set"
	}
	return fmt.Sprintf("partition %d", partition)
}
