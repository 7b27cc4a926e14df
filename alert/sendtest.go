package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/templates"
)

// SendTest sends one test mail with the settings, for `twined -test-alert`,
// and returns the mail server's answer to it (e.g. "250 2.0.0 OK: queued").
// Its error wraps ErrNoMailServer, ErrNoRecipients, ErrConnect,
// ErrTimeout, ErrTLSRequired, ErrTLS, ErrAuthFailed, ErrAuthUnavailable,
// ErrAuthNeedsTLS, ErrPasswordFile, ErrRejected or ErrProtocol. ctx bounds
// the attempt (with DefaultSendTimeout at most).
func SendTest(ctx context.Context, s config.Settings, host string) (serverAnswer string, err error) {
	return sendTest(ctx, s, host, nil)
}

func sendTest(ctx context.Context, s config.Settings, host string, tlsConfig *tls.Config) (string, error) {
	if s.MailServer == "" {
		return "", fmt.Errorf("send test mail: %w", ErrNoMailServer)
	}
	if len(s.Alerts) == 0 {
		return "", fmt.Errorf("send test mail: %w", ErrNoRecipients)
	}
	now := time.Now()
	reminder := "off"
	if s.AlertReminder > 0 {
		reminder = "every " + shortDuration(s.AlertReminder) + " while a node stays down"
	}
	var text bytes.Buffer
	err := templates.AlertTestText.Execute(&text, templates.AlertTestData{
		Host:       host,
		Time:       now.Format(timeLayout),
		MailServer: s.MailServer,
		TLS:        string(s.MailTLS),
		Recipients: strings.Join(s.Alerts, ", "),
		AlertAfter: shortDuration(s.AlertAfter),
		Reminder:   reminder,
		Group:      shortDuration(s.AlertGroup),
	})
	if err != nil {
		return "", fmt.Errorf("render test mail: %w", err)
	}
	m := &message{
		Created:   now,
		MessageID: newMessageID(host, now),
		Host:      host,
		Subject:   "[twine] test mail from " + host,
		Text:      text.String(),
	}
	msg, err := toMsg(s, m)
	if err != nil {
		return "", fmt.Errorf("send test mail: %w", err)
	}
	mr := &mailer{settings: s, helo: hostname(), tls: tlsConfig, timeout: DefaultSendTimeout}
	answer, err := mr.send(ctx, msg)
	if err != nil {
		return "", fmt.Errorf("send test mail: %w", err)
	}
	return answer, nil
}
