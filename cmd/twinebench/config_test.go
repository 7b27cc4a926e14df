package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor/setup"
)

// testConfig parses the bench's twine.conf for two nodes.
func testConfig(t *testing.T) *config.Cluster {
	t.Helper()
	text := twineConf("/bench/c1", "/usr/bin/redis-server", 21000, []int{21001, 21002}, []string{twinedStopTimeout, "check-interval 1s"})
	c, err := config.Parse("/bench/c1/twine.conf", text)
	if err != nil {
		t.Fatalf("the generated twine.conf does not parse: %v\n%s", err, text)
	}
	return c
}

func TestTwineConf(t *testing.T) {
	c := testConfig(t)
	nodes := c.Nodes()
	if len(nodes) != 2 || nodes[0].Name != "n000" || nodes[1].Port != 21002 || nodes[1].Partition != 1 || nodes[0].Host != "127.0.0.1" {
		t.Errorf("nodes = %+v", nodes)
	}
	s := c.Settings()
	if s.Dir != "/bench/c1" || s.RedisServer != "/usr/bin/redis-server" || s.HTTPD != "127.0.0.1:21000" || s.StopTimeout.String() != "10s" {
		t.Errorf("settings = %+v", s)
	}
}

func TestRedisConfIsTwinedsOwn(t *testing.T) {
	c := testConfig(t)
	n := c.Nodes()[0]
	want, err := setup.Render(c, n, "", setup.InitialRole(c, n))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := redisConf(c, n, false)
	if err != nil || !bytes.Equal(plain, want) {
		t.Errorf("redisConf(daemonize=false) differs from twined's config (err %v)", err)
	}
	forking, err := redisConf(c, n, true)
	if err != nil || !bytes.HasPrefix(forking, want) {
		t.Fatalf("redisConf(daemonize=true) does not start with twined's config (err %v)", err)
	}
	lines := strings.Split(strings.TrimSpace(string(forking)), "\n")
	if last := lines[len(lines)-1]; last != "daemonize yes" {
		t.Errorf("last line of the forking config = %q, want daemonize yes (the last occurrence wins)", last)
	}
}

func TestMonitrc(t *testing.T) {
	c := testConfig(t)
	rc := string(monitrc(c, "/bench/c1", "/usr/bin/redis-server", "/bench/c1/stop-redis"))
	for _, want := range []string{
		"set daemon 1\n",
		"set statefile /bench/c1/monit.state\n",
		"set idfile /bench/c1/monit.id\n",
		"check process n001 with pidfile /bench/c1/partitions/127.0.0.1/n001/redis.pid\n",
		`start program = "/usr/bin/redis-server /bench/c1/partitions/127.0.0.1/n001/redis.conf"`,
		`stop program = "/bench/c1/stop-redis /bench/c1/partitions/127.0.0.1/n001/redis.pid"`,
		"if failed host 127.0.0.1 port 21002 protocol redis then restart\n",
	} {
		if !strings.Contains(rc, want) {
			t.Errorf("monitrc lacks %q:\n%s", want, rc)
		}
	}
	if got := strings.Count(rc, "check process "); got != 2 {
		t.Errorf("monitrc has %d checks, want 2", got)
	}
}

func TestSupervisordConf(t *testing.T) {
	c := testConfig(t)
	conf := string(supervisordConf(c, "/bench/c1", "/usr/bin/redis-server"))
	for _, want := range []string{
		"nodaemon=true\n",
		"file=/bench/c1/supervisor.sock\n",
		"pidfile=/bench/c1/supervisord.pid\n",
		"[program:n000]\ncommand=/usr/bin/redis-server /bench/c1/partitions/127.0.0.1/n000/redis.conf\n",
		"autorestart=true\n",
		"startsecs=0\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("supervisord.conf lacks %q:\n%s", want, conf)
		}
	}
	if got := strings.Count(conf, "[program:"); got != 2 {
		t.Errorf("supervisord.conf has %d programs, want 2", got)
	}
}

func TestParsers(t *testing.T) {
	st, err := parseStat([]byte("4242 (redis-server (x)) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 125 0 0 20 0 4 0 99 1 2 3"))
	if err != nil || st.Comm != "redis-server (x)" || st.State != 'S' || st.PPID != 17 || st.Ticks != 375 {
		t.Errorf("parseStat = %+v, %v", st, err)
	}
	if _, err := parseStat([]byte("garbage")); err == nil {
		t.Error("parseStat accepted garbage")
	}
	pid, err := processID("# Server\r\nredis_version:7.0.15\r\nprocess_id:123\r\nrun_id:x\r\n")
	if err != nil || pid != 123 {
		t.Errorf("processID = %d, %v", pid, err)
	}
	if _, err := processID("# Server\r\n"); err == nil {
		t.Error("processID found a pid in an INFO without one")
	}
}

func TestParseFlags(t *testing.T) {
	if got, err := parseSystems("monit, twined,monit"); err != nil || strings.Join(got, ",") != "monit,twined" {
		t.Errorf("parseSystems = %v, %v", got, err)
	}
	if _, err := parseSystems("systemd"); err == nil || !strings.Contains(err.Error(), "-supervisor") {
		t.Errorf("parseSystems(systemd) error = %v", err)
	}
	if got, err := parseScenarios("all"); err != nil || len(got) != len(scenarios) {
		t.Errorf("parseScenarios(all) = %d scenarios, %v", len(got), err)
	}
	if _, err := parseScenarios("kill,reboot"); err == nil || !strings.Contains(err.Error(), `"reboot"`) {
		t.Errorf("parseScenarios(kill,reboot) error = %v", err)
	}
	for _, args := range [][]string{{"-n", "-1"}, {"-duration", "10ms"}, {"-twined", "/nonexistent/twined"}, {"-hosts", "2"}, {"-hosts", "9"}, {"extra"}, {"-bogus"}} {
		if _, err := parseOptions(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("parseOptions(%q) error = %v, want a usage error", args, err)
		}
	}
	if o, err := parseOptions([]string{"-scenario", "kill", "-n", "4"}, io.Discard); err != nil || o.scenario != "kill" || o.nodes != 4 || o.duration != time.Minute || o.hosts != 8 {
		t.Errorf("parseOptions = %+v, %v", o, err)
	}
	if got := commandLine("/tmp/go-build123/b001/exe/twinebench", []string{"-scenario", "kill", "-supervisor", "a b"}); got != `go run ./cmd/twinebench -scenario kill -supervisor "a b"` {
		t.Errorf("commandLine = %s", got)
	}
}
