package alert

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/config"
)

// spoolExt ends the name of every spooled mail; a file that cannot be read
// back is renamed to end in .bad and left for people.
const spoolExt = ".mail.json"

// SpoolDir returns where undelivered alert mails of host wait:
// DIR/twined/HOST/alerts, DIR being `set dir`, beside twined's other
// state for the host.
func SpoolDir(s config.Settings, host string) string {
	return filepath.Join(s.Dir, "twined", host, "alerts")
}

// spool is the on-disk queue of mails not delivered yet, oldest first. A
// mail is written to disk before its first attempt and removed once the
// server accepted it, so a restart of twined loses nothing (a mail cut off
// mid-send may arrive twice). Past max mails the oldest is dropped, with a
// log line. Safe for concurrent use.
type spool struct {
	dir string
	max int
	log hclog.Logger

	mu    sync.Mutex
	mails []*message // oldest first
	seq   int
}

// openSpool creates dir if needed and loads the mails left in it.
func openSpool(dir string, max int, log hclog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create alert spool: %w", err)
	}
	s := &spool{dir: dir, max: max, log: log}
	names, err := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	if err != nil {
		return nil, fmt.Errorf("read alert spool: %w", err)
	}
	slices.Sort(names) // names start with the creation time
	for _, name := range names {
		m, err := readSpooled(name)
		if err != nil {
			log.Error("unreadable spooled alert mail; set aside", "file", name+".bad", "error", err)
			_ = os.Rename(name, name+".bad")
			continue
		}
		s.mails = append(s.mails, m)
	}
	s.seq = len(s.mails)
	s.trim()
	return s, nil
}

func readSpooled(name string) (*message, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m.Subject == "" || m.MessageID == "" {
		return nil, fmt.Errorf("no subject or message id")
	}
	m.ID = strings.TrimSuffix(filepath.Base(name), spoolExt)
	return &m, nil
}

// add writes m to disk and queues it. A mail that cannot be written is
// still queued in memory (and the failure logged): it is lost only if
// twined stops before it is delivered.
func (s *spool) add(m *message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	m.ID = fmt.Sprintf("%s-%06d", m.Created.UTC().Format("20060102T150405.000000000Z"), s.seq)
	if err := s.write(m); err != nil {
		s.log.Error("cannot spool alert mail; keeping it in memory", "subject", m.Subject, "error", err)
	}
	s.mails = append(s.mails, m)
	s.trim()
}

func (s *spool) write(m *message) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(s.dir, m.ID+spoolExt)
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// trim drops the oldest mails past the bound. Called with mu held.
func (s *spool) trim() {
	for len(s.mails) > s.max {
		old := s.mails[0]
		s.mails = s.mails[1:]
		s.log.Warn("alert spool full; dropping the oldest undelivered mail",
			"max", s.max, "subject", old.Subject, "created", old.Created)
		s.unlink(old)
	}
}

func (s *spool) unlink(m *message) {
	if err := os.Remove(filepath.Join(s.dir, m.ID+spoolExt)); err != nil && !os.IsNotExist(err) {
		s.log.Error("cannot remove spooled alert mail", "id", m.ID, "error", err)
	}
}

// oldest returns the oldest queued mail, nil when there is none.
func (s *spool) oldest() *message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mails) == 0 {
		return nil
	}
	return s.mails[0]
}

// remove forgets m (delivered). Removing a mail already dropped is a no-op.
func (s *spool) remove(m *message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.Index(s.mails, m)
	if i < 0 {
		return
	}
	s.mails = slices.Delete(s.mails, i, i+1)
	s.unlink(m)
}

// toBack moves m behind every other waiting mail, so that a mail the
// server refuses does not hold back the ones queued after it. The order on
// disk (by creation) is kept for the next twined.
func (s *spool) toBack(m *message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.mails, m); i >= 0 {
		s.mails = append(slices.Delete(s.mails, i, i+1), m)
	}
}

// len returns how many mails wait.
func (s *spool) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mails)
}
