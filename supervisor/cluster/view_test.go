package cluster

import (
	"testing"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
)

func mustParse(t *testing.T, text string) *config.Cluster {
	t.Helper()
	c, err := config.Parse("/tmp/twine.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// record is host's record with every node of it in state (role by line
// order), a few overridden.
func record(c *config.Cluster, host string, states map[string]supervisor.State) *HostRecord {
	rec := &HostRecord{Host: host, Status: "OK", Time: time.Unix(1000, 0)}
	for _, n := range c.NodesOn(host) {
		st, ok := states[n.Name]
		if !ok {
			st = supervisor.Up
		}
		role := "master"
		if n.Member > 0 {
			role = "replica"
		}
		rec.Nodes = append(rec.Nodes, supervisor.NodeStatus{Name: n.Name, Kind: n.Kind.String(), Partition: n.Partition, Host: n.Host, Port: n.Port, Role: role, State: st})
	}
	return rec
}

func TestCompute(t *testing.T) {
	c := mustParse(t, "a0=data 0 h1 7000 0\nb0=data 0 h2 7000 0\na1=data 1 h1 7001 0\na2=data 2 h2 7002 0\nst=status h3 7100 0\n")
	now := time.Unix(2000, 0)
	all := map[string]*HostRecord{"h1": record(c, "h1", nil), "h2": record(c, "h2", nil), "h3": record(c, "h3", nil)}
	if v := compute(c, all, nil, now); v.Status != StatusOK || len(v.Partitions) != 4 || v.Partitions[0].Master != "a0" {
		t.Fatalf("all up: %+v", v)
	}
	// A replica down: DEGRADED; its master down instead: HALT.
	down := map[string]*HostRecord{"h1": record(c, "h1", nil), "h2": record(c, "h2", map[string]supervisor.State{"b0": supervisor.Down}), "h3": all["h3"]}
	if v := compute(c, down, nil, now); v.Status != StatusDegraded || v.Partitions[0].Status != StatusDegraded {
		t.Errorf("replica down: %s / p0 %s, want DEGRADED", v.Status, v.Partitions[0].Status)
	}
	down["h1"] = record(c, "h1", map[string]supervisor.State{"a0": supervisor.Held})
	down["h2"] = all["h2"]
	if v := compute(c, down, nil, now); v.Status != StatusHalt || v.Partitions[0].Status != StatusHalt {
		t.Errorf("master held: %s / p0 %s, want HALT", v.Status, v.Partitions[0].Status)
	}
	// Host h2 lost: b0 answers (unsupervised, a replica), a2 does not:
	// partition 2 alone on h2 has no master: HALT, and h2 is HALT too.
	lost := map[string]*HostRecord{"h1": all["h1"], "h3": all["h3"]}
	v := compute(c, lost, map[string]lostProbe{"b0": {alive: true, role: "replica"}, "a2": {}}, now)
	h2 := v.Hosts[1]
	if !h2.Lost || h2.Unsupervised != 1 || h2.Status != StatusHalt || v.Status != StatusHalt {
		t.Errorf("h2 lost: host %+v, cluster %s; want lost, 1 unsupervised, HALT", h2, v.Status)
	}
	if v.Partitions[0].Status != StatusOK || v.Partitions[2].Status != StatusHalt {
		t.Errorf("partitions %+v", v.Partitions)
	}
	// Two masters for one partition.
	two := map[string]*HostRecord{"h1": all["h1"], "h2": record(c, "h2", nil), "h3": all["h3"]}
	two["h2"].Nodes[0].Role = "master"
	if v := compute(c, two, nil, now); v.Partitions[0].Status != StatusDegraded || len(v.Partitions[0].Masters) != 2 {
		t.Errorf("two masters: %+v", v.Partitions[0])
	}
}
