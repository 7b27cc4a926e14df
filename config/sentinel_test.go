package config_test

import (
	"strings"
	"testing"

	"github.com/twine/twine/config"
)

// threeHosts is a partition replicated over three hosts, a replicated
// status set and one Sentinel per host.
var threeHosts = lines(
	"m0=data 0 127.0.0.1 7000 0",
	"r0=data 0 127.0.0.2 7000 0",
	"q0=data 0 127.0.0.3 7000 0",
	"m1=data 1 127.0.0.2 7001 0",
	"st1=status 127.0.0.1 7100 0",
	"st2=status 127.0.0.2 7100 0",
	"s1=sentinel 127.0.0.1 26379",
	"s2=sentinel 127.0.0.2 26379",
	"s3=sentinel 127.0.0.3 26379",
)

func TestSentinelLines(t *testing.T) {
	c := mustParse(t, threeHosts)
	if got := len(c.Sentinels()); got != 3 {
		t.Fatalf("Sentinels() = %d nodes, want 3", got)
	}
	if q := c.Quorum(); q != 2 {
		t.Errorf("Quorum() = %d, want a majority of 3: 2", q)
	}
	s, ok := c.SentinelOn("127.0.0.2")
	if !ok || s.Name != "s2" || s.Kind != config.Sentinel || s.Partition != -1 || s.Port != 26379 {
		t.Errorf("SentinelOn(127.0.0.2) = %+v, %v", s, ok)
	}
	sets := c.WatchedSets()
	if len(sets) != 2 || sets[0].Name != "twine-0" || len(sets[0].Nodes) != 3 || sets[1].Name != "twine-status" || len(sets[1].Nodes) != 2 {
		t.Fatalf("WatchedSets() = %+v, want twine-0 (3 nodes) and twine-status (2 nodes)", sets)
	}
	m1, _ := c.Node("m1")
	r0, _ := c.Node("r0")
	st2, _ := c.Node("st2")
	if c.Watched(m1) || !c.Watched(r0) || !c.Watched(st2) || c.Watched(s) {
		t.Errorf("Watched: m1 %v (single node), r0 %v, st2 %v, sentinel %v", c.Watched(m1), c.Watched(r0), c.Watched(st2), c.Watched(s))
	}
	if r0.Member != 1 || st2.Member != 1 {
		t.Errorf("members: r0 %d, st2 %d, want 1 and 1", r0.Member, st2.Member)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %q, want none", w)
	}
	c = mustParse(t, threeHosts+"set cluster shop\nset sentinel-quorum 3\n")
	if n := c.MasterName(r0); n != "shop-0" {
		t.Errorf("MasterName = %q, want shop-0", n)
	}
	if q := c.Quorum(); q != 3 {
		t.Errorf("Quorum() = %d, want the set 3", q)
	}
}

func TestSentinelErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"two hosts", lines(
			"m0=data 0 127.0.0.1 7000 0",
			"r0=data 0 127.0.0.2 7000 0",
			"s1=sentinel 127.0.0.1 26379",
			"s2=sentinel 127.0.0.2 26379",
		), []string{"twine.conf:4: replica sets need Sentinels on at least 3 hosts, found 2 (127.0.0.1, 127.0.0.2): with two, losing either host leaves no majority to fail over; add NAME=sentinel HOST PORT on a third host (it need hold no data), or remove the sentinel lines and fail over by hand (twined -failover P)"}},
		{"two on one host", threeHosts + "s4=sentinel 127.0.0.1 26380\n",
			[]string{"twine.conf:10: host 127.0.0.1 already has sentinel s1 on line 7: one Sentinel per host (two on one host die together and count twice in the quorum)"}},
		{"fields", lines("m0=data 0 127.0.0.1 7000 0", "s1=sentinel 127.0.0.1 26379 0"),
			[]string{"twine.conf:2: sentinel line has 4 fields, want 3: NAME=sentinel HOST PORT"}},
		{"quorum", threeHosts + "set sentinel-quorum 4\n",
			[]string{"twine.conf:10: sentinel-quorum 4 exceeds the 3 sentinels: no master could ever be agreed down"}},
		{"port shared", threeHosts + "x=sentinel 127.0.0.4 7000\nm2=data 2 127.0.0.4 7000 0\n",
			[]string{"twine.conf:11: 127.0.0.4:7000 is already used by x on line 10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameStrings(t, "errors", parseErrors(t, tt.text), tt.want)
		})
	}
}

func TestReplicaSetWithoutSentinelWarns(t *testing.T) {
	c := mustParse(t, lines("m0=data 0 127.0.0.1 7000 0", "r0=data 0 127.0.0.1 7001 0"))
	w := c.Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], "twine.conf:2: warning: partition 0 is replicated but no Sentinel watches it") ||
		!strings.Contains(w[0], "save 60 1") || !strings.Contains(w[0], "twined -failover") {
		t.Fatalf("Warnings() = %q", w)
	}
	w = mustParse(t, lines("set appendonly yes", "m0=data 0 127.0.0.1 7000 0", "r0=data 0 127.0.0.1 7001 0")).Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "loses up to its last two seconds of writes") {
		t.Fatalf("AOF: Warnings() = %q", w)
	}
	w = mustParse(t, lines("set min-replicas-to-write 2", "m0=data 0 127.0.0.1 7000 0", "r0=data 0 127.0.0.1 7001 0")).Warnings()
	if len(w) != 2 || !strings.Contains(w[1], "twine.conf:1: warning: min-replicas-to-write 2: partition 0 has only 1 replicas") {
		t.Fatalf("min-replicas: Warnings() = %q", w)
	}
}

// The alpha's lease must hold a renewal and two retries (Patroni's rule),
// and a host's published snapshot must outlive a late publication.
func TestClusterViewTimings(t *testing.T) {
	base := lines("a0=data 0 127.0.0.1 7000 0", "st=status 127.0.0.1 7100 0")
	sameStrings(t, "errors", parseErrors(t, base+lines("set check-timeout 1s", "set alpha-ttl 2s")), []string{
		"twine.conf:4: alpha-ttl 2s is too short for check-timeout 1s: the alpha renews its lease every alpha-ttl/3 (666.666666ms), and a renewal plus two retries of check-timeout each must fit in the lease; make alpha-ttl at least 3s",
	})
	sameStrings(t, "errors", parseErrors(t, base+lines("set check-interval 5s", "set check-timeout 1s")), []string{
		"twine.conf:3: host-ttl 5s is shorter than two check-intervals (10s): a host publishes its snapshot every check-interval, so one late publication would make it lost; make host-ttl at least 10s",
	})
	// Without status nodes there is no cluster view to time.
	mustParse(t, lines("a0=data 0 127.0.0.1 7000 0", "set check-interval 5s", "set check-timeout 1s", "set alpha-ttl 2s"))
}
