package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// probe is the health-check connection of one node incarnation: one TCP
// connection kept open, the Redis protocol written and read by hand (a
// PING is 14 bytes out and 7 in), dialled again after any failure. It is
// the cheapest way to ask hundreds of nodes every second, with no pool,
// no command objects and no context per check. Checks of a node run one
// at a time: ping and info are called by one goroutine at a time; close
// may be called from any goroutine, at any time.
type probe struct {
	addr     string
	password string
	wbuf     []byte // owned by the checking goroutine
	bulk     []byte // the last bulk reply, reused; owned by the checking goroutine

	mu     sync.Mutex
	conn   net.Conn
	rd     *bufio.Reader
	closed bool
}

// errProbeClosed is returned after close.
var errProbeClosed = errors.New("health check connection closed")

// probeReadBuf sizes the read buffer: replies to PING fit many times;
// INFO's bulk reply is read past it.
const probeReadBuf = 512

// replyError is an error reply of Redis: the node answered.
type replyError string

func (e replyError) Error() string { return string(e) }

var pingCmd = []byte("*1\r\n$4\r\nPING\r\n")

func newProbe(addr, password string) *probe {
	return &probe{addr: addr, password: password}
}

// close ends the probe: a call in flight fails at once, later ones with
// errProbeClosed.
func (p *probe) close() {
	p.mu.Lock()
	c := p.conn
	p.conn, p.rd, p.closed = nil, nil, true
	p.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// drop closes c after a failure on it; the next call dials again.
func (p *probe) drop(c net.Conn) {
	p.mu.Lock()
	if p.conn == c {
		p.conn, p.rd = nil, nil
	}
	p.mu.Unlock()
	_ = c.Close()
}

// ping sends PING within timeout. A replyError (LOADING, BUSY,
// MASTERDOWN...) means the node answered; any other error that it did not.
func (p *probe) ping(timeout time.Duration) error {
	_, err := p.call(timeout, pingCmd, 0, nil)
	return err
}

// errGaveUp is returned by pingUnless when its give-up test said so.
var errGaveUp = errors.New("no answer, and no use waiting for one")

// pingUnless is ping that, when no answer has come after peek, asks
// giveUp whether waiting longer is of any use (a stopped process will not
// answer), and if not returns errGaveUp without waiting the full timeout.
func (p *probe) pingUnless(timeout, peek time.Duration, giveUp func() bool) error {
	_, err := p.call(timeout, pingCmd, peek, giveUp)
	return err
}

// info asks for INFO of the given sections within timeout.
func (p *probe) info(timeout time.Duration, sections ...string) (string, error) {
	b, err := p.call(timeout, p.command(append([]string{"INFO"}, sections...)...), 0, nil)
	return string(b), err
}

// command encodes args as a RESP array into the probe's write buffer.
func (p *probe) command(args ...string) []byte {
	b := p.wbuf[:0]
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	p.wbuf = b
	return b
}

// call sends one command and reads its reply within timeout, dialling
// first when needed (and authenticating). It returns a status or bulk
// reply's bytes (valid until the next call), a replyError for an error
// reply, or the failure; a failure drops the connection. With giveUp set,
// the read first waits only peek; if giveUp then says so, call fails with
// errGaveUp, else it waits out the timeout.
func (p *probe) call(timeout time.Duration, cmd []byte, peek time.Duration, giveUp func() bool) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	p.mu.Lock()
	c, rd, closed := p.conn, p.rd, p.closed
	p.mu.Unlock()
	if closed {
		return nil, errProbeClosed
	}
	if c == nil {
		var err error
		if c, rd, err = p.dial(deadline); err != nil {
			return nil, err
		}
	}
	_ = c.SetDeadline(deadline)
	if _, err := c.Write(cmd); err != nil {
		p.drop(c)
		return nil, err
	}
	if giveUp != nil && peek < timeout {
		_ = c.SetReadDeadline(time.Now().Add(peek))
		b, err := p.read(rd)
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() || rd.Buffered() > 0 {
			return p.settle(c, b, err)
		}
		if giveUp() {
			p.drop(c)
			return nil, errGaveUp
		}
		_ = c.SetReadDeadline(deadline)
	}
	b, err := p.read(rd)
	return p.settle(c, b, err)
}

// settle returns a call's outcome, dropping the connection after a
// failure (an error reply keeps it).
func (p *probe) settle(c net.Conn, b []byte, err error) ([]byte, error) {
	var re replyError
	if err != nil && !errors.As(err, &re) {
		p.drop(c)
	}
	return b, err
}

// dial connects and, with a password, authenticates, and installs the
// connection unless the probe was closed meanwhile.
func (p *probe) dial(deadline time.Time) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("tcp", p.addr)
	if err != nil {
		return nil, nil, err
	}
	rd := bufio.NewReaderSize(c, probeReadBuf)
	if p.password != "" {
		_ = c.SetDeadline(deadline)
		_, err := c.Write(p.command("AUTH", p.password))
		if err == nil {
			_, err = p.read(rd)
		}
		if err != nil {
			_ = c.Close() // an error reply (wrong password) too: the next check tries again
			return nil, nil, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return nil, nil, errProbeClosed
	}
	p.conn, p.rd = c, rd
	return c, rd, nil
}

// read reads one reply from rd: +status, -error, :integer or $bulk.
func (p *probe) read(rd *bufio.Reader) ([]byte, error) {
	line, err := rd.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("probe %s: malformed reply %q", p.addr, line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', ':':
		return body, nil
	case '-':
		return nil, replyError(body)
	case '$':
		n, err := strconv.Atoi(string(body))
		if err != nil || n < -1 {
			return nil, fmt.Errorf("probe %s: malformed bulk length %q", p.addr, body)
		}
		if n < 0 {
			return nil, nil
		}
		if cap(p.bulk) < n+2 {
			p.bulk = make([]byte, n+2)
		}
		b := p.bulk[:n+2]
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		return b[:n], nil
	}
	return nil, fmt.Errorf("probe %s: unexpected reply %q", p.addr, line)
}
