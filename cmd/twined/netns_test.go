package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/procs/redistest"
)

// netHost is a host of its own: a network namespace joined to this one by
// a veth pair, on addresses the test makes (10.251.N.0/24).
type netHost struct {
	t       *testing.T
	ns      string // namespace name
	outside string // the veth end in this namespace
	inside  string // the veth end in ns
	subnet  string // "10.251.N"
}

// ipCmd runs ip(8) and fails the test on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetHost makes the namespace: ns holds SUBNET.1; this namespace gets
// SUBNET.2 and SUBNET.3 on the other end of the pair. It is removed at
// the end of the test.
func newNetHost(t *testing.T, n int) *netHost {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("this test needs ip(8) to make network namespaces: apt-get install -y iproute2 (and run it as root)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test makes network namespaces and must run as root (CI does)")
	}
	id := fmt.Sprintf("%d%d", os.Getpid()%10000, n)
	h := &netHost{t: t, ns: "twine" + id, outside: "twv" + id + "o", inside: "twv" + id + "i", subnet: fmt.Sprintf("10.251.%d", 100+os.Getpid()%100+n)}
	ipCmd(t, "netns", "add", h.ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", h.ns).Run()
		_ = exec.Command("ip", "link", "del", h.outside).Run()
	})
	ipCmd(t, "link", "add", h.outside, "type", "veth", "peer", "name", h.inside)
	ipCmd(t, "link", "set", h.inside, "netns", h.ns)
	ipCmd(t, "addr", "add", h.subnet+".2/24", "dev", h.outside)
	ipCmd(t, "addr", "add", h.subnet+".3/24", "dev", h.outside)
	ipCmd(t, "link", "set", h.outside, "up")
	ipCmd(t, "netns", "exec", h.ns, "ip", "addr", "add", h.subnet+".1/24", "dev", h.inside)
	ipCmd(t, "netns", "exec", h.ns, "ip", "link", "set", h.inside, "up")
	ipCmd(t, "netns", "exec", h.ns, "ip", "link", "set", "lo", "up")
	return h
}

// cut takes the namespace off the network; heal puts it back.
func (h *netHost) cut()  { ipCmd(h.t, "netns", "exec", h.ns, "ip", "link", "set", h.inside, "down") }
func (h *netHost) heal() { ipCmd(h.t, "netns", "exec", h.ns, "ip", "link", "set", h.inside, "up") }

// redisCLI runs redis-cli inside the namespace and returns its output.
func (h *netHost) redisCLI(addr string, args ...string) string {
	h.t.Helper()
	cli := filepath.Join(filepath.Dir(redistest.Binary(h.t)), "redis-cli")
	if _, err := os.Stat(cli); err != nil {
		if cli, err = exec.LookPath("redis-cli"); err != nil {
			h.t.Fatal("this test needs redis-cli: apt-get install -y redis-tools")
		}
	}
	host, port, _ := strings.Cut(addr, ":")
	out, _ := exec.Command("ip", append([]string{"netns", "exec", h.ns, cli, "-h", host, "-p", port}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// The master's host is cut off the network. The other two hosts' Sentinels
// fail partition 0 over; the isolated master, still running and unaware,
// keeps taking writes from clients on its side. When the network heals it
// becomes a replica of the new master and those writes are gone: this is
// what Redis replication does, and why set min-replicas-to-write exists.
// With it, the isolated master refuses writes once its replicas have been
// silent for min-replicas-max-lag, and what it took before is bounded by
// that lag.
func TestNetworkPartitionOfTheMaster(t *testing.T) {
	for i, tt := range []struct {
		name  string
		extra []string
	}{
		{"plain", nil},
		{"min-replicas-to-write", []string{"min-replicas-to-write 1", "min-replicas-max-lag 1s"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newNetHost(t, i)
			a, b, c := h.subnet+".1", h.subnet+".2", h.subnet+".3"
			tc := newTestCluster(t, append([]string{"sentinel-down-after 2s"}, tt.extra...),
				fmt.Sprintf("m0=data 0 %s 7000 0", a), fmt.Sprintf("r1=data 0 %s PORT 0", b), fmt.Sprintf("r2=data 0 %s PORT 0", c),
				fmt.Sprintf("s1=sentinel %s 26379", a), fmt.Sprintf("s2=sentinel %s PORT", b), fmt.Sprintf("s3=sentinel %s PORT", c))
			tc.httpd[a] = a + ":4280"
			d := startDaemonCmd(t, "twined of "+a, exec.Command("ip", "netns", "exec", h.ns, twinedBin, "-config", tc.path, "-log-level", "debug", "-host", a, "-httpd", tc.httpd[a]))
			tc.daemons[a] = d
			d.waitLog(t, 1, "every node answers")
			tc.start(b)
			tc.start(c)
			tc.sentinelsReady(2)
			writeAcked(t, tc.client("m0"), "k", 100, 2)

			m0, _ := tc.c.Node("m0")
			h.cut()
			accepted, refused := 0, ""
			deadline := time.Now().Add(3 * time.Second)
			for i := 0; time.Now().Before(deadline); i++ {
				out := h.redisCLI(m0.Addr(), "SET", fmt.Sprintf("iso%d", i), "x")
				if out == "OK" {
					accepted++
				} else {
					refused = out
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			next := tc.master("m0", 30*time.Second)
			t.Logf("cut: the isolated master accepted %d writes (then %q); %s is master on the majority side", accepted, refused, next)
			if err := tc.client(next).Set(context.Background(), "majority", "1", 0).Err(); err != nil {
				t.Fatalf("write on the majority side: %v", err)
			}
			if tt.extra == nil && accepted == 0 {
				t.Errorf("the isolated master refused writes without min-replicas-to-write: %q", refused)
			}
			if tt.extra != nil && !strings.Contains(refused, "NOREPLICAS") {
				t.Errorf("with min-replicas-to-write the isolated master never refused a write (accepted %d, last %q)", accepted, refused)
			}

			h.heal()
			nn, _ := tc.c.Node(next)
			redistest.Eventually(t, 40*time.Second, func() bool {
				r := h.redisCLI(m0.Addr(), "ROLE")
				return strings.HasPrefix(r, "slave") && strings.Contains(r, nn.Host) && strings.Contains(r, "connected")
			}, "after the heal m0 is not a replica of %s: %s", next, h.redisCLI(m0.Addr(), "ROLE"))
			redistest.Eventually(t, 20*time.Second, func() bool {
				return h.redisCLI(m0.Addr(), "GET", "majority") == "1"
			}, "m0 did not resync from %s", next)
			for _, node := range []string{"m0", next} {
				n, _ := tc.c.Node(node)
				if got := h.redisCLI(n.Addr(), "EXISTS", "iso0"); accepted > 0 && got != "0" {
					t.Errorf("%s still holds a write the isolated master took (EXISTS iso0 = %q): Redis would have kept it?", node, got)
				}
				if got := h.redisCLI(n.Addr(), "DBSIZE"); got != "101" {
					t.Errorf("%s holds %s keys after the heal, want the 100 acknowledged before the cut and 1 after", node, got)
				}
			}
		})
	}
}
