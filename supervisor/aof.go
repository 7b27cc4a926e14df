package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/twine/twine/config"
)

// AOF rewrite pacing.
const (
	// aofCallTimeout bounds one INFO or BGREWRITEAOF; BGREWRITEAOF forks
	// before it answers, which takes a while for a large node.
	aofCallTimeout = 10 * time.Second
	aofDialTimeout = 2 * time.Second
)

// errAOFInterrupted: the node restarted or stopped while its rewrite ran,
// so how the rewrite ended is unknown.
var errAOFInterrupted = errors.New("node restarted or stopped during the rewrite")

// aofOptions configure an aofScheduler.
type aofOptions struct {
	period      time.Duration      // BGREWRITEAOF period per node, > 0
	window      config.DailyWindow // rewrites start only inside; zero = any time
	concurrency int                // at most this many nodes rewrite at once, >= 1
	password    string             // the nodes' requirepass, "" = none
	tick        time.Duration      // how often run calls step
	poll        time.Duration      // INFO period while a rewrite runs
	retry       time.Duration      // delay before a skipped node is tried again
	now         func() time.Time
	publish     func(Event) Event
	logger      hclog.Logger
}

// aofOptionsFor derives the scheduler's options from a supervisor's
// environment. It reports false when there is nothing to schedule:
// appendonly is off or aof-rewrite is 0.
func aofOptionsFor(env nodeEnv) (aofOptions, bool) {
	s := env.settings
	if !s.AppendOnly || s.AOFRewrite <= 0 {
		return aofOptions{}, false
	}
	pace := min(max(s.AOFRewrite/20, 10*time.Millisecond), time.Second)
	return aofOptions{
		period:      s.AOFRewrite,
		window:      s.AOFRewriteWindow,
		concurrency: max(s.AOFRewriteConcurrency, 1),
		password:    env.password,
		tick:        pace,
		poll:        min(pace, 250*time.Millisecond),
		retry:       max(min(s.AOFRewrite/4, time.Minute), pace),
		now:         env.now,
		publish:     env.publish,
		logger:      env.logger.Named("aof"),
	}, true
}

// aofScheduler issues BGREWRITEAOF to every node of a host once per
// period, inside the daily window, to at most concurrency nodes at once.
// Its state (due times, active jobs) belongs to the goroutine that calls
// step and finish: run's, or a test's that drives it by hand. A job (one
// node's rewrite, from the check to its end) runs in its own goroutine with
// its own client, so a node that answers slowly holds only its own slot.
type aofScheduler struct {
	opts    aofOptions
	nodes   []*aofNode
	results chan aofResult // one per job; buffered so a job never blocks
	ctx     context.Context
	cancel  context.CancelFunc
	jobs    sync.WaitGroup

	active     int  // jobs running
	waitLogged bool // "waiting for the window" was logged since it closed
}

// aofNode is one node as the scheduler sees it.
type aofNode struct {
	w      *watcher
	log    hclog.Logger
	client *redis.Client
	due    time.Time // next rewrite; in the past = due now
	active bool      // a job runs for it
}

// aofOutcome is how a job ended.
type aofOutcome int

const (
	aofDone    aofOutcome = iota // the rewrite ran; status tells how it ended
	aofBusy                      // skipped: the node was rewriting, saving or loading
	aofRefused                   // BGREWRITEAOF answered an error
	aofLost                      // no answer, or the node restarted: outcome unknown
)

// aofResult is what a job reports to the scheduler.
type aofResult struct {
	node       *aofNode
	outcome    aofOutcome
	start, end time.Time // of the rewrite; zero when none began
	status     string    // aof_last_bgrewrite_status after aofDone: ok or err
	reason     string    // why a node was skipped
	err        error     // aofRefused, aofLost
}

// newAOFScheduler prepares a scheduler for the watchers' nodes, under a
// context derived from ctx. Node i (of n) is first due at period*(i+1)/n
// from now, so the first rewrites are spread over one period. Call run,
// or drive it by hand with step and finish, then close.
func newAOFScheduler(ctx context.Context, ws []*watcher, o aofOptions) *aofScheduler {
	ctx, cancel := context.WithCancel(ctx)
	s := &aofScheduler{
		opts:    o,
		results: make(chan aofResult, len(ws)),
		ctx:     ctx,
		cancel:  cancel,
	}
	start := o.now()
	for i, w := range ws {
		s.nodes = append(s.nodes, &aofNode{
			w:      w,
			log:    w.log.Named("aof"),
			client: newAOFClient(w.node.Addr(), o.password),
			due:    start.Add(o.period / time.Duration(len(ws)) * time.Duration(i+1)),
		})
	}
	o.logger.Info("scheduling AOF rewrites", "period", o.period, "window", windowText(o.window),
		"concurrency", o.concurrency, "nodes", len(ws))
	return s
}

// aofBufBytes sizes the AOF client's buffers: its replies are small.
const aofBufBytes = 4096

// newAOFClient returns the client the scheduler uses for one node, over
// the node's restarts: no retries (the scheduler retries on its own
// terms), every call bounded.
func newAOFClient(addr, password string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                  addr,
		Password:              password,
		Protocol:              2,
		DisableIdentity:       true,
		DialTimeout:           aofDialTimeout,
		ReadTimeout:           aofCallTimeout,
		WriteTimeout:          aofCallTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              2,
		MaxRetries:            -1,
		DialerRetries:         1,
		ReadBufferSize:        aofBufBytes,
		WriteBufferSize:       aofBufBytes,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
}

// run schedules until the scheduler's context ends, then closes it.
func (s *aofScheduler) run() {
	defer s.close()
	t := time.NewTicker(s.opts.tick)
	defer t.Stop()
	for {
		s.step()
		select {
		case <-s.ctx.Done():
			return
		case r := <-s.results:
			s.finish(r)
		case <-t.C:
		}
	}
}

// close cancels the running jobs, waits for them and closes the clients.
func (s *aofScheduler) close() {
	s.cancel()
	s.jobs.Wait()
	for _, n := range s.nodes {
		_ = n.client.Close()
	}
}

// step starts jobs for due nodes, earliest due first, while fewer than
// concurrency run and the window is open. A due node that is not up
// (per its watcher) is put off by the retry delay. step never waits on
// the network.
func (s *aofScheduler) step() {
	now := s.opts.now()
	for s.active < s.opts.concurrency {
		n := s.nextDue(now)
		if n == nil {
			return
		}
		if !inWindow(s.opts.window, now) {
			if !s.waitLogged {
				s.waitLogged = true
				s.opts.logger.Debug("AOF rewrites wait for the window", "window", s.opts.window.String(),
					"opens", windowOpens(s.opts.window, now).Format(time.DateTime))
			}
			return
		}
		s.waitLogged = false
		if st := n.w.snapshot(); !st.State.Alive() {
			n.log.Debug("AOF rewrite put off: node not up", "state", st.State.String(), "retry_in", s.opts.retry)
			n.due = now.Add(s.opts.retry)
			continue
		}
		n.active = true
		s.active++
		s.jobs.Add(1)
		go func() {
			defer s.jobs.Done()
			s.results <- s.job(n)
		}()
	}
}

// nextDue returns the idle node due earliest, at or before now, or nil.
func (s *aofScheduler) nextDue(now time.Time) *aofNode {
	var best *aofNode
	for _, n := range s.nodes {
		if !n.active && !n.due.After(now) && (best == nil || n.due.Before(best.due)) {
			best = n
		}
	}
	return best
}

// finish applies a job's result: the node's next due time, its status,
// the log line and, for a failed rewrite, an AOFRewriteFailed event.
func (s *aofScheduler) finish(r aofResult) {
	n := r.node
	n.active = false
	s.active--
	now := s.opts.now()
	switch r.outcome {
	case aofBusy:
		n.log.Debug("AOF rewrite put off: node busy", "reason", r.reason, "retry_in", s.opts.retry)
		n.due = now.Add(s.opts.retry)
	case aofLost:
		msg := "AOF rewrite outcome unknown; will retry"
		if r.start.IsZero() {
			msg = "AOF rewrite put off: node did not answer"
		}
		n.log.Warn(msg, "error", r.err, "retry_in", s.opts.retry)
		n.due = now.Add(s.opts.retry)
	case aofRefused:
		n.due = r.start.Add(s.opts.period)
		n.w.recordAOFRewrite(r.end, "err")
		n.log.Error("BGREWRITEAOF refused", "error", r.err)
		s.failed(n, r, "BGREWRITEAOF was refused", errText(r.err))
	case aofDone:
		n.due = r.start.Add(s.opts.period)
		n.w.recordAOFRewrite(r.end, r.status)
		d := r.end.Sub(r.start).Round(time.Millisecond)
		if r.status == "err" {
			n.log.Error("AOF rewrite failed", "duration", d, "next", n.due.Format(time.DateTime))
			s.failed(n, r, fmt.Sprintf("scheduled AOF rewrite failed after %s (see the node's log)", d), "aof_last_bgrewrite_status:err")
			return
		}
		n.log.Info("AOF rewrite done", "duration", d, "next", n.due.Format(time.DateTime))
	}
}

func (s *aofScheduler) failed(n *aofNode, r aofResult, reason, errStr string) {
	st := n.w.snapshot()
	s.opts.publish(Event{Kind: AOFRewriteFailed, Time: r.end, Node: n.w.node.Name,
		From: st.State, To: st.State, Reason: reason, Err: errStr, PID: st.PID})
}

// job rewrites one node's AOF: it checks that the node is not busy,
// issues BGREWRITEAOF and waits until the rewrite has ended. It holds the
// node's concurrency slot throughout, even when BGREWRITEAOF got no
// answer (it may have forked all the same).
func (s *aofScheduler) job(n *aofNode) aofResult {
	r := aofResult{node: n}
	pid := n.w.snapshot().PID
	info, err := s.info(n)
	if err != nil {
		r.outcome, r.err = aofLost, err
		return r
	}
	if why := info.busy(); why != "" {
		r.outcome, r.reason = aofBusy, why
		return r
	}
	r.start = s.opts.now()
	ctx, cancel := context.WithTimeout(s.ctx, aofCallTimeout)
	err = n.client.BgRewriteAOF(ctx).Err()
	cancel()
	var rerr redis.Error
	if errors.As(err, &rerr) {
		r.end = s.opts.now()
		if info, ierr := s.info(n); ierr == nil && info.busy() != "" {
			r.outcome, r.reason = aofBusy, info.busy() // another fork began first
			return r
		}
		r.outcome, r.err = aofRefused, err
		return r
	}
	info, werr := s.wait(n, pid)
	r.end = s.opts.now()
	switch {
	case err != nil:
		r.outcome, r.err = aofLost, fmt.Errorf("issue BGREWRITEAOF: %w", err)
	case werr != nil:
		r.outcome, r.err = aofLost, werr
	default:
		r.outcome, r.status = aofDone, info["aof_last_bgrewrite_status"]
	}
	return r
}

// wait polls INFO persistence until the node has no rewrite running or
// scheduled, and returns that last answer. It fails when the node's
// process changed or stopped answering for good (errAOFInterrupted) or the
// scheduler closes.
func (s *aofScheduler) wait(n *aofNode, pid int) (infoFields, error) {
	t := time.NewTicker(s.opts.poll)
	defer t.Stop()
	for {
		info, err := s.info(n)
		// The PID is read after INFO's answer: an answer from a new
		// process means its watcher has already recorded the new PID.
		if st := n.w.snapshot(); st.PID != pid || !st.State.Alive() {
			return nil, fmt.Errorf("wait for AOF rewrite: %w (now %s)", errAOFInterrupted, st.State)
		}
		if err == nil && !info.rewriting() {
			return info, nil
		}
		select {
		case <-s.ctx.Done():
			return nil, fmt.Errorf("wait for AOF rewrite: %w", s.ctx.Err())
		case <-t.C:
		}
	}
}

// info reads the node's INFO persistence.
func (s *aofScheduler) info(n *aofNode) (infoFields, error) {
	ctx, cancel := context.WithTimeout(s.ctx, aofCallTimeout)
	defer cancel()
	text, err := n.client.Info(ctx, "persistence").Result()
	if err != nil {
		return nil, fmt.Errorf("read INFO persistence: %w", err)
	}
	return parseInfo(text), nil
}

// recordAOFRewrite notes a finished scheduled rewrite in the node's
// status; status is Redis's aof_last_bgrewrite_status (ok or err). Safe
// for concurrent use.
func (w *watcher) recordAOFRewrite(at time.Time, status string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.AOFRewrites++
	w.status.LastAOFRewrite = at
	w.status.LastAOFRewriteStatus = status
}

// infoFields is an INFO answer as field → value.
type infoFields map[string]string

func parseInfo(text string) infoFields {
	info := infoFields{}
	for line := range strings.Lines(text) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(k, "#") {
			info[k] = v
		}
	}
	return info
}

// busyFields are the INFO persistence flags under which a node must not be
// asked to rewrite: a fork is running or pending, or it is loading.
var busyFields = []string{
	"aof_rewrite_in_progress", "aof_rewrite_scheduled", "rdb_bgsave_in_progress",
	"module_fork_in_progress", "loading", "async_loading",
}

// busy returns the first busy flag that is set, as "field:1", or "".
func (i infoFields) busy() string {
	for _, f := range busyFields {
		if i[f] == "1" {
			return f + ":1"
		}
	}
	return ""
}

// rewriting reports whether a rewrite runs or waits to run.
func (i infoFields) rewriting() bool {
	return i["aof_rewrite_in_progress"] == "1" || i["aof_rewrite_scheduled"] == "1"
}

func windowText(w config.DailyWindow) string {
	if w.IsZero() {
		return "any time"
	}
	return w.String()
}
