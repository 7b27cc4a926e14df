// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp)
// on a loopback port for tests: it can refuse connections, hang them,
// answer with temporary errors, require AUTH PLAIN, and offer STARTTLS or
// speak TLS from the first byte. It is for tests only.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mode is how the server treats a new connection.
type Mode int

// The modes.
const (
	Accept  Mode = iota // speak SMTP and accept mail
	TempErr             // speak SMTP but answer MAIL FROM with 451
	Hang                // accept the connection and never say a word
)

// Received is one mail the server accepted.
type Received struct {
	From    string
	To      []string
	Subject string
	Header  mail.Header
	Body    string // decoded text
	TLS     bool   // came over TLS (STARTTLS or implicit)
	Raw     string
}

// Server is a real SMTP server on a loopback port for one test.
type Server struct {
	t       testing.TB
	Addr    string
	Port    int
	cert    *x509.Certificate // the self-signed certificate, once made
	keyPair tls.Certificate

	srv      *smtp.Server
	conns    chan net.Conn // to srv, through chanListener
	closed   chan struct{}
	implicit bool // TLS from the first byte

	mu       sync.Mutex
	ln       net.Listener // nil while down
	mode     Mode
	user     string // "" = no AUTH required
	password string
	mails    []Received
	held     []net.Conn
	attempts int // connections accepted
}

// Option configures a Server.
type Option func(*Server, *smtp.Server)

// WithAuth makes the server require AUTH PLAIN as user/password.
func WithAuth(user, password string) Option {
	return func(s *Server, _ *smtp.Server) { s.user, s.password = user, password }
}

// WithSTARTTLS makes the server offer STARTTLS with a self-signed
// certificate for 127.0.0.1.
func WithSTARTTLS() Option {
	return func(s *Server, srv *smtp.Server) { srv.TLSConfig = s.tlsConfig() }
}

// WithImplicitTLS makes the server speak TLS from the first byte.
func WithImplicitTLS() Option {
	return func(s *Server, _ *smtp.Server) { s.implicit = true }
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, conns: make(chan net.Conn), closed: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	s.srv.Domain = "127.0.0.1"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.makeCert() // before any goroutine reads it
	for _, o := range opts {
		o(s, s.srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s.Addr = ln.Addr().String()
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.ln = ln
	go s.acceptLoop(ln)
	go func() { _ = s.srv.Serve(&chanListener{ch: s.conns, addr: ln.Addr(), done: make(chan struct{})}) }()
	t.Cleanup(s.Close)
	return s
}

func (s *Server) acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.attempts++
		m := s.mode
		if m == Hang {
			s.held = append(s.held, c)
		}
		s.mu.Unlock()
		if m == Hang {
			continue
		}
		if s.implicit {
			c = tls.Server(c, s.tlsConfig())
		}
		select {
		case s.conns <- c:
		case <-s.closed:
			c.Close()
			return
		}
	}
}

// Down closes the listener: connections are refused.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
}

// Up listens again on the same port.
func (s *Server) Up() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return
	}
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", s.Addr); err == nil {
			s.ln = ln
			go s.acceptLoop(ln)
			return
		}
		time.Sleep(20 * time.Millisecond) // the port is in the kernel's hands; retry a moment later
	}
	s.t.Fatalf("listen again on %s: %v", s.Addr, err)
}

// SetMode changes how new connections are treated; leaving Hang releases
// (closes) the held connections.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
	if m != Hang {
		for _, c := range s.held {
			c.Close()
		}
		s.held = nil
	}
}

// Close stops the server (also done at the end of the test).
func (s *Server) Close() {
	select {
	case <-s.closed:
		return
	default:
	}
	close(s.closed)
	s.Down()
	s.SetMode(Accept)
	_ = s.srv.Close()
}

// Received returns a copy of the mails accepted so far.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.mails...)
}

// Connections counts the connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// WaitMails waits until the server holds n mails and returns them.
func (s *Server) WaitMails(n int, timeout time.Duration) []Received {
	s.t.Helper()
	var got []Received
	deadline := time.Now().Add(timeout)
	for got = s.Received(); len(got) < n; got = s.Received() {
		if time.Now().After(deadline) {
			s.t.Fatalf("mail server got %d mails within %s, want %d: %q", len(got), timeout, n, Subjects(got))
		}
		time.Sleep(5 * time.Millisecond) // polled with a deadline
	}
	return got
}

// Subjects lists the mails' subjects, for failure messages.
func Subjects(ms []Received) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Subject
	}
	return out
}

// makeCert makes a self-signed certificate for 127.0.0.1.
func (s *Server) makeCert() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "twine test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		s.t.Fatal(err)
	}
	if s.cert, err = x509.ParseCertificate(der); err != nil {
		s.t.Fatal(err)
	}
	s.keyPair = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsConfig is the server side of TLS, with the self-signed certificate.
func (s *Server) tlsConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.keyPair}}
}

// Roots is a client TLS config trusting the server's certificate.
func (s *Server) Roots() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.cert)
	return &tls.Config{RootCAs: pool}
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (x *session) AuthMechanisms() []string {
	if x.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != x.s.user || password != x.s.password {
			return smtp.ErrAuthFailed
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.s.mu.Lock()
	m := x.s.mode
	x.s.mu.Unlock()
	if m == TempErr {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	if x.s.user != "" && !x.authed {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	got, err := parseMail(raw)
	if err != nil {
		x.s.t.Logf("test smtp server: bad mail: %v", err)
		return err
	}
	got.From, got.To = x.from, x.to
	_, got.TLS = x.conn.TLSConnectionState()
	x.s.mu.Lock()
	x.s.mails = append(x.s.mails, got)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// parseMail decodes the subject and the (quoted-printable or plain) text
// body of a single-part mail.
func parseMail(raw []byte) (Received, error) {
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return Received{}, err
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return Received{}, err
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return Received{}, err
	}
	return Received{Subject: subject, Header: m.Header, Body: strings.ReplaceAll(string(b), "\r\n", "\n"), Raw: string(raw)}, nil
}

// chanListener hands go-smtp the connections acceptLoop lets through.
type chanListener struct {
	ch   chan net.Conn
	addr net.Addr
	once sync.Once
	done chan struct{}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, errors.New("listener closed")
	}
}

func (l *chanListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }
