package alert

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

// mode is how the test SMTP server treats a new connection.
type mode int

const (
	accept  mode = iota // speak SMTP and accept mail
	tempErr             // speak SMTP but answer MAIL FROM with 451
	hang                // accept the connection and never say a word
)

// received is one mail the test server accepted.
type received struct {
	From    string
	To      []string
	Subject string
	Header  mail.Header
	Body    string // decoded text
	TLS     bool   // came over TLS (STARTTLS or implicit)
	Raw     string
}

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) on a
// loopback port for one test. It can refuse connections (down), hang
// them, answer with temporary errors, require AUTH PLAIN, and offer
// STARTTLS or speak TLS from the first byte.
type smtpServer struct {
	t       *testing.T
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
	mode     mode
	user     string // "" = no AUTH required
	password string
	mails    []received
	held     []net.Conn
	attempts int // connections accepted
}

type serverOption func(*smtpServer, *smtp.Server)

// withAuth makes the server require AUTH PLAIN as user/password.
func withAuth(user, password string) serverOption {
	return func(s *smtpServer, _ *smtp.Server) { s.user, s.password = user, password }
}

// withSTARTTLS makes the server offer STARTTLS with a self-signed
// certificate for 127.0.0.1.
func withSTARTTLS() serverOption {
	return func(s *smtpServer, srv *smtp.Server) { srv.TLSConfig = s.tlsConfig() }
}

// withImplicitTLS makes the server speak TLS from the first byte.
func withImplicitTLS() serverOption {
	return func(s *smtpServer, _ *smtp.Server) { s.implicit = true }
}

func startSMTP(t *testing.T, opts ...serverOption) *smtpServer {
	t.Helper()
	s := &smtpServer{t: t, conns: make(chan net.Conn), closed: make(chan struct{})}
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
	t.Cleanup(s.close)
	return s
}

func (s *smtpServer) acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.attempts++
		m := s.mode
		if m == hang {
			s.held = append(s.held, c)
		}
		s.mu.Unlock()
		if m == hang {
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

// down closes the listener: connections are refused.
func (s *smtpServer) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
}

// up listens again on the same port.
func (s *smtpServer) up() {
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

// setMode changes how new connections are treated; leaving hang releases
// (closes) the held connections.
func (s *smtpServer) setMode(m mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
	if m != hang {
		for _, c := range s.held {
			c.Close()
		}
		s.held = nil
	}
}

func (s *smtpServer) close() {
	close(s.closed)
	s.down()
	s.setMode(accept)
	_ = s.srv.Close()
}

// received returns a copy of the mails accepted so far.
func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mails...)
}

func (s *smtpServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// waitMails waits until the server holds n mails and returns them.
func (s *smtpServer) waitMails(n int, timeout time.Duration) []received {
	s.t.Helper()
	var got []received
	if !poll(timeout, func() bool { got = s.received(); return len(got) >= n }) {
		s.t.Fatalf("mail server got %d mails within %s, want %d: %q", len(got), timeout, n, subjects(got))
	}
	return got
}

func subjects(ms []received) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Subject
	}
	return out
}

// makeCert makes a self-signed certificate for 127.0.0.1.
func (s *smtpServer) makeCert() {
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
func (s *smtpServer) tlsConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.keyPair}}
}

// roots is a pool trusting the server's certificate.
func (s *smtpServer) roots() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.cert)
	return &tls.Config{RootCAs: pool}
}

type session struct {
	s      *smtpServer
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
	if m == tempErr {
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
func parseMail(raw []byte) (received, error) {
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return received{}, err
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return received{}, err
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return received{}, err
	}
	return received{Subject: subject, Header: m.Header, Body: strings.ReplaceAll(string(b), "\r\n", "\n"), Raw: string(raw)}, nil
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
