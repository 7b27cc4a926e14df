package alert

import (
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twine/twine/alert/smtptest"
	"github.com/twine/twine/supervisor"
)

// A node down (here: a replica, so its partition is still served) is not
// mailed before alert-after; once it has been down that long it is, after
// the grouping window, in exactly one mail that says what happened, since
// when, the error, the log tail, what twined does and how to look closer.
func TestDelay(t *testing.T) {
	h := newHarness(t, 3, "alert-after 30s", "alert-group 10s", "alert-reminder 1h")
	h.settle()
	h.world.down("r1")
	h.advance(29 * time.Second)
	h.noMail("29s after the node went down")
	h.advance(1 * time.Second) // due now; waits for the group window
	h.advance(9 * time.Second)
	h.noMail("within the group window")
	h.clock.Advance(time.Second)
	got := h.mails(1)[0]
	if want := "[twine] DEGRADED on db1: 1 node down (partition 1)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	mustContain(t, "body", got.Body,
		"db1 is DEGRADED: 5 of 6 nodes answer.",
		"DOWN (1)",
		"* r1: partition 1 replica, 127.0.0.1:4301",
		"down since 2026-07-01 03:12:00 UTC (40s); now backoff (exited soon after its start)",
		"error:   exit status 1: bind: Address already in use",
		"twined:  restarting it with backoff\n",
		"restarts: 1 since twined started",
		"| # Failed listening on port (tcp), aborting.",
		"twined -status -config /etc/twine/twine.conf",
	)
	if got.From != "twine@db1.example.com" || strings.Join(got.To, ",") != "ops@example.com,oncall@example.com" {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	if g := got.Header.Get("Auto-Submitted"); g != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", g)
	}
	// Still down, before the reminder: nothing more.
	h.advance(30 * time.Minute)
	if n := h.a.composed.Load(); n != 1 {
		t.Errorf("%d mails composed, want 1", n)
	}
}

// A node that is down and up again within alert-after is never mailed;
// nor is a partition master that is restarted within the group window,
// although its partition was without a master for that moment.
func TestFlapNoMail(t *testing.T) {
	h := newHarness(t, 2, "alert-after 30s", "alert-group 10s")
	h.settle()
	for range 3 {
		h.world.down("r0")
		h.advance(20 * time.Second)
		h.world.set("r0", supervisor.Starting, "started", "")
		h.world.set("r0", supervisor.Up, "answering PING", "")
		h.advance(5 * time.Second)
	}
	h.world.set("m1", supervisor.Down, "exited after 1h up; restarting at once", "signal: killed")
	h.world.set("m1", supervisor.Starting, "started", "")
	h.advance(3 * time.Second)
	h.world.set("m1", supervisor.Up, "answering PING", "")
	h.advance(time.Minute)
	h.advance(time.Hour)
	h.noMail("after flaps")
}

// Alerts falling due within the group window go out as one mail naming
// every node, the subject listing the partitions.
func TestGrouping(t *testing.T) {
	h := newHarness(t, 20, "alert-after 30s", "alert-group 10s")
	h.settle()
	for _, n := range []string{"r4", "r9"} {
		h.world.down(n)
	}
	h.advance(4 * time.Second)
	h.world.down("r17")
	h.advance(30 * time.Second) // r4, r9 due at 30s, r17 at 34s: same window
	h.advance(10 * time.Second)
	got := h.mails(1)[0]
	if want := "[twine] DEGRADED on db1: 3 nodes down (partitions 4, 9, 17)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	mustContain(t, "body", got.Body, "DOWN (3)", "* r4:", "* r9:", "* r17:", "37 of 40 nodes answer")
}

// A 64-node host losing every replica at once gets one mail listing all.
func TestGroupingMany(t *testing.T) {
	h := newHarness(t, 64, "alert-after 30s", "alert-group 10s")
	h.settle()
	for p := range 64 {
		h.world.down(nodeName('r', p))
	}
	h.advance(45 * time.Second)
	got := h.mails(1)[0]
	if !strings.HasPrefix(got.Subject, "[twine] DEGRADED on db1: 64 nodes down (partitions 0, 1, 2, ") {
		t.Errorf("subject = %q", got.Subject)
	}
	if n := strings.Count(got.Body, "\n* r"); n != 64 {
		t.Errorf("body lists %d nodes, want 64", n)
	}
}

func nodeName(role byte, p int) string { return string(role) + itoa(p) }

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// While an alerted node stays down a reminder follows every
// alert-reminder, saying how long it has been down.
func TestReminder(t *testing.T) {
	h := newHarness(t, 2, "alert-after 30s", "alert-group 10s", "alert-reminder 1h")
	h.settle()
	h.world.down("r0")
	h.advance(31 * time.Second)
	h.advance(10 * time.Second)
	h.mails(1)
	h.advance(59 * time.Minute)
	if n := h.a.composed.Load(); n != 1 {
		t.Fatalf("%d mails before the reminder is due, want 1", n)
	}
	h.advance(time.Minute)
	h.advance(10 * time.Second)
	got := h.mails(2)[1]
	if want := "[twine] DEGRADED on db1: 1 node still down (partition 0)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	mustContain(t, "reminder", got.Body, "STILL DOWN (1)", "* r0:", "(1h0m51s)")
	h.advance(time.Hour)
	h.advance(10 * time.Second)
	h.mails(3)
}

// With alert-reminder 0 there is no reminder.
func TestReminderOff(t *testing.T) {
	h := newHarness(t, 1, "alert-after 30s", "alert-group 10s", "alert-reminder 0")
	h.settle()
	h.world.down("r0")
	h.advance(31 * time.Second)
	h.advance(10 * time.Second)
	h.mails(1)
	for range 5 {
		h.advance(24 * time.Hour)
	}
	if n := h.a.composed.Load(); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
}

// An alerted node that answers again gets one recovery mail saying how
// long it was down; a flap-free node gets none.
func TestRecovery(t *testing.T) {
	h := newHarness(t, 2, "alert-after 30s", "alert-group 10s")
	h.settle()
	h.world.down("r0")
	h.advance(31 * time.Second)
	h.advance(10 * time.Second)
	h.mails(1)
	h.advance(4 * time.Minute)
	h.world.set("r0", supervisor.Starting, "started", "")
	h.world.set("r0", supervisor.Up, "answering PING 80ms after its start", "")
	h.advance(10 * time.Second)
	got := h.mails(2)[1]
	if want := "[twine] OK on db1: 1 node up again (partition 0)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	mustContain(t, "recovery", got.Body, "RESOLVED (1)", "* r0: partition 0 replica",
		"up again at 2026-07-01 03:16:41 UTC, after 4m41s down (since 2026-07-01 03:12:00 UTC)",
		"db1 is OK: 4 of 4 nodes answer.")
	h.advance(2 * time.Hour)
	if n := h.a.composed.Load(); n != 2 {
		t.Errorf("%d mails, want 2 (no reminder after the recovery)", n)
	}
}

// A partition losing its only live master is HALT: mailed at once (after
// the group window), without waiting for alert-after. So is a crash loop.
func TestHaltAtOnce(t *testing.T) {
	h := newHarness(t, 3, "alert-after 1h", "alert-group 10s")
	h.settle()
	h.world.down("m2")
	h.advance(10 * time.Second)
	got := h.mails(1)[0]
	if want := "[twine] HALT on db1: 1 node down (partition 2)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	mustContain(t, "HALT mail", got.Body, "db1 is HALT: 5 of 6 nodes answer; partition 2 has no live master.", "* m2: partition 2 master")

	h.world.set("r0", supervisor.Failed, "crash loop: 5 exits within 1m0s; retrying every 30s", "exit status 1", "# Fatal error loading the DB")
	h.advance(10 * time.Second)
	got = h.mails(2)[1]
	if want := "[twine] HALT on db1: 1 node down (partition 0)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	mustContain(t, "crash loop mail", got.Body, "failed (crash loop)", "gave up retrying fast", "| # Fatal error loading the DB")
}

// A node stopped by the operator is never alerted, however long it stays
// stopped, even when its partition is left without a master. An alerted
// node that the operator then stops gets one last mail saying it is no
// longer alerted, and no reminders.
func TestOperatorStopped(t *testing.T) {
	h := newHarness(t, 3, "alert-after 30s", "alert-group 10s", "alert-reminder 1h")
	h.settle()
	h.world.set("m0", supervisor.Stopped, "stopped by the operator", "")
	h.world.set("r0", supervisor.Stopped, "stopped by the operator", "")
	h.advance(time.Minute)
	h.advance(3 * time.Hour)
	h.noMail("operator-stopped nodes")

	h.world.down("r1")
	h.advance(31 * time.Second)
	h.advance(10 * time.Second)
	h.mails(1)
	h.world.set("r1", supervisor.Stopped, "stopped by the operator", "")
	h.advance(10 * time.Second)
	got := h.mails(2)[1]
	if want := "[twine] OK on db1: 1 node stopped, no longer alerted (partition 1)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	mustContain(t, "stop mail", got.Body, "stopped at 2026-07-01 06:13:41 UTC (stopped by the operator), after 41s down (since 2026-07-01 06:13:00 UTC); no longer alerted")
	h.advance(2 * time.Hour)
	if n := h.a.composed.Load(); n != 2 {
		t.Errorf("%d mails, want 2", n)
	}
}

// A failed AOF rewrite and a rejected config are mailed at once, grouped,
// with no recovery to follow.
func TestOneOffEvents(t *testing.T) {
	h := newHarness(t, 4, "alert-after 30s", "alert-group 10s")
	h.settle()
	h.world.publish(supervisor.Event{Kind: supervisor.AOFRewriteFailed, Node: "m3", Err: "ERR Background append only file rewriting already in progress"})
	h.advance(5 * time.Second)
	h.world.publish(supervisor.Event{Kind: supervisor.ConfigInvalid, Err: "twine.conf:3: unknown setting \"check-intervl\"\ntwine.conf:9: port 70000 is out of range 1-65535"})
	h.advance(5 * time.Second)
	got := h.mails(1)[0]
	if want := "[twine] OK on db1: AOF rewrite failed on m3; twine.conf reload rejected"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	mustContain(t, "body", got.Body, "OTHER EVENTS (2)", "* AOF rewrite failed on m3 (partition 3 master, 127.0.0.1:4203)",
		"ERR Background append only file rewriting already in progress",
		"* twine.conf reload rejected; the running cluster is unchanged", "twine.conf:9: port 70000 is out of range 1-65535")
	h.advance(2 * time.Hour)
	if n := h.a.composed.Load(); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
}

// A state change whose event was dropped (the subscriber fell behind) is
// still seen through the snapshot.
func TestDroppedEventsSeenInSnapshot(t *testing.T) {
	h := newHarness(t, 2, "alert-after 30s", "alert-group 10s")
	h.settle()
	h.world.change("r1", supervisor.Failed, "crash loop", "exit status 1", false)
	h.advance(10 * time.Second)
	got := h.mails(1)[0]
	if want := "[twine] DEGRADED on db1: 1 node down (partition 1)"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	h.world.change("r1", supervisor.Up, "answering PING", "", false)
	h.advance(10 * time.Second)
	h.mails(2)
}

// A master that exits and is replaced by a replica within the group window
// makes one mail: the fail-over (which set, old and new master, how long
// writes were refused), and no "down" item for the old master, which is
// back as a replica by then.
func TestFailoverOneMail(t *testing.T) {
	h := newHarness(t, 2, "alert-after 30s", "alert-group 10s")
	h.settle()
	h.world.set("m1", supervisor.Held, "master exited; asking Sentinel for an immediate fail-over of twine-1", "killed by signal SIGKILL")
	h.advance(400 * time.Millisecond)
	h.world.publish(supervisor.Event{Kind: supervisor.Failover, Node: "m1", From: supervisor.Held, To: supervisor.Held,
		Reason:   "fail-over of partition 1 done: r1 (127.0.0.1:4301) is its master now (writes refused for 430ms); restarting as its replica",
		Failover: &supervisor.FailoverInfo{Set: "partition 1", Partition: 1, Name: "twine-1", Old: "m1 (127.0.0.1:4201)", New: "r1 (127.0.0.1:4301)", Refused: 430 * time.Millisecond}})
	h.world.set("m1", supervisor.Down, "fail-over done; restarting as a replica", "")
	h.world.set("m1", supervisor.Starting, "started", "")
	h.world.set("m1", supervisor.Up, "answering PING", "")
	h.advance(11 * time.Second)
	got := h.mails(1)[0]
	if !strings.Contains(got.Subject, "fail-over of partition 1") {
		t.Errorf("subject %q does not name the fail-over", got.Subject)
	}
	mustContain(t, "body", got.Body, "Fail-over of partition 1: r1 (127.0.0.1:4301) replaced m1 (127.0.0.1:4201); writes refused for 430ms")
	if strings.Contains(got.Body, "DOWN (") {
		t.Errorf("the replaced master is also mailed as down:\n%s", got.Body)
	}
	h.advance(time.Hour)
	if n := h.a.composed.Load(); n != 1 {
		t.Errorf("%d mails composed, want 1", n)
	}
}

// A twined restarted while a node is down (incidents kept in a file):
// the node is not mailed again as new, and its recovery is still mailed.
func TestIncidentsKeptAcrossRestart(t *testing.T) {
	h := newHarness(t, 2, "alert-after 30s", "alert-group 10s")
	h.stop()
	state := FileState(filepath.Join(t.TempDir(), "incidents.json"))
	o := testOptions(t, testSettings(t, h.srv, "alert-after 30s", "alert-group 10s"), h.clock)
	o.State = state
	h.start(o)
	h.settle()
	h.world.down("r1")
	h.advance(31 * time.Second)
	h.advance(10 * time.Second)
	h.mails(1)
	h.stop() // twined restarts: a new Alerter, the same state file
	h.start(o)
	h.settle()
	h.advance(time.Minute)
	if n := len(h.srv.Received()); n != 1 {
		t.Fatalf("%d mails after the restart with r1 still down, want the 1 before: %q", n, smtptest.Subjects(h.srv.Received()))
	}
	h.world.set("r1", supervisor.Starting, "started", "")
	h.world.set("r1", supervisor.Up, "answering PING", "")
	h.advance(11 * time.Second)
	got := h.srv.WaitMails(2, waitTimeout)[1]
	if !strings.Contains(got.Subject, "1 node up again") {
		t.Errorf("after the restart: %q, want r1's recovery", got.Subject)
	}
}

// An alerter whose node incidents another one mails (covered: the
// cluster's alpha) mails only its one-off notes; uncovered again, it mails
// what is still open, with the note saying why.
func TestCoveredMailsOnlyNotes(t *testing.T) {
	h := newHarness(t, 2, "alert-after 30s", "alert-group 10s")
	h.stop()
	var covered atomic.Bool
	covered.Store(true)
	o := testOptions(t, testSettings(t, h.srv, "alert-after 30s", "alert-group 10s"), h.clock)
	o.Covered = func() (bool, string) {
		return covered.Load(), "The status node does not answer: this host mails its own alerts."
	}
	h.start(o)
	h.settle()
	h.world.down("r1")
	h.world.publish(supervisor.Event{Kind: supervisor.AOFRewriteFailed, Node: "m0", Err: "no space left on device"})
	h.advance(41 * time.Second)
	got := h.mails(1)
	if !strings.Contains(got[0].Subject, "AOF rewrite failed on m0") || strings.Contains(got[0].Body, "DOWN (") {
		t.Errorf("covered: %q\n%s\nwant only the AOF note", got[0].Subject, got[0].Body)
	}
	covered.Store(false)
	h.advance(time.Second)
	h.advance(10 * time.Second)
	got = h.mails(2)
	mustContain(t, "uncovered mail", got[1].Body, "The status node does not answer: this host mails its own alerts.", "DOWN (1)", "* r1:")
}
