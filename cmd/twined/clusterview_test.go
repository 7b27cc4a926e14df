package main

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/supervisor/cluster"
)

// viewCluster is three hosts with a data node each (partition P on host
// 127.0.0.P+1) and the status node on 127.0.0.1, short cluster timings.
func viewCluster(t *testing.T) *testCluster {
	return newTestCluster(t, []string{"host-ttl 1s", "alpha-ttl 2s"},
		"n0=data 0 127.0.0.1 PORT 0", "n1=data 1 127.0.0.2 PORT 0", "n2=data 2 127.0.0.3 PORT 0",
		"st=status 127.0.0.1 PORT 0")
}

// clusterView runs `twined -status -cluster -format json` and returns the
// view and the exit code.
func clusterView(t *testing.T, path string) (cluster.View, int) {
	t.Helper()
	code, out, errOut := runCLI(t, "-status", "-cluster", "-format", "json", "-config", path)
	var v cluster.View
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("-status -cluster: %v\n%s%s", err, out, errOut)
	}
	return v, code
}

// waitView polls the cluster view until cond holds.
func waitView(t *testing.T, path, what string, timeout time.Duration, cond func(cluster.View, int) bool) cluster.View {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, code := clusterView(t, path)
		if cond(v, code) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster view never showed %s in %s; last: status %s (exit %d), alpha %q, reason %q, hosts %+v", what, timeout, v.Status, code, v.Alpha, v.Reason, v.Hosts)
		}
		time.Sleep(50 * time.Millisecond) // polling the view with a deadline
	}
}

// waitClusterOK waits until tc's cluster is OK with an alpha and returns
// that view.
func waitClusterOK(t *testing.T, tc *testCluster) cluster.View {
	t.Helper()
	return waitView(t, tc.path, "OK with an alpha", 20*time.Second, func(v cluster.View, _ int) bool {
		return v.Status == cluster.StatusOK && v.Alpha != ""
	})
}

func hostOf(v cluster.View, h string) cluster.HostView {
	for _, x := range v.Hosts {
		if x.Host == h {
			return x
		}
	}
	return cluster.HostView{}
}

// All up: OK everywhere, one alpha. The host 127.0.0.3 dies whole (its
// twined and its node SIGKILLed): within host-ttl it is lost, and its
// partition, which no other host serves, HALTs; back up, OK again.
func TestClusterViewHostLost(t *testing.T) {
	tc := viewCluster(t)
	tc.startAll()
	v := waitView(t, tc.path, "OK with an alpha", 20*time.Second, func(v cluster.View, code int) bool {
		return v.Status == cluster.StatusOK && code == 0 && v.Alpha != "" && len(v.Hosts) == 3
	})
	if len(v.Partitions) != 4 || v.Partitions[2].Master != "n2" {
		t.Errorf("partitions %+v", v.Partitions)
	}
	for _, h := range tc.c.Hosts() {
		code, out, _ := runCLI(t, "-status", "-cluster", "-config", tc.path)
		if code != 0 || !strings.Contains(out, "cluster twine OK: 4/4 nodes up on 3 hosts") {
			t.Errorf("summary from %s: code %d\n%s", h, code, out)
		}
		break
	}
	lost := tc.daemons["127.0.0.3"]
	pid := tc.pid("n2")
	killed := time.Now()
	_ = lost.cmd.Process.Signal(syscall.SIGKILL)
	<-lost.done
	_ = syscall.Kill(pid, syscall.SIGKILL)
	v = waitView(t, tc.path, "HALT with 127.0.0.3 lost", 10*time.Second, func(v cluster.View, code int) bool {
		return v.Status == cluster.StatusHalt && code == 2 && hostOf(v, "127.0.0.3").Lost
	})
	t.Logf("host killed → HALT in -status -cluster after %s (host-ttl 1s)", time.Since(killed).Round(time.Millisecond))
	if h := hostOf(v, "127.0.0.3"); h.Status != cluster.StatusHalt || h.Unsupervised != 0 {
		t.Errorf("lost host %+v, want HALT with no node answering", h)
	}
	tc.start("127.0.0.3")
	waitView(t, tc.path, "OK again", 20*time.Second, func(v cluster.View, code int) bool {
		return v.Status == cluster.StatusOK && !hostOf(v, "127.0.0.3").Lost
	})
}

// Only the alpha's twined dies (its nodes keep running): another twined
// takes the lease within 2 × alpha-ttl, and the dead twined's nodes are
// shown unsupervised (answering, nobody watching): DEGRADED.
func TestClusterViewAlphaDies(t *testing.T) {
	tc := viewCluster(t)
	tc.startAll()
	v := waitClusterOK(t, tc)
	old, epoch := v.Alpha, v.AlphaEpoch
	d := tc.daemons[old]
	killed := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	v = waitView(t, tc.path, "a new alpha", 2*4*time.Second, func(v cluster.View, _ int) bool {
		return v.Alpha != "" && v.Alpha != old && v.AlphaEpoch > epoch && hostOf(v, old).Lost
	})
	t.Logf("alpha %s killed → %s alpha (epoch %d) after %s (alpha-ttl 2s)", old, v.Alpha, v.AlphaEpoch, time.Since(killed).Round(time.Millisecond))
	if h := hostOf(v, old); h.Unsupervised == 0 || v.Status != cluster.StatusDegraded {
		t.Errorf("dead twined's host %+v, cluster %s; want its nodes unsupervised, DEGRADED", h, v.Status)
	}
}

// A stale alpha (SIGSTOPped past its lease, then resumed) cannot overwrite
// the cluster status written by the new one: its fenced writes are
// refused, and it stops acting as alpha.
func TestClusterViewStaleAlphaFenced(t *testing.T) {
	tc := viewCluster(t)
	tc.startAll()
	v := waitClusterOK(t, tc)
	old, epoch := v.Alpha, v.AlphaEpoch
	d := tc.daemons[old]
	if err := d.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer d.cmd.Process.Signal(syscall.SIGCONT)
	v = waitView(t, tc.path, "a new alpha", 15*time.Second, func(v cluster.View, _ int) bool {
		return v.Alpha != "" && v.Alpha != old && v.AlphaEpoch > epoch
	})
	newAlpha, newEpoch := v.Alpha, v.AlphaEpoch
	_ = d.cmd.Process.Signal(syscall.SIGCONT)
	st, _ := tc.c.Node("st")
	rc := redis.NewClient(&redis.Options{Addr: st.Addr(), Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	// For a few of the old alpha's rounds, every cluster status on the
	// status node is the new alpha's.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		raw, err := rc.Get(context.Background(), "twine:cluster").Result()
		if err != nil {
			t.Fatal(err)
		}
		var got cluster.View
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatal(err)
		}
		if got.Alpha != newAlpha || got.AlphaEpoch < newEpoch {
			t.Fatalf("the stale alpha %s (epoch %d) overwrote the cluster status: %s epoch %d", old, epoch, got.Alpha, got.AlphaEpoch)
		}
		time.Sleep(50 * time.Millisecond) // sampling the key, not waiting for an event
	}
	d.waitLog(t, 1, "no longer alpha")
}
