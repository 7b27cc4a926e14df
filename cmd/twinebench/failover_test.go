package main

import (
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor/setup"
)

// TestSetTwineConf parses the fail-over cluster's twine.conf: one
// replica set over three hosts, m0 its initial master, a Sentinel per
// host, the fast-sync include and Sentinel's down-after.
func TestSetTwineConf(t *testing.T) {
	ports := map[string][]int{"127.0.0.1": {21001, 21002}, "127.0.0.2": {21001, 21003}, "127.0.0.3": {21004, 21005}}
	text := setTwineConf("/bench/s1", "/usr/bin/redis-server", "/bench/s1/fast-sync.conf", ports, []string{twinedStopTimeout})
	c, err := config.Parse("/bench/s1/twine.conf", text)
	if err != nil {
		t.Fatalf("the generated twine.conf does not parse: %v\n%s", err, text)
	}
	set := c.ReplicaSet(0)
	if c.Partitions() != 1 || len(set) != 3 || set[0].Name != "m0" || set[0].Addr() != "127.0.0.1:21001" || set[1].Addr() != "127.0.0.2:21001" || set[2].Host != "127.0.0.3" {
		t.Errorf("replica set = %+v", set)
	}
	if s := c.Sentinels(); len(s) != 3 || s[1].Name != "s2" || s[1].Addr() != "127.0.0.2:21003" || !c.Watched(set[0]) || c.MasterName(set[0]) != "twine-0" {
		t.Errorf("sentinels = %+v", s)
	}
	st := c.Settings()
	if st.SentinelDownAfter != setDownAfter || len(st.RedisIncludes) != 1 || st.RedisIncludes[0] != "/bench/s1/fast-sync.conf" || st.StopTimeout != 10*time.Second {
		t.Errorf("settings = %+v", st)
	}
	conf, err := setup.Render(c, set[1], "", setup.InitialRole(c, set[1]))
	if err != nil || !strings.Contains(string(conf), "replicaof 127.0.0.1 21001\n") || !strings.Contains(string(conf), "include /bench/s1/fast-sync.conf") {
		t.Errorf("redis.conf of r1 (err %v):\n%s", err, conf)
	}
}

// TestLostTarget checks that acked_writes_lost passes at 0 only and
// prints counts as bare numbers.
func TestLostTarget(t *testing.T) {
	r := result{Unit: "writes", Target: lostTarget}
	for _, c := range []struct {
		samples []float64
		want    string
	}{{[]float64{0, 0, 0}, "pass"}, {[]float64{0, 1, 0}, "fail"}, {nil, "-"}} {
		r.Samples = c.samples
		if got := r.verdict(); got != c.want {
			t.Errorf("verdict of %v lost writes = %s, want %s", c.samples, got, c.want)
		}
	}
	if got := r.format(3); got != "3" {
		t.Errorf("format(3 writes) = %q", got)
	}
	if got := r.format(1.0 / 3); got != "0.33" {
		t.Errorf("format(1/3 writes) = %q", got)
	}
}

// TestFailoverScenariosIgnoreFlags checks that the fail-over scenarios
// measure their own rows and size whatever -supervisor and -n say, and
// that the others still follow -supervisor.
func TestFailoverScenariosIgnoreFlags(t *testing.T) {
	for _, sc := range []scenario{failoverScenario, hostlostScenario} {
		if got := sc.systems([]string{"monit"}); len(got) == 0 || got[0] != "twined" {
			t.Errorf("%s measures %v under -supervisor monit, want twined first", sc.Name, got)
		}
		if !sc.FixedNodes || sc.Nodes != len(setDataNames) {
			t.Errorf("%s: %d nodes, fixed %v", sc.Name, sc.Nodes, sc.FixedNodes)
		}
	}
	if got := killScenario.systems([]string{"monit"}); len(got) != 1 || got[0] != "monit" {
		t.Errorf("kill measures %v under -supervisor monit", got)
	}
}

// TestFleetTwineConf parses the many-host cluster's twine.conf: partition
// p on host p%hosts, one node each, the status node on the first host,
// twine's default cluster settings.
func TestFleetTwineConf(t *testing.T) {
	hosts := fleetHosts[:3]
	ports := map[string][]int{"127.0.0.1": {21001, 21002}, "127.0.0.2": {21001, 21003}, "127.0.0.3": {21004}}
	text := fleetTwineConf("/bench/f1", "/usr/bin/redis-server", hosts, ports, 21009, []string{twinedStopTimeout})
	c, err := config.Parse("/bench/f1/twine.conf", text)
	if err != nil {
		t.Fatalf("the generated twine.conf does not parse: %v\n%s", err, text)
	}
	if c.Partitions() != 5 || len(c.Hosts()) != 3 {
		t.Fatalf("%d partitions on %v, want 5 on 3 hosts\n%s", c.Partitions(), c.Hosts(), text)
	}
	for p := range 5 {
		set := c.ReplicaSet(p)
		if len(set) != 1 || set[0].Host != hosts[p%3] || set[0].Name != nodeName(p) {
			t.Errorf("partition %d = %+v, want one node on %s", p, set, hosts[p%3])
		}
	}
	if n := c.NodesOn("127.0.0.2"); len(n) != 2 || n[1].Addr() != "127.0.0.2:21003" {
		t.Errorf("nodes on 127.0.0.2 = %+v", n)
	}
	if st := c.StatusNodes(); len(st) != 1 || st[0].Name != fleetStatusName || st[0].Addr() != "127.0.0.1:21009" {
		t.Errorf("status nodes = %+v", st)
	}
	s := c.Settings()
	if s.CheckInterval != time.Second || s.HostTTL != 5*time.Second || s.AlphaTTL != 10*time.Second || s.StopTimeout != 10*time.Second {
		t.Errorf("settings = %+v", s)
	}
	for i, want := range []int{2, 2, 1} {
		if got := fleetNodesOn(i, 3, 5); got != want {
			t.Errorf("fleetNodesOn(%d, 3, 5) = %d, want %d", i, got, want)
		}
	}
	if got := fleetNodesOn(7, 8, 256); got != 32 {
		t.Errorf("fleetNodesOn(7, 8, 256) = %d, want 32", got)
	}
}

// TestTrafficFormat checks how bytes per second are printed.
func TestTrafficFormat(t *testing.T) {
	r := result{Unit: "B/s"}
	for v, want := range map[float64]string{812: "812B/s", 61320: "61.3kB/s", 1254000: "1.25MB/s"} {
		if got := r.format(v); got != want {
			t.Errorf("format(%v B/s) = %q, want %q", v, got, want)
		}
	}
}
