package config_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twine/twine/config"
)

func TestFixtureOriginal64(t *testing.T) {
	readFixture(t) // a clear failure when the fixture is missing
	c, err := config.Load(fixturePath)
	if err != nil {
		t.Fatalf("Load(%s): %v", fixturePath, err)
	}
	dir, err := filepath.Abs(filepath.Dir(fixturePath))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.File(), filepath.Join(dir, filepath.Base(fixturePath)); got != want {
		t.Errorf("File() = %q, want %q", got, want)
	}
	if got := c.Partitions(); got != 64 {
		t.Errorf("Partitions() = %d, want 64", got)
	}
	nodes := c.Nodes()
	if len(nodes) != 64 {
		t.Fatalf("len(Nodes()) = %d, want 64", len(nodes))
	}
	sameStrings(t, "Hosts()", c.Hosts(), []string{"localhost", "127.0.0.1"})

	first := config.Node{Name: "a4200", Kind: config.Data, Partition: 0, Host: "localhost", Port: 4200, DB: 0, Member: 0, Line: 4}
	if nodes[0] != first {
		t.Errorf("first node = %+v, want %+v", nodes[0], first)
	}
	last, ok := c.Node("b4263")
	if !ok {
		t.Fatal(`Node("b4263") not found`)
	}
	if last.Host != "127.0.0.1" || last.Port != 4263 || last.Partition != 63 || last.Kind != config.Data || last.Addr() != "127.0.0.1:4263" {
		t.Errorf("b4263 = %+v, want data partition 63 on 127.0.0.1:4263", last)
	}
	for p := range 64 {
		rs := c.ReplicaSet(p)
		if len(rs) != 1 {
			t.Errorf("ReplicaSet(%d) has %d nodes, want 1", p, len(rs))
			continue
		}
		n := rs[0]
		prefix, host := "a", "localhost"
		if p >= 32 {
			prefix, host = "b", "127.0.0.1"
		}
		if want := fmt.Sprintf("%s%d", prefix, 4200+p); n.Name != want || n.Host != host || n.Port != 4200+p {
			t.Errorf("partition %d is %s on %s, want %s on %s:%d", p, n.Name, n.Addr(), want, host, 4200+p)
		}
		if n.Member != 0 || !n.InitialMaster() || n.DB != 0 {
			t.Errorf("%s: Member %d, InitialMaster %v, DB %d; want 0, true, 0", n.Name, n.Member, n.InitialMaster(), n.DB)
		}
	}

	want := config.Settings{
		Dir:                   dir,
		RedisServer:           "redis-server",
		CheckInterval:         time.Second,
		CheckTimeout:          500 * time.Millisecond,
		BackoffMin:            100 * time.Millisecond,
		BackoffMax:            30 * time.Second,
		StopTimeout:           30 * time.Second,
		AppendOnly:            false,
		AOFRewrite:            time.Hour,
		AOFRewriteConcurrency: 1,
		Hash:                  "crc32",
		HTTPD:                 "127.0.0.1:4280",
		MailServer:            "",
		MailFrom:              "",
		MailTLS:               config.TLSOpportunistic,
		AlertAfter:            30 * time.Second,
		AlertReminder:         time.Hour,
		AlertGroup:            10 * time.Second,
		Cluster:               "twine",
		SentinelDownAfter:     5 * time.Second,
		FailoverTimeout:       30 * time.Second,
		MinReplicasMaxLag:     10 * time.Second,
		BusyTimeout:           30 * time.Second,
		HostTTL:               5 * time.Second,
		AlphaTTL:              10 * time.Second,
	}
	if got := c.Settings(); !equalSettings(got, want) {
		t.Errorf("Settings():\n got %+v\nwant %+v", got, want)
	}
	if got := c.Settings().Alerts; len(got) != 0 {
		t.Errorf("Alerts = %q, want none", got)
	}
	if got := c.Hash().Name(); got != "crc32" {
		t.Errorf("Hash().Name() = %q, want crc32", got)
	}
	if got := c.SetLines(); len(got) != 0 {
		t.Errorf("SetLines() = %+v, want none", got)
	}
}

// equalSettings compares two Settings field by field (they hold slices).
func equalSettings(a, b config.Settings) bool {
	if !slices.Equal(a.Alerts, b.Alerts) || !slices.Equal(a.RedisIncludes, b.RedisIncludes) {
		return false
	}
	a.Alerts, b.Alerts, a.RedisIncludes, b.RedisIncludes = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

func BenchmarkParse64(b *testing.B) {
	data := readFixture(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := config.Parse("original-64.twine.conf", data); err != nil {
			b.Fatal(err)
		}
	}
}
