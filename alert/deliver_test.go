package alert

import (
	"fmt"
	"github.com/twine/twine/alert/smtptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/supervisor"
)

// oneMail makes the Alerter compose one mail: a failed AOF rewrite on m0
// with the given text, mailed once the group window has passed.
func (h *harness) oneMail(text string) {
	h.t.Helper()
	n := h.a.composed.Load()
	h.world.publish(supervisor.Event{Kind: supervisor.AOFRewriteFailed, Node: "m0", Err: text})
	h.advance(10 * time.Second)
	if !poll(waitTimeout, func() bool { return h.a.composed.Load() == n+1 }) {
		h.t.Fatalf("no mail composed for %q", text)
	}
}

// While the mail server is down the mail waits in the spool and is
// retried; once the server is back it arrives and leaves the spool.
func TestSMTPDownThenUp(t *testing.T) {
	h := newHarness(t, 2, "alert-group 10s")
	h.settle()
	h.srv.Down()
	h.oneMail("first")
	if !poll(waitTimeout, func() bool { return h.a.failed.Load() >= 3 }) {
		t.Fatalf("no retries while the server is down (failed attempts: %d)", h.a.failed.Load())
	}
	if files := spoolFiles(t, h.dir); len(files) != 1 {
		t.Fatalf("spool holds %d files, want 1", len(files))
	}
	h.srv.Up()
	got := h.mails(1)[0]
	mustContain(t, "mail", got.Subject, "AOF rewrite failed on m0")
	if !poll(waitTimeout, func() bool { return len(spoolFiles(t, h.dir)) == 0 }) {
		t.Errorf("spool not emptied after delivery: %v", spoolFiles(t, h.dir))
	}
}

// A temporary refusal (451) is retried like a dead server.
func TestSMTPTemporaryErrorRetried(t *testing.T) {
	h := newHarness(t, 1, "alert-group 10s")
	h.settle()
	h.srv.SetMode(smtptest.TempErr)
	h.oneMail("first")
	if !poll(waitTimeout, func() bool { return h.a.failed.Load() >= 2 }) {
		t.Fatal("no retry after 451")
	}
	h.srv.SetMode(smtptest.Accept)
	h.mails(1)
}

// Mails not delivered when twined stops stay in the spool and are sent by
// the next Alerter on the same spool directory, before it even runs.
func TestSpoolAcrossRestart(t *testing.T) {
	h := newHarness(t, 2, "alert-group 10s")
	h.settle()
	h.srv.Down()
	h.oneMail("first")
	h.oneMail("second")
	h.stop()
	if files := spoolFiles(t, h.dir); len(files) != 2 {
		t.Fatalf("spool holds %d files after Close, want 2", len(files))
	}
	h.srv.Up()
	o := testOptions(t, h.a.o.Settings, h.clock)
	o.SpoolDir = h.dir
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	got := h.srv.WaitMails(2, waitTimeout)
	mustContain(t, "first mail", got[0].Body, "first")
	mustContain(t, "second mail", got[1].Body, "second")
	if !poll(waitTimeout, func() bool { return len(spoolFiles(t, h.dir)) == 0 }) {
		t.Errorf("spool not emptied: %v", spoolFiles(t, h.dir))
	}
	if got[0].Header.Get("Message-Id") == got[1].Header.Get("Message-Id") {
		t.Error("two mails share a Message-Id")
	}
}

// The spool is bounded: past SpoolMax the oldest mails are dropped, the
// newest kept and sent in order.
func TestSpoolBound(t *testing.T) {
	clock := newClock()
	srv := smtptest.Start(t)
	h := &harness{t: t, clock: clock, world: newWorld(clock, 1), srv: srv}
	o := testOptions(t, testSettings(t, srv, "alert-group 10s"), clock)
	o.SpoolMax = 3
	h.start(o)
	h.settle()
	srv.Down()
	for i := range 5 {
		h.oneMail(fmt.Sprintf("mail-%d", i))
	}
	if files := spoolFiles(t, h.dir); len(files) != 3 {
		t.Fatalf("spool holds %d files, want 3", len(files))
	}
	srv.Up()
	got := srv.WaitMails(3, waitTimeout)
	for i, m := range got {
		mustContain(t, "mail", m.Body, fmt.Sprintf("mail-%d", i+2))
	}
}

// A spool file that cannot be read is set aside (renamed .bad), not
// retried forever and not fatal.
func TestSpoolBadFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "20260701T000000.000000000Z-000001"+spoolExt), "{not json")
	sp, err := openSpool(dir, 10, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if sp.len() != 0 {
		t.Errorf("spool loaded %d mails from a bad file", sp.len())
	}
	if bad, _ := filepath.Glob(filepath.Join(dir, "*.bad")); len(bad) != 1 {
		t.Errorf("bad file not set aside: %v", bad)
	}
}

// A mail server that accepts connections and never answers holds up
// neither the Alerter's reading of events nor its rules: a publisher
// into a small buffered channel never waits long, every event is consumed
// and new mails are still composed, while not a single mail gets through.
func TestRunNeverBlocksWhileSMTPHangs(t *testing.T) {
	clock := newClock()
	srv := smtptest.Start(t)
	w := newWorld(clock, 4)
	w.events = make(chan supervisor.Event, 16)
	h := &harness{t: t, clock: clock, world: w, srv: srv}
	o := testOptions(t, testSettings(t, srv, "alert-group 10s", "alert-after 30s"), clock)
	o.SendTimeout = time.Minute // longer than the test: only Close ends the attempt
	o.CloseTimeout = 100 * time.Millisecond
	h.start(o)
	h.settle()
	srv.SetMode(smtptest.Hang)
	h.oneMail("stuck")
	if !poll(waitTimeout, func() bool { return srv.Connections() >= 1 }) {
		t.Fatal("the sender never connected")
	}
	const events = 5000
	var slowest time.Duration
	evalsBefore := h.a.evaluations.Load()
	for i := range events {
		to := supervisor.Down
		if i%2 == 1 {
			to = supervisor.Up
		}
		e := supervisor.Event{Time: clock.Now(), Node: "r1", To: to, Reason: "flap"}
		begin := time.Now()
		select {
		case w.events <- e:
		case <-time.After(waitTimeout):
			t.Fatalf("publisher blocked for %s at event %d while the mail server hangs", waitTimeout, i)
		}
		slowest = max(slowest, time.Since(begin))
	}
	h.settle()
	if got := h.a.evaluations.Load() - evalsBefore; got < events {
		t.Errorf("%d evaluations for %d events", got, events)
	}
	h.oneMail("second") // the rules still work and compose
	if n := len(srv.Received()); n != 0 || h.a.sent.Load() != 0 {
		t.Fatalf("server got %d mails; the smtptest.Hang test did not hang", n)
	}
	t.Logf("figure: %d events into a 16-slot channel while SMTP hangs: slowest send %s", events, slowest)
	srv.SetMode(smtptest.Accept) // closes the held connection: the attempt fails, the retry succeeds
	got := srv.WaitMails(2, waitTimeout)
	mustContain(t, "first mail", got[0].Body, "stuck")
}

// With no mailserver, alerts are composed and logged, never spooled.
func TestNoMailServerLogsOnly(t *testing.T) {
	clock := newClock()
	h := &harness{t: t, clock: clock, world: newWorld(clock, 2), srv: smtptest.Start(t)}
	h.start(testOptions(t, testSettings(t, nil, "alert-group 10s"), clock))
	h.settle()
	h.world.down("m1")
	h.advance(10 * time.Second)
	if !poll(waitTimeout, func() bool { return h.a.composed.Load() == 1 }) {
		t.Fatal("no alert composed")
	}
	if files := spoolFiles(t, h.dir); len(files) != 0 {
		t.Errorf("spooled %v with no mailserver", files)
	}
	if !strings.HasPrefix(h.dir, h.a.o.Settings.Dir) {
		t.Errorf("spool %s not under the data dir %s", h.dir, h.a.o.Settings.Dir)
	}
}

// Close mails what waits in the group window at once, instead of losing
// it.
func TestCloseFlushesPending(t *testing.T) {
	h := newHarness(t, 2, "alert-group 10s")
	h.settle()
	h.world.set("r0", supervisor.Failed, "crash loop", "exit status 1")
	h.settle()
	if h.a.composed.Load() != 0 {
		t.Fatal("mailed before the group window passed")
	}
	h.stop()
	got := h.srv.WaitMails(1, waitTimeout)
	mustContain(t, "mail", got[0].Subject, "1 node down (partition 0)")
}

// A reloaded config takes effect without a restart: a mail spooled while
// the old mail server was dead goes to the new server and recipients at
// once (not after the retry backoff, here 10 minutes), and a changed
// alert-after applies to the next incident.
func TestSetSettings(t *testing.T) {
	clock := newClock()
	srv := smtptest.Start(t)
	h := &harness{t: t, clock: clock, world: newWorld(clock, 2), srv: srv}
	o := testOptions(t, testSettings(t, srv, "alert-group 10s", "alert-after 30s"), clock)
	o.RetryMin, o.RetryMax = 10*time.Minute, 10*time.Minute
	h.start(o)
	h.settle()
	h.srv.Down()
	h.oneMail("waiting")
	if !poll(waitTimeout, func() bool { return h.a.failed.Load() >= 1 }) {
		t.Fatal("no failed attempt against the dead server")
	}
	other := smtptest.Start(t)
	s := testSettings(t, other, "alert-group 10s", "alert-after 5m")
	s.Alerts = []string{"new-oncall@example.com"}
	h.a.SetSettings(s)
	got := other.WaitMails(1, waitTimeout)[0]
	mustContain(t, "mail", got.Body, "waiting")
	if strings.Join(got.To, ",") != "new-oncall@example.com" {
		t.Errorf("sent to %q, want the new recipient", got.To)
	}
	h.settle()
	h.world.down("r1")
	h.advance(time.Minute) // past the old alert-after, not the new one
	h.advance(time.Minute)
	if n := h.a.composed.Load(); n != 1 {
		t.Errorf("%d mails composed, want 1: alert-after 5m not applied", n)
	}
	h.advance(3 * time.Minute)
	h.advance(10 * time.Second)
	if !poll(waitTimeout, func() bool { return h.a.composed.Load() == 2 }) {
		t.Errorf("r1 not alerted after the new alert-after")
	}
}

// A mail the server refuses goes behind the others, so it cannot hold
// back every alert after it.
func TestSpoolToBack(t *testing.T) {
	sp, err := openSpool(t.TempDir(), 10, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 7, 1, 3, 0, 0, 0, time.UTC)
	a := &message{Created: now, MessageID: "a@x", Subject: "a", Text: "a"}
	b := &message{Created: now.Add(time.Second), MessageID: "b@x", Subject: "b", Text: "b"}
	sp.add(a)
	sp.add(b)
	if sp.oldest() != a {
		t.Fatal("a is not first")
	}
	sp.toBack(a)
	if sp.oldest() != b || sp.len() != 2 {
		t.Errorf("after toBack(a): first %q, %d waiting", sp.oldest().Subject, sp.len())
	}
}
