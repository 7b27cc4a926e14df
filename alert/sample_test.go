package alert

import (
	"flag"
	"github.com/twine/twine/alert/smtptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twine/twine/supervisor"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// The mails for three partition masters down at once and up again,
// compared with testdata/*.golden (the samples in the README): rerun with
// -update after a deliberate change of the template.
func TestSampleMail(t *testing.T) {
	h := newHarness(t, 20, "alert-after 30s", "alert-group 10s", "alert-reminder 1h", "backoff-max 30s")
	h.settle()
	// m4 stopped answering and does not die of SIGKILL (stuck in disk I/O).
	h.world.set("m4", supervisor.Hung, "3 PINGs in a row unanswered; killing it", "dial tcp 127.0.0.1:4204: i/o timeout")
	h.advance(2 * time.Second)
	h.world.set("m9", supervisor.Failed, "crash loop: 5 exits within 1m0s; retrying every 30s",
		"exit status 1: Fatal error loading the DB, check server logs. Exiting.",
		"48190:M 01 Jul 2026 03:12:01.127 * Reading RDB base file on AOF loading...",
		"48190:M 01 Jul 2026 03:12:01.131 # Short read or OOM loading DB. Unrecoverable error, aborting now.",
		"48190:M 01 Jul 2026 03:12:01.131 # Internal error in RDB reading offset 0, function at rdb.c:3055 -> Unexpected EOF reading RDB file")
	h.advance(6 * time.Second)
	h.world.set("m17", supervisor.Down, "exited", "exit status 1")
	h.world.set("m17", supervisor.Backoff, "exited soon after its start (attempt 3); restarting in 1.6s",
		"exit status 1: Can't open the append-only file: Permission denied",
		"48201:M 01 Jul 2026 03:12:08.410 # Can't open the append-only file appendonly.aof.1.incr.aof: Permission denied")
	h.advance(10 * time.Second)
	golden(t, "halt-3-nodes.golden", h.mails(1)[0])

	h.advance(7 * time.Minute)
	for _, n := range []string{"m4", "m9", "m17"} {
		h.world.set(n, supervisor.Starting, "started", "")
		h.world.set(n, supervisor.Up, "answering PING", "")
	}
	h.advance(10 * time.Second)
	golden(t, "recovered-3-nodes.golden", h.mails(2)[1])
}

// golden compares a mail with testdata/name.
func golden(t *testing.T, name string, got smtptest.Received) {
	t.Helper()
	text := "Subject: " + got.Subject + "\n\n" + got.Body
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read %s (run with -update to create it): %v", golden, err)
	}
	if text != string(want) {
		t.Errorf("mail differs from %s (run with -update after a deliberate change):\n%s", golden, text)
	}
}
