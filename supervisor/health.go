package supervisor

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// checkResult is the outcome of one health check.
type checkResult struct {
	at      time.Time
	alive   bool          // the node answered (PONG or an error reply)
	loading bool          // it answered LOADING
	busy    string        // the BUSY reply (a script or function past busy-reply-threshold), "" otherwise
	latency time.Duration // round trip of the PING
	err     error         // why it did not answer, or the error reply
	info    *nodeInfo     // INFO, when it was asked for and answered
	pid     int           // process_id the node reported, 0 if not asked or unknown
	ended   bool          // a steady run of checks was ended by the owner: no news
}

// peekAfter is how long a PING waits before it asks whether waiting on is
// of any use: a node answers PING in well under a millisecond, and a
// stopped process not at all.
const peekAfter = 100 * time.Millisecond

// checkInfo PINGs the node through p once within timeout, then asks for
// INFO when withInfo is set and the node answered PONG. LOADING and
// MASTERDOWN replies mean alive; so does any other error reply: a process
// that answers is not hung. With stopped set, a PING unanswered after
// peekAfter ends early when stopped says the process cannot answer.
func checkInfo(p *probe, timeout time.Duration, withInfo bool, stopped func() bool) checkResult {
	r := pingOnce(p, timeout, stopped)
	if withInfo && r.alive && r.err == nil && !r.loading {
		if in, err := fetchInfo(p, timeout); err == nil {
			r.info = &in
		}
	}
	return r
}

func pingOnce(p *probe, timeout time.Duration, stopped func() bool) checkResult {
	start := time.Now()
	var err error
	if stopped != nil {
		err = p.pingUnless(timeout, min(peekAfter, timeout/2), stopped)
	} else {
		err = p.ping(timeout)
	}
	r := checkResult{at: time.Now(), err: err}
	r.latency = r.at.Sub(start)
	var rerr replyError
	switch {
	case err == nil:
		r.alive = true
	case errors.As(err, &rerr):
		r.alive = true
		msg := string(rerr)
		r.loading = strings.HasPrefix(msg, "LOADING")
		if strings.HasPrefix(msg, "BUSY") {
			r.busy = msg
		}
		if r.loading || strings.HasPrefix(msg, "MASTERDOWN") {
			r.err = nil
		}
	}
	return r
}

// processID asks the node for its process_id (INFO server) within timeout;
// 0 when it cannot tell. A node that is starting is only up once the
// process that answers on its port is its own: another process may hold
// the port while the new redis-server fails to bind it.
func processID(p *probe, timeout time.Duration) int {
	info, err := p.info(timeout, "server")
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(parseInfo(info)["process_id"])
	return pid
}
