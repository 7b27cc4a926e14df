package alert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/twine/twine/config"
)

// mailer carries out one SMTP transaction per send: connect, TLS as
// mail-tls says, AUTH when mail-user is set, MAIL, RCPT, DATA. Each step
// has its own sentinel error, so callers and people learn which step
// failed without reading server text. A mailer holds no connection between
// sends and is safe for concurrent use.
type mailer struct {
	settings config.Settings
	helo     string      // our name in EHLO
	tls      *tls.Config // base config; nil = system roots
	timeout  time.Duration
}

// send delivers msg and returns the server's final answer, e.g. "250 2.0.0
// OK: queued as 4F2A". The whole transaction is bounded by the mailer's
// timeout and by ctx.
func (m *mailer) send(ctx context.Context, msg *gomail.Msg) (answer string, err error) {
	addr := m.settings.MailServer
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: mailserver %q is not HOST:PORT", ErrConnect, addr)
	}
	password, err := m.password()
	if err != nil {
		return "", err
	}
	from, err := msg.GetSender(false)
	if err != nil {
		return "", fmt.Errorf("%w: sender: %w", ErrRejected, err)
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoRecipients, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()

	conn, err := m.dial(ctx, addr, host)
	if err != nil {
		return "", err
	}
	// A cancelled ctx or a server that stops answering ends every step.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return "", m.fail(ctx, ErrProtocol, "read greeting", err)
	}
	defer c.Close()
	if err := c.Hello(m.helo); err != nil {
		return "", m.fail(ctx, ErrProtocol, "EHLO", err)
	}
	if err := m.startTLS(ctx, c, host); err != nil {
		return "", err
	}
	if err := m.auth(ctx, c, host, password); err != nil {
		return "", err
	}
	if err := c.Mail(from); err != nil {
		return "", m.fail(ctx, ErrRejected, "MAIL FROM:"+from, err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return "", m.fail(ctx, ErrRejected, "RCPT TO:"+r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", m.fail(ctx, ErrRejected, "DATA", err)
	}
	if _, err := msg.WriteTo(w); err != nil {
		return "", m.fail(ctx, ErrProtocol, "write message", err)
	}
	if err := w.Close(); err != nil {
		return "", m.fail(ctx, ErrRejected, "end of DATA", err)
	}
	answer = "250"
	if dc, ok := w.(*smtp.DataCloser); ok && dc.ServerResponse() != "" {
		answer += " " + dc.ServerResponse()
	}
	_ = c.Quit() // the mail is accepted; a failing QUIT changes nothing
	return answer, nil
}

// dial connects, with TLS from the first byte for mail-tls implicit.
func (m *mailer) dial(ctx context.Context, addr, host string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, m.fail(ctx, ErrConnect, "", err)
	}
	if m.settings.MailTLS != config.TLSImplicit {
		return conn, nil
	}
	tc := tls.Client(conn, m.tlsConfig(host, true))
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, m.fail(ctx, ErrTLS, "implicit TLS with "+addr, err)
	}
	return tc, nil
}

// startTLS upgrades the connection as mail-tls says: opportunistic when the
// server offers STARTTLS (encrypted, certificate not verified, as MTAs do),
// mandatory always (certificate verified).
func (m *mailer) startTLS(ctx context.Context, c *smtp.Client, host string) error {
	mode := m.settings.MailTLS
	if mode == config.TLSOff || mode == config.TLSImplicit {
		return nil
	}
	offered, _ := c.Extension("STARTTLS")
	if !offered {
		if mode == config.TLSMandatory {
			return fmt.Errorf("%w (%s)", ErrTLSRequired, m.settings.MailServer)
		}
		return nil
	}
	if err := c.StartTLS(m.tlsConfig(host, mode == config.TLSMandatory)); err != nil {
		return m.fail(ctx, ErrTLS, "STARTTLS", err)
	}
	return nil
}

func (m *mailer) tlsConfig(host string, verify bool) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.tls != nil {
		cfg = m.tls.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if !verify {
		cfg.InsecureSkipVerify = true //nolint:gosec // opportunistic TLS: encrypt, like an MTA, without authenticating
	}
	return cfg
}

// auth logs in with PLAIN (or LOGIN) when mail-user is set. The password
// goes over an unencrypted connection only to a loopback server or with
// mail-tls off.
func (m *mailer) auth(ctx context.Context, c *smtp.Client, host, password string) error {
	user := m.settings.MailUser
	if user == "" {
		return nil
	}
	ok, list := c.Extension("AUTH")
	mechs := strings.Fields(strings.ToUpper(list))
	allowPlain := m.settings.MailTLS == config.TLSOff
	var a smtp.Auth
	switch {
	case ok && slices.Contains(mechs, "PLAIN"):
		a = smtp.PlainAuth("", user, password, host, allowPlain)
	case ok && slices.Contains(mechs, "LOGIN"):
		a = smtp.LoginAuth(user, password, host, allowPlain)
	default:
		if list == "" {
			return fmt.Errorf("%w: %s offers no AUTH at all", ErrAuthUnavailable, m.settings.MailServer)
		}
		return fmt.Errorf("%w: %s offers AUTH %s", ErrAuthUnavailable, m.settings.MailServer, list)
	}
	err := c.Auth(a)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, smtp.ErrUnencrypted):
		return fmt.Errorf("%w: %s offers no STARTTLS", ErrAuthNeedsTLS, m.settings.MailServer)
	default:
		return m.fail(ctx, ErrAuthFailed, "AUTH as "+user, err)
	}
}

// password reads mail-password-file afresh for every send, so fixing the
// file fixes delivery without a restart.
func (m *mailer) password() (string, error) {
	if m.settings.MailUser == "" {
		return "", nil
	}
	if m.settings.MailPasswordFile == "" {
		return "", fmt.Errorf("%w: mail-user %s needs set mail-password-file", ErrPasswordFile, m.settings.MailUser)
	}
	b, err := os.ReadFile(m.settings.MailPasswordFile)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrPasswordFile, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// fail wraps err of one step ("" for connecting) with its sentinel, or
// with ErrTimeout (and context.DeadlineExceeded) when the step ran out of
// time.
func (m *mailer) fail(ctx context.Context, sentinel error, step string, err error) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		sentinel, err = ErrTimeout, context.DeadlineExceeded
	}
	if step == "" {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	return fmt.Errorf("%w: %s: %w", sentinel, step, err)
}
