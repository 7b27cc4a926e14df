package supervisor

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
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
}

// healthBufBytes sizes the health client's read and write buffers.
const healthBufBytes = 4096

// newClient returns the PING client of one node incarnation: one dial per
// check and no retries (a missed PING is information, not something to
// hide), every wait bounded by the check timeout. Checks run one at a time,
// so the pool holds one connection; its size only keeps go-redis's dial
// circuit breaker (which trips after PoolSize failed dials and then probes
// once a second) out of the way while a fresh node starts listening. Each
// process incarnation gets a new client.
func newClient(addr, password string, timeout time.Duration) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                  addr,
		Password:              password,
		Protocol:              2,
		DisableIdentity:       true,
		DialTimeout:           timeout,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		ContextTimeoutEnabled: true,
		PoolSize:              64,
		MaxRetries:            -1,
		DialerRetries:         1,
		// PING and INFO replies are small; hundreds of nodes make the
		// default 32 KiB buffers add up.
		ReadBufferSize:  healthBufBytes,
		WriteBufferSize: healthBufBytes,
	})
}

// check PINGs the node once within timeout. LOADING and MASTERDOWN replies
// mean alive; so does any other error reply: a process that answers is not
// hung.
func check(ctx context.Context, c *redis.Client, timeout time.Duration) checkResult {
	return checkInfo(ctx, c, timeout, false)
}

// checkInfo is check, followed by an INFO request when withInfo is set
// and the node answered PONG.
func checkInfo(ctx context.Context, c *redis.Client, timeout time.Duration, withInfo bool) checkResult {
	r := pingOnce(ctx, c, timeout)
	if withInfo && r.alive && r.err == nil && !r.loading {
		if in, err := fetchInfo(ctx, c, timeout); err == nil {
			r.info = &in
		}
	}
	return r
}

func pingOnce(ctx context.Context, c *redis.Client, timeout time.Duration) checkResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := c.Ping(ctx).Err()
	r := checkResult{at: time.Now(), latency: time.Since(start), err: err}
	var rerr redis.Error
	switch {
	case err == nil:
		r.alive = true
	case errors.As(err, &rerr):
		r.alive = true
		r.loading = strings.HasPrefix(rerr.Error(), "LOADING")
		if strings.HasPrefix(rerr.Error(), "BUSY") {
			r.busy = rerr.Error()
		}
		if r.loading || strings.HasPrefix(rerr.Error(), "MASTERDOWN") {
			r.err = nil
		}
	}
	return r
}

// processID asks the node for its process_id (INFO server) within timeout;
// 0 when it cannot tell. A node that is starting is only up once the
// process that answers on its port is its own: another process may hold
// the port while the new redis-server fails to bind it.
func processID(ctx context.Context, c *redis.Client, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ := strconv.Atoi(v)
			return pid
		}
	}
	return 0
}
