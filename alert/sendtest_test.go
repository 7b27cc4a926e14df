package alert

import (
	"context"
	"errors"
	"github.com/twine/twine/alert/smtptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sendTestWith runs sendTest against srv with extra `set` lines (after
// mail-tls off, which a line may override).
func sendTestWith(t *testing.T, srv *smtptest.Server, roots bool, lines ...string) (string, error) {
	t.Helper()
	s := testSettings(t, srv, lines...)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if roots {
		return sendTest(ctx, s, "db1", srv.Roots())
	}
	return sendTest(ctx, s, "db1", nil)
}

func passwordFile(t *testing.T, password string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "smtp.password")
	if err := os.WriteFile(p, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The test mail arrives with the configured sender and recipients, and
// the server's answer is returned.
func TestSendTestDelivers(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("twine", "s3cret"))
	answer, err := sendTestWith(t, srv, false, "mail-user twine", "mail-password-file "+passwordFile(t, "s3cret"))
	if err != nil {
		t.Fatalf("SendTest: %v", err)
	}
	if !strings.HasPrefix(answer, "250 ") || !strings.Contains(answer, "queued") {
		t.Errorf("answer = %q, want the server's 250 reply", answer)
	}
	got := srv.WaitMails(1, waitTimeout)[0]
	if got.Subject != "[twine] test mail from db1" {
		t.Errorf("subject = %q", got.Subject)
	}
	mustContain(t, "test mail", got.Body, "This is a test mail from twined on db1", "recipients:   ops@example.com, oncall@example.com")
	if strings.Join(got.To, ",") != "ops@example.com,oncall@example.com" || got.From != "twine@db1.example.com" {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
}

// Each failure is told apart by a sentinel error.
func TestSendTestErrors(t *testing.T) {
	plain := smtptest.Start(t)
	authed := smtptest.Start(t, smtptest.WithAuth("twine", "s3cret"))
	starttls := smtptest.Start(t, smtptest.WithSTARTTLS())
	implicit := smtptest.Start(t, smtptest.WithImplicitTLS())
	hung := smtptest.Start(t)
	hung.SetMode(smtptest.Hang)
	refused := smtptest.Start(t)
	refused.Down()

	tests := []struct {
		name  string
		srv   *smtptest.Server
		roots bool
		lines []string
		want  error
		cause error
	}{
		{"connection refused", refused, false, nil, ErrConnect, syscall.ECONNREFUSED},
		{"auth failed", authed, false, []string{"mail-user twine", "mail-password-file " + passwordFile(t, "wrong")}, ErrAuthFailed, nil},
		{"no login where one is required", authed, false, nil, ErrRejected, nil},
		{"password file missing", authed, false, []string{"mail-user twine", "mail-password-file /nonexistent/twine-smtp.password"}, ErrPasswordFile, os.ErrNotExist},
		{"auth not offered", plain, false, []string{"mail-user twine", "mail-password-file " + passwordFile(t, "x")}, ErrAuthUnavailable, nil},
		{"TLS required, no STARTTLS offered", plain, false, []string{"mail-tls mandatory"}, ErrTLSRequired, nil},
		{"TLS mandatory, certificate not trusted", starttls, false, []string{"mail-tls mandatory"}, ErrTLS, nil},
		{"implicit TLS to a plain server", plain, false, []string{"mail-tls implicit"}, ErrTLS, nil},
		{"server never answers", hung, false, nil, ErrTimeout, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings(t, tt.srv, tt.lines...)
			timeout := waitTimeout
			if tt.want == ErrTimeout {
				timeout = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, err := sendTest(ctx, s, "db1", nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("err = %v does not wrap %v", err, tt.cause)
			}
			t.Logf("%s: %v", tt.name, err)
		})
	}
	if n := len(plain.Received()) + len(authed.Received()) + len(starttls.Received()) + len(implicit.Received()); n != 0 {
		t.Errorf("%d mails got through failing sends", n)
	}
}

// Every mail-tls mode against a server that supports it: opportunistic
// uses STARTTLS when offered (the certificate is not checked, as MTAs do),
// mandatory and implicit verify it.
func TestSendTestTLSModes(t *testing.T) {
	tests := []struct {
		name  string
		srv   *smtptest.Server
		roots bool
		mode  string
		tls   bool
	}{
		{"opportunistic, STARTTLS offered", smtptest.Start(t, smtptest.WithSTARTTLS()), false, "opportunistic", true},
		{"opportunistic, none offered", smtptest.Start(t), false, "opportunistic", false},
		{"mandatory, trusted certificate", smtptest.Start(t, smtptest.WithSTARTTLS()), true, "mandatory", true},
		{"implicit, trusted certificate", smtptest.Start(t, smtptest.WithImplicitTLS()), true, "implicit", true},
		{"off, STARTTLS offered", smtptest.Start(t, smtptest.WithSTARTTLS()), false, "off", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sendTestWith(t, tt.srv, tt.roots, "mail-tls "+tt.mode); err != nil {
				t.Fatalf("SendTest: %v", err)
			}
			if got := tt.srv.WaitMails(1, waitTimeout)[0]; got.TLS != tt.tls {
				t.Errorf("mail came over TLS: %v, want %v", got.TLS, tt.tls)
			}
		})
	}
}

// Without a mailserver or recipients there is nothing to test; the error
// says which.
func TestSendTestUnconfigured(t *testing.T) {
	if _, err := SendTest(context.Background(), testSettings(t, nil), "db1"); !errors.Is(err, ErrNoMailServer) {
		t.Errorf("no mailserver: err = %v, want ErrNoMailServer", err)
	}
	s := testSettings(t, smtptest.Start(t))
	s.Alerts = nil
	if _, err := SendTest(context.Background(), s, "db1"); !errors.Is(err, ErrNoRecipients) {
		t.Errorf("no recipients: err = %v, want ErrNoRecipients", err)
	}
}
