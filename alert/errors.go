package alert

import "errors"

// Sentinel errors of mail delivery and SendTest. Errors returned by this
// package wrap one of them (test with errors.Is) together with the cause
// (e.g. syscall.ECONNREFUSED, a *textproto.Error with the server's reply).
var (
	// ErrNoMailServer: no `set mailserver`; alerts are logged only.
	ErrNoMailServer = errors.New("no mailserver set")
	// ErrNoRecipients: no `set alert ADDR`; alerts are logged only.
	ErrNoRecipients = errors.New("no alert recipient set (set alert ADDR)")
	// ErrConnect: the mail server could not be reached (refused,
	// unreachable, unknown host).
	ErrConnect = errors.New("cannot connect to the mail server")
	// ErrTimeout: the mail server did not answer within the send timeout.
	ErrTimeout = errors.New("mail server did not answer in time")
	// ErrTLSRequired: mail-tls is mandatory and the server offers no
	// STARTTLS.
	ErrTLSRequired = errors.New("mail server does not offer STARTTLS, which mail-tls mandatory requires")
	// ErrTLS: the TLS handshake with the mail server failed (certificate,
	// protocol).
	ErrTLS = errors.New("TLS with the mail server failed")
	// ErrAuthFailed: the mail server rejected mail-user and the password.
	ErrAuthFailed = errors.New("mail server rejected the login")
	// ErrAuthUnavailable: mail-user is set but the server offers no AUTH
	// mechanism twined can use (PLAIN or LOGIN).
	ErrAuthUnavailable = errors.New("mail server offers no usable AUTH mechanism")
	// ErrAuthNeedsTLS: the connection is not encrypted, so the password is
	// not sent; use STARTTLS (mail-tls opportunistic or mandatory) or
	// mail-tls off to allow it.
	ErrAuthNeedsTLS = errors.New("not sending the mail password over an unencrypted connection")
	// ErrPasswordFile: mail-password-file cannot be read.
	ErrPasswordFile = errors.New("cannot read mail-password-file")
	// ErrRejected: the mail server refused the sender, a recipient or the
	// message.
	ErrRejected = errors.New("mail server refused the mail")
	// ErrProtocol: the SMTP dialogue failed otherwise (bad greeting,
	// dropped connection).
	ErrProtocol = errors.New("SMTP dialogue with the mail server failed")
)
