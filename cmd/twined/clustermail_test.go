package main

import (
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/alert/smtptest"
	"github.com/twine/twine/procs/redistest"
	"github.com/twine/twine/supervisor/cluster"
)

// mailCluster is viewCluster with mail to a real SMTP server and short
// alert timings.
func mailCluster(t *testing.T, srv *smtptest.Server) *testCluster {
	return newTestCluster(t, []string{"host-ttl 1s", "alpha-ttl 2s", "mailserver " + srv.Addr, "mail-tls off",
		"alert ops@example.com", "alert-after 1s", "alert-group 1s", "alert-reminder 0"},
		"n0=data 0 127.0.0.1 PORT 0", "n1=data 1 127.0.0.2 PORT 0", "n2=data 2 127.0.0.3 PORT 0",
		"st=status 127.0.0.1 PORT 0")
}

// holdDown kills a node and takes its port before its twined can restart
// it, so that every restart fails until release is called.
func (tc *testCluster) holdDown(name string) (release func()) {
	tc.t.Helper()
	n, _ := tc.c.Node(name)
	for try := 0; try < 5; try++ {
		pid := tc.pid(name)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			tc.t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			if l, err := net.Listen("tcp", n.Addr()); err == nil {
				tc.t.Cleanup(func() { l.Close() })
				return func() { l.Close() }
			}
			time.Sleep(100 * time.Microsecond) // racing the restart for the port
		}
		redistest.WaitPing(tc.t, n.Addr(), 10*time.Second) // twined won: try again
	}
	tc.t.Fatalf("could not take %s's port before its restart", name)
	return nil
}

// Three nodes down on three hosts make exactly one mail, from the alpha,
// and their recovery one more; no host mails on its own.
func TestClusterMailOnePerIncident(t *testing.T) {
	srv := smtptest.Start(t)
	tc := mailCluster(t, srv)
	tc.startAll()
	waitClusterOK(t, tc)
	var releases []func()
	for _, n := range []string{"n0", "n1", "n2"} {
		releases = append(releases, tc.holdDown(n))
	}
	got := srv.WaitMails(1, 30*time.Second)
	if s := got[0].Subject; !strings.Contains(s, "on cluster twine") || !strings.Contains(s, "3 nodes down") {
		t.Errorf("subject %q, want the cluster's, with the 3 nodes", s)
	}
	for _, n := range []string{"n0", "n1", "n2"} {
		if !strings.Contains(got[0].Body, "* "+n+":") {
			t.Errorf("the mail does not name %s:\n%s", n, got[0].Body)
		}
	}
	for _, r := range releases {
		r()
	}
	got = srv.WaitMails(2, 30*time.Second)
	if !strings.Contains(got[1].Subject, "3 nodes up again") {
		t.Errorf("second mail %q, want the recovery of the 3", got[1].Subject)
	}
	quiet(t, srv, 2, 3*time.Second)
}

// The alpha's twined dies (SIGKILL: its nodes, the status node among
// them, keep running) and comes back while a node is down: no second
// "down" mail (the incident lives on the status node), and the recovery
// still comes, once.
func TestClusterMailContinuesAcrossAlpha(t *testing.T) {
	srv := smtptest.Start(t)
	tc := mailCluster(t, srv)
	tc.startAll()
	v := waitClusterOK(t, tc)
	// The node down is on a host that is not the alpha's.
	victim := "n0"
	if v.Alpha == "127.0.0.1" {
		victim = "n1"
	}
	release := tc.holdDown(victim)
	srv.WaitMails(1, 30*time.Second)
	old := tc.daemons[v.Alpha]
	_ = old.cmd.Process.Signal(syscall.SIGKILL)
	<-old.done
	tc.start(v.Alpha)
	waitView(t, tc.path, "a new alpha", 20*time.Second, func(w cluster.View, _ int) bool {
		return w.Alpha != "" && w.AlphaEpoch > v.AlphaEpoch
	})
	quiet(t, srv, 1, 3*time.Second)
	release()
	got := srv.WaitMails(2, 30*time.Second)
	if !strings.Contains(got[1].Subject, "up again") {
		t.Errorf("second mail %q, want %s's recovery", got[1].Subject, victim)
	}
	quiet(t, srv, 2, 2*time.Second)
}

// The status node gone (its port held), every twined keeps supervising
// and mails its own host's trouble, saying why; the cluster view is back
// when the status node is.
func TestClusterMailFallbackWithoutStatusNode(t *testing.T) {
	srv := smtptest.Start(t)
	tc := mailCluster(t, srv)
	tc.startAll()
	waitClusterOK(t, tc)
	releaseStatus := tc.holdDown("st")
	waitView(t, tc.path, "UNKNOWN", 10*time.Second, func(v cluster.View, code int) bool {
		return v.Status == "UNKNOWN" && code == 3
	})
	tc.holdDown("n1")
	tc.holdDown("n2")
	hosts := map[string]bool{}
	redistest.Eventually(t, 30*time.Second, func() bool {
		for _, m := range srv.Received() {
			for _, h := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
				if strings.Contains(m.Subject, " on "+h+":") {
					hosts[h] = true
				}
			}
		}
		return hosts["127.0.0.2"] && hosts["127.0.0.3"]
	}, "fallback mails came from %v, want 127.0.0.2 and 127.0.0.3: %q", hosts, smtptest.Subjects(srv.Received()))
	for _, m := range srv.Received() {
		if !strings.Contains(m.Body, "The status node does not answer: this host mails its own alerts") {
			t.Errorf("fallback mail without the note:\n%s", m.Body)
		}
	}
	releaseStatus()
	// n1 and n2 are still down, each its partition's only node: HALT.
	// (A host not yet published again is lost, and HALT too: wait until
	// every host has published.)
	v := waitView(t, tc.path, "the cluster view back", 20*time.Second, func(v cluster.View, code int) bool {
		return v.Status == cluster.StatusHalt && code == 2 && v.Alpha != "" && len(v.Hosts) == 3 &&
			!slices.ContainsFunc(v.Hosts, func(h cluster.HostView) bool { return h.Lost })
	})
	if h := hostOf(v, "127.0.0.2"); h.Lost || h.Status != cluster.StatusHalt {
		t.Errorf("127.0.0.2 in the view back: %+v, want HALT (n1 down), not lost", h)
	}
}

// A twined restarted (SIGTERM, as systemd does) while one of its nodes is
// down: the incident is kept in its state file, so no second "down" mail,
// and the recovery mail still comes, once. (The alpha's incidents live on
// the status node: TestClusterMailContinuesAcrossAlpha.)
func TestMailKeptAcrossTwinedRestart(t *testing.T) {
	srv := smtptest.Start(t)
	tc := newTestCluster(t, []string{"mailserver " + srv.Addr, "mail-tls off", "alert ops@example.com",
		"alert-after 1s", "alert-group 1s", "alert-reminder 0"},
		"n0=data 0 127.0.0.1 PORT 0", "n1=data 1 127.0.0.1 PORT 0")
	tc.startAll()
	release := tc.holdDown("n1")
	got := srv.WaitMails(1, 30*time.Second)
	if !strings.Contains(got[0].Subject, "1 node down (partition 1)") {
		t.Errorf("first mail %q, want n1 down", got[0].Subject)
	}
	d := tc.daemons["127.0.0.1"]
	old := tc.pid("n0")
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	<-d.done
	d = startDaemon(t, tc.path, "-host", "127.0.0.1", "-httpd", tc.httpd["127.0.0.1"])
	tc.daemons["127.0.0.1"] = d
	n0, _ := tc.c.Node("n0")
	redistest.Eventually(t, 20*time.Second, func() bool {
		b, err := os.ReadFile(tc.c.Files(n0).Pidfile)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid != old && pid > 0 && syscall.Kill(pid, 0) == nil
	}, "n0 was not started again by the new twined")
	redistest.WaitPing(t, n0.Addr(), 10*time.Second)
	quiet(t, srv, 1, 3*time.Second) // alert-after 1s: a new incident would be mailed by now
	release()
	got = srv.WaitMails(2, 30*time.Second)
	if !strings.Contains(got[1].Subject, "1 node up again (partition 1)") {
		t.Errorf("second mail %q, want n1's recovery", got[1].Subject)
	}
	quiet(t, srv, 2, 2*time.Second)
}

// quiet checks that no more than n mails arrive within d.
func quiet(t *testing.T, srv *smtptest.Server, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if got := srv.Received(); len(got) > n {
			t.Fatalf("%d mails, want %d: %q", len(got), n, smtptest.Subjects(got))
		}
		time.Sleep(20 * time.Millisecond) // watching for a mail that must not come
	}
}

// A whole host killed (its twined and its nodes): exactly one mail (the
// host lost, its partition without a master), and one recovery mail when
// it is back.
func TestClusterMailHostLost(t *testing.T) {
	srv := smtptest.Start(t)
	tc := mailCluster(t, srv)
	tc.startAll()
	v := waitClusterOK(t, tc)
	lost := "127.0.0.3"
	if v.Alpha == lost {
		lost = "127.0.0.2"
	}
	victim := map[string]string{"127.0.0.2": "n1", "127.0.0.3": "n2"}[lost]
	d := tc.daemons[lost]
	pid := tc.pid(victim)
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	_ = syscall.Kill(pid, syscall.SIGKILL)
	got := srv.WaitMails(1, 30*time.Second)
	if s := got[0].Subject; !strings.HasPrefix(s, "[twine] HALT on cluster twine") || !strings.Contains(s, "host "+lost) {
		t.Errorf("subject %q, want HALT naming host %s", s, lost)
	}
	mustHave(t, got[0].Body, "* host "+lost+":", "* "+victim+":")
	quiet(t, srv, 1, 3*time.Second)
	tc.start(lost)
	got = srv.WaitMails(2, 30*time.Second)
	if !strings.Contains(got[1].Subject, "up again") {
		t.Errorf("second mail %q, want the recovery", got[1].Subject)
	}
	quiet(t, srv, 2, 2*time.Second)
}

// mustHave fails the test for each of subs that body lacks.
func mustHave(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("mail lacks %q:\n%s", s, body)
		}
	}
}

// A reload that changes the recipients reaches the alpha's cluster
// alerts: the next incident is mailed to the new ones only.
func TestClusterMailFollowsAReload(t *testing.T) {
	srv := smtptest.Start(t)
	tc := mailCluster(t, srv)
	tc.startAll()
	waitClusterOK(t, tc)
	text, err := os.ReadFile(tc.path)
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(text), "set alert ops@example.com", "set alert oncall@example.com", 1)
	if next == string(text) {
		t.Fatalf("no alert line to change in\n%s", text)
	}
	if err := os.WriteFile(tc.path, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range tc.daemons {
		d.waitLog(t, 1, `config reloaded: file=`+tc.path+` changes="settings alert"`)
	}
	tc.holdDown("n1")
	var down smtptest.Received
	redistest.Eventually(t, 30*time.Second, func() bool {
		for _, m := range srv.Received() {
			if strings.Contains(m.Subject, "down (partition 1)") {
				down = m
				return true
			}
		}
		return false
	}, "no mail about partition 1: %q", smtptest.Subjects(srv.Received()))
	if !slices.Equal(down.To, []string{"oncall@example.com"}) {
		t.Errorf("mail %q went to %v, want the reloaded recipient oncall@example.com only", down.Subject, down.To)
	}
}
