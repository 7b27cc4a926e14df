package alert

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/twine/twine/config"
)

// message is one composed alert mail: what is spooled to disk and sent.
// Sender and recipients are not part of it: they are taken from the
// settings when it is sent, so a mail spooled before a fix of `set alert`
// goes to the right people.
type message struct {
	ID        string    `json:"-"` // spool file name without extension
	Created   time.Time `json:"created"`
	MessageID string    `json:"message_id"` // the same on every attempt
	Host      string    `json:"host"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
}

// newMessageID returns a Message-ID value (without <>) unique to one mail.
func newMessageID(host string, t time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%d.%s.twine@%s", t.Unix(), hex.EncodeToString(b[:]), mailDomain(host))
}

// mailDomain makes a host name usable after an @.
func mailDomain(host string) string {
	host = strings.Trim(host, "[]")
	if host == "" || strings.ContainsAny(host, ":@ ") {
		return "localhost"
	}
	return host
}

// hostname is this machine's name, for EHLO and the default sender.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// sender is the From address: mail-from, or twine@HOSTNAME.
func sender(s config.Settings) string {
	if s.MailFrom != "" {
		return s.MailFrom
	}
	return "twine@" + mailDomain(hostname())
}

// toMsg builds the go-mail message for m with the current settings.
func toMsg(s config.Settings, m *message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(sender(s)); err != nil {
		return nil, fmt.Errorf("%w: mail-from %q: %w", ErrRejected, sender(s), err)
	}
	if len(s.Alerts) == 0 {
		return nil, ErrNoRecipients
	}
	if err := msg.To(s.Alerts...); err != nil {
		return nil, fmt.Errorf("%w: recipients: %w", ErrRejected, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDateWithValue(m.Created)
	msg.SetUserAgent("twined")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetGenHeader("X-Twine-Host", m.Host)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, nil
}
