package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route/replset"
	"github.com/twine/twine/procs"
	"github.com/twine/twine/supervisor/setup"
)

// Health-check pacing.
const (
	// missesToHung PINGs in a row without an answer make a running node hung.
	missesToHung = 3
	// startCheck is the PING period right after a start, for
	// startFastFor; later PINGs back off to the check interval, so a fresh
	// node is seen up within milliseconds of its listening.
	startCheck   = 5 * time.Millisecond
	startFastFor = 500 * time.Millisecond
	// startGrace is how long a fresh process may take to answer its first
	// PING before it counts as hung. redis-server listens within
	// milliseconds and answers LOADING while it reads its data, so only a
	// starved machine (hundreds of nodes starting on a few cores) needs
	// seconds; killing those would only feed the storm.
	startGrace = 15 * time.Second
	// logPollEvery is how often an up node's log file is read for new
	// lines (at every check while it is not up, and at its exit).
	logPollEvery = 10 * time.Second
	// missRetry is the pause before the check that follows a missed one.
	missRetry = 100 * time.Millisecond
	// adoptTimeout bounds the checks that accept a node left running by
	// an earlier twined.
	adoptTimeout = 5 * time.Second
)

// nodeEnv is what a watcher needs from its supervisor, fixed for its life
// except through commands.
type nodeEnv struct {
	cluster  *config.Cluster
	settings config.Settings
	password string
	logger   hclog.Logger
	publish  func(Event) Event
	now      func() time.Time
	observe  func(node string, latency time.Duration, alive bool) // may be nil
	leave    bool                                                 // at the end, let go of the process instead of stopping it
	// sentinels reaches the cluster's Sentinels; nil when it has none.
	sentinels *replset.Sentinels
	// prefixes are the cluster names whose Sentinel masters twined owns
	// (the current one, and the one before a reload that changed it).
	prefixes []string
}

// command is a request to a watcher's owner goroutine.
type command struct {
	op    op
	env   *nodeEnv     // opUpdate: the new settings
	node  *config.Node // opUpdate: the node's new definition (same name, same redis.conf)
	reply chan error   // buffered; receives one value
}

type op int

const (
	opStop op = iota
	opStart
	opRestart
	opNoop   // answers at once: proves the owner goroutine is responsive
	opUpdate // applies settings that need no restart (command.env)
)

// watcher owns one node: its process, its state machine and its health
// checks, all in the one goroutine that runs run. Other goroutines talk to
// it through cmds and read its status through snapshot.
type watcher struct {
	name  string      // the node's name: fixed, safe to read from any goroutine
	node  config.Node // owned by the run goroutine once it runs
	files config.NodeFiles
	env   nodeEnv
	log   hclog.Logger
	cmds  chan command
	done  chan struct{} // closed when run returns
	// cancel ends run (stopping the node); set before run starts.
	cancel context.CancelFunc

	// Owned by the run goroutine.
	proc         *procs.Process
	probe        *probe // the health-check connection of the current process
	tracker      *Tracker
	state        State
	misses       int
	nextCheck    time.Duration // delay to the next check while starting
	checkAt      time.Time     // when the next health check is due
	startedAt    time.Time
	healthySince time.Time
	stopping     bool // a stop was asked: the next exit leaves the node stopped
	stopDeadline time.Time
	restartAfter bool // a restart was asked: start again right after the exit
	logMark      int64
	follower     *logFollower
	infoAt       time.Time // when INFO was last asked for
	logPolledAt  time.Time // when the node's log was last read
	runCtx       context.Context
	jobs         chan func()   // results of background jobs, applied by the owner
	busy         bool          // a background job is running
	override     *setup.Role   // the role of the next start, decided by a fail-over
	exitAt       time.Time     // when a held master exited
	killed       bool          // twined SIGKILLed the process (not a clean stop)
	lastAnswer   time.Time     // the last check the node answered
	busySince    time.Time     // the first of the BUSY answers in a row; zero when not busy
	busyKill     bool          // SCRIPT KILL or FUNCTION KILL was sent for this busy stretch
	endSteady    chan struct{} // closed to end a steady run of checks (startCheck); nil when none
	portWait     bool          // the last start failed on a port in use: watch it, start when it frees
	portCheckAt  time.Time     // when the port is looked at next

	mu         sync.Mutex
	status     NodeStatus
	exitReason string // why run is being ended, for the last state change
}

func newWatcher(n config.Node, env nodeEnv) *watcher {
	w := &watcher{
		name:   n.Name,
		node:   n,
		files:  env.cluster.Files(n),
		env:    env,
		log:    env.logger.Named(n.Name).With(nodeLogFields(n)...),
		cmds:   make(chan command),
		done:   make(chan struct{}),
		jobs:   make(chan func(), 1),
		runCtx: context.Background(), // run's own context replaces it

		tracker: NewTracker(DefaultPolicy(env.settings.BackoffMin, env.settings.BackoffMax)),
		state:   Stopped,
	}
	w.follower = newLogFollower(w.files.Log, w.log.Named("redis"))
	w.status = NodeStatus{
		Name: n.Name, Kind: n.Kind.String(), Partition: n.Partition, Host: n.Host, Port: n.Port,
		Role: initialRole(env.cluster, n), State: Stopped, Since: env.now(),
	}
	return w
}

// run is the owner goroutine. It returns when ctx is cancelled, after
// stopping the node (SIGTERM, then SIGKILL after stop-timeout) unless it is
// told to leave it running through leave.
func (w *watcher) run(ctx context.Context, stoppedByOperator bool) {
	defer close(w.done)
	defer w.closeClient()
	w.runCtx = ctx
	w.follower.skipToEnd()
	if !w.adopt(ctx) {
		switch {
		case stoppedByOperator:
			w.setState(Stopped, "stopped by the operator", "")
		case w.endedUncleanly() && w.guardMaster(w.env.now(), "found not running at twined's start, and its last stop was not a clean one"):
		default:
			w.start()
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	results := make(chan checkResult, 1)
	checking := false
	for {
		w.armTimer(timer, checking)
		var exited <-chan struct{}
		if w.proc != nil {
			exited = w.proc.Done()
		}
		select {
		case <-ctx.Done():
			if w.env.leave {
				w.abandon()
			} else {
				w.shutdown()
			}
			return
		case <-exited:
			w.onExit()
		case r := <-results:
			checking = false
			if r.ended {
				continue
			}
			w.onCheck(r)
			w.checkAt = w.nextCheckAt(w.env.now())
		case <-timer.C:
			w.onTimer(ctx, results, &checking)
		case apply := <-w.jobs:
			w.busy = false
			apply()
			if w.state == Held && w.proc == nil {
				w.checkAt = w.env.now().Add(w.env.settings.CheckInterval)
			}
		case c := <-w.cmds:
			if c.op == opUpdate {
				w.update(*c.env, *c.node)
				c.reply <- nil
				continue
			}
			c.reply <- w.onCommand(c.op)
		}
	}
}

// nextCheckAt is when the check after one answered at now is due. A
// steady node's checks fall on a grid of check-interval shared by every
// node (the next grid point at least half an interval away), so that a
// host's checks run together and the process wakes once per interval
// instead of once per node; each check still runs in its own goroutine
// with its own timeout, so a hung node delays no other. Starting nodes
// and nodes that just missed a PING keep their shorter pace.
func (w *watcher) nextCheckAt(now time.Time) time.Time {
	d := w.checkDelay()
	if iv := w.env.settings.CheckInterval; d == iv {
		// The grid is of wall-clock time; the delay to it is added to
		// now, so the timer keeps the monotonic clock and a clock step
		// moves no check.
		d = gridDelay(now, iv)
	}
	return now.Add(d)
}

// checkDelay is the pause between a health check's answer and the next
// check: short while a fresh process starts, check-interval after.
//
// After a missed PING the next check follows soon (missRetry): a node that
// stopped answering is confirmed hung within about three check timeouts,
// not three check intervals.
func (w *watcher) checkDelay() time.Duration {
	switch {
	case w.state == Starting:
		return w.nextCheck
	case w.misses > 0:
		return min(missRetry, w.env.settings.CheckInterval)
	}
	return w.env.settings.CheckInterval
}

// armTimer sets the timer to the watcher's next duty: a health check while
// the process runs, a start after a backoff, a SIGKILL after a stop grace.
func (w *watcher) armTimer(t *time.Timer, checking bool) {
	var d time.Duration
	switch {
	case w.stopping && w.proc != nil:
		d = w.stopDeadline.Sub(w.env.now())
	case w.proc != nil && checking:
		d = time.Hour // wait for the result first
	case w.proc != nil:
		d = w.checkAt.Sub(w.env.now())
	case (w.state == Backoff || w.state == Failed) && w.portWait:
		d = min(w.status.RetryAt.Sub(w.env.now()), w.portCheckAt.Sub(w.env.now()))
	case w.state == Backoff || w.state == Failed:
		d = w.status.RetryAt.Sub(w.env.now())
	case w.state == Held && !w.busy:
		d = w.checkAt.Sub(w.env.now()) // look for a new master of its set
	default:
		d = time.Hour
	}
	t.Reset(max(d, 0))
}

func (w *watcher) onTimer(ctx context.Context, results chan checkResult, checking *bool) {
	switch {
	case w.stopping && w.proc != nil:
		w.log.Warn("node did not stop in time; killing it", "stop_timeout", w.env.settings.StopTimeout)
		w.killed = true
		_ = w.proc.Kill()
	case w.proc != nil:
		if now := w.env.now(); now.Sub(w.logPolledAt) >= logPollEvery || w.state != Up {
			w.follower.poll()
			w.logPolledAt = now
		}
		*checking = true
		w.startCheck(results)
	case (w.state == Backoff || w.state == Failed) && w.portWait && w.env.now().Before(w.status.RetryAt):
		w.checkPort()
	case w.state == Backoff || w.state == Failed:
		w.start()
	case w.state == Held && !w.busy:
		w.pollHeld()
	}
}

// onCheck applies a health-check result to the state machine.
func (w *watcher) onCheck(r checkResult) {
	if w.proc == nil || w.stopping {
		return
	}
	if r.pid != 0 && r.pid != w.proc.PID() {
		r.alive, r.loading, r.info = false, false, nil
		r.err = fmt.Errorf("check node: %s is answered by process %d, not by pid %d", w.node.Addr(), r.pid, w.proc.PID())
		w.log.Debug("port answered by another process", "error", r.err)
	}
	w.mu.Lock()
	w.status.LastCheck = r.at
	w.status.Latency = r.latency
	w.status.Checks++
	if !r.alive {
		w.status.FailedChecks++
	}
	if r.info != nil {
		w.infoAt = r.at
		w.status.applyInfo(*r.info)
	}
	w.mu.Unlock()
	if w.env.observe != nil {
		w.env.observe(w.node.Name, r.latency, r.alive)
	}
	if r.alive && r.busy != "" {
		w.onBusy(r)
		return
	}
	if r.alive {
		w.misses = 0
		w.lastAnswer = r.at
		w.busySince = time.Time{}
		if w.healthySince.IsZero() {
			w.healthySince = r.at
		} else if r.at.Sub(w.healthySince) >= healthyAfter {
			w.tracker.Healthy()
		}
		switch {
		case r.loading && w.state != Loading:
			w.setState(Loading, "loading its data", "")
		case !r.loading && w.state != Up:
			w.setState(Up, fmt.Sprintf("answering PING %s after its start", r.at.Sub(w.startedAt).Round(time.Millisecond)), "")
			w.sentinelUp()
		}
		return
	}
	// A miss alone does not end a healthy run: when a node crashes, the
	// PING in flight often fails (reset, refused) before its exit is
	// handled, and that exit must still count as one after a healthy run
	// (restarted at once). A hung node's run ends in hung.
	if w.state == Starting {
		if r.at.Sub(w.startedAt) > startFastFor {
			w.nextCheck = min(w.nextCheck*2, w.env.settings.CheckInterval)
		}
		grace := max(missesToHung*w.env.settings.CheckInterval, startGrace)
		if r.at.Sub(w.startedAt) < grace {
			return
		}
		w.hung(fmt.Sprintf("not answering %s after its start", grace), r.err)
		return
	}
	w.misses++
	w.log.Debug("missed PING", "misses", w.misses, "error", r.err)
	if w.state == Hung {
		return
	}
	// A process that the kernel shows stopped (SIGSTOP, a tracer) runs no
	// code: the miss is conclusive, no need to wait for more.
	if st, err := procs.StateOf(w.proc.PID()); err == nil && st.Stopped() {
		w.hung(fmt.Sprintf("not answering PING and its process is stopped (state %c)", st), r.err)
		return
	}
	if w.misses >= missesToHung {
		w.hung(fmt.Sprintf("%d PINGs in a row unanswered", w.misses), r.err)
	}
}

// hung kills a node that stopped answering; its exit restarts it. A node
// that had answered for a healthy run before it hung is restarted at once
// after the kill, as after any crash of a healthy node.
func (w *watcher) hung(reason string, err error) {
	if w.healthySince.IsZero() || w.lastAnswer.Sub(w.healthySince) < healthyAfter {
		w.healthySince = time.Time{}
	}
	w.setState(Hung, reason+"; killing it", errText(err))
	w.killed = true
	if kerr := w.proc.Kill(); kerr != nil {
		w.log.Error("kill hung node", "error", kerr)
	}
}

// onExit handles the end of the node's process.
func (w *watcher) onExit() {
	p := w.proc
	ex := p.Exit()
	w.proc = nil
	w.closeClient()
	_ = p.Close()
	w.follower.poll()
	now := w.env.now()
	if w.stopping {
		w.stopping = false
		if !w.killed && cleanExit(ex) {
			w.markClean() // SIGTERM: redis saved its data before exiting
		}
		if w.restartAfter {
			w.restartAfter = false
			w.setState(Down, "restarted by the operator ("+ex.String()+")", "")
			w.start()
			return
		}
		w.setState(Stopped, "stopped by the operator ("+ex.String()+")", "")
		return
	}
	detail := w.follower.lastWarning(w.logMark, p.Tail())
	errStr := ex.String()
	if detail != "" {
		errStr += ": " + detail
	}
	errStr = w.notePortInUse(errStr, w.follower.tail(w.logMark, p.Tail()))
	if w.guardMaster(now, errStr) {
		w.restarted()
		return
	}
	d := w.tracker.Exit(now, w.healthySince)
	w.restarted()
	if d.Delay == 0 && !d.CrashLoop {
		w.setState(Down, d.Reason, errStr)
		w.start()
		return
	}
	w.backoff(d, errStr, w.follower.tail(w.logMark, p.Tail()))
}

// backoff waits d.Delay before the next start, in state failed for a
// crash loop and backoff otherwise.
func (w *watcher) backoff(d Decision, errStr string, tail []string) {
	to := Backoff
	if d.CrashLoop {
		to = Failed
	}
	w.mu.Lock()
	w.status.RetryAt = w.env.now().Add(d.Delay)
	w.mu.Unlock()
	w.setStateTail(to, d.Reason, errStr, tail)
}

// start writes the node's config and spawns redis-server. A failure to
// spawn counts as an early exit: backoff, crash loop, never a tight loop.
func (w *watcher) start() {
	err := w.spawn()
	if err == nil {
		return
	}
	w.log.Error("start failed", "error", err)
	d := w.tracker.Exit(w.env.now(), time.Time{})
	w.restarted()
	w.backoff(d, err.Error(), nil)
}

func (w *watcher) spawn() error {
	args := []string{w.files.Conf}
	var err error
	if w.node.Kind == config.Sentinel {
		_, err = setup.Sentinel(w.env.cluster, w.node, w.env.password, w.sentinelMasters())
		args = append(args, "--sentinel")
	} else {
		role := w.startRole()
		w.setRole(role)
		_, err = setup.Node(w.env.cluster, w.node, w.env.password, role)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // the node's directory, under `set dir`
			return fmt.Errorf("%w (check `set dir` in %s)", err, w.env.cluster.File())
		}
		return err
	}
	bin, err := exec.LookPath(w.env.settings.RedisServer)
	if err != nil {
		return fmt.Errorf("start redis-server: %w (check `set redis-server` in %s)", err, w.env.cluster.File())
	}
	w.logMark = w.follower.size()
	w.clearClean()
	p, err := procs.Start(procs.Spec{
		Path:   bin,
		Args:   args,
		Dir:    w.files.Dir,
		Logger: w.log.Named("redis"),
	})
	if err != nil {
		return fmt.Errorf("start %s: %w (check `set redis-server` in %s)", bin, err, w.env.cluster.File())
	}
	w.attach(p, false)
	w.setState(Starting, fmt.Sprintf("started %s, pid %d", bin, p.PID()), "")
	return nil
}

// adopt takes over a node left running by an earlier twined. It reports
// whether it did.
func (w *watcher) adopt(ctx context.Context) bool {
	// Generous: a node left running that is not adopted in time would
	// be left unsupervised while a second one fails on its port.
	actx, cancel := context.WithTimeout(ctx, max(adoptTimeout, 2*w.env.settings.CheckTimeout))
	defer cancel()
	p, err := procs.AdoptRedis(actx, w.files.Pidfile, w.node.Addr(), w.env.password, w.files.Conf, w.log)
	if err != nil {
		w.log.Debug("nothing to adopt", "reason", err)
		return false
	}
	w.attach(p, true)
	w.logMark = w.follower.size() // what it logged before is not news
	w.healthySince = w.env.now()
	w.setState(Up, fmt.Sprintf("adopted running process, pid %d", p.PID()), "")
	w.sentinelUp()
	return true
}

func (w *watcher) attach(p *procs.Process, adopted bool) {
	w.proc = p
	w.killed = false
	w.portWait = false
	w.probe = newProbe(w.node.Addr(), w.env.password)
	w.misses = 0
	w.infoAt = time.Time{}
	w.nextCheck = startCheck
	w.checkAt = w.env.now().Add(startCheck)
	w.startedAt = w.env.now()
	w.healthySince = time.Time{}
	w.mu.Lock()
	w.status.PID = p.PID()
	w.status.Adopted = adopted
	w.status.StartedAt = w.startedAt
	w.status.RetryAt = time.Time{}
	w.mu.Unlock()
}

func (w *watcher) closeClient() {
	w.stopSteady()
	if w.probe != nil {
		w.probe.close() // a check in flight may still use it: it dials again, and is dropped with it
		w.probe = nil
	}
}

func (w *watcher) restarted() {
	w.mu.Lock()
	w.status.Restarts++
	w.mu.Unlock()
}

// onCommand carries out an operator's request.
func (w *watcher) onCommand(o op) error {
	switch o {
	case opStop:
		if w.proc == nil {
			if w.state != Stopped {
				w.setState(Stopped, "stopped by the operator", "")
			}
			return nil
		}
		w.beginStop(false)
	case opStart:
		// A stopped node starts; so does one waiting in backoff or a
		// crash loop, at once: the operator has looked. A held master
		// starts too: the operator chose it as master.
		if w.proc == nil && (w.state == Stopped || w.state == Backoff || w.state == Failed || w.state == Held) {
			w.operatorStart()
		}
	case opNoop:
	case opRestart:
		if w.proc == nil {
			w.operatorStart()
			return nil
		}
		w.beginStop(true)
	}
	return nil
}

// beginStop sends SIGTERM; the exit completes the stop, and the timer
// SIGKILLs a node that outlives stop-timeout.
func (w *watcher) beginStop(restart bool) {
	w.stopSteady()
	w.stopping = true
	w.restartAfter = restart
	w.stopDeadline = w.env.now().Add(w.env.settings.StopTimeout)
	if err := w.proc.Signal(syscall.SIGTERM); err != nil {
		w.log.Debug("SIGTERM", "error", err)
	}
}

// cleanExit reports whether a stopped node exited by itself after SIGTERM
// (redis saved its data): status 0, or an adopted process's unknown
// status, but never after twined had to SIGKILL it.
func cleanExit(ex procs.Exit) bool {
	return !ex.Killed && (ex.Success() || !ex.Known)
}

// shutdown stops the node for twined's exit: SIGTERM (redis saves), wait
// up to stop-timeout, SIGKILL.
func (w *watcher) shutdown() {
	if w.proc == nil {
		return
	}
	ex := w.proc.Stop(w.env.settings.StopTimeout)
	_ = w.proc.Close()
	w.proc = nil
	if cleanExit(ex) {
		w.markClean()
	}
	w.follower.poll()
	w.mu.Lock()
	reason := w.exitReason
	w.mu.Unlock()
	if reason == "" {
		reason = "twined is shutting down"
	}
	w.setState(Stopped, reason+" ("+ex.String()+")", "")
}

// abandon lets go of the node without signalling it, as a twined that is
// killed does: the process keeps running, to be adopted later.
func (w *watcher) abandon() {
	if w.proc != nil {
		_ = w.proc.Close()
		w.proc = nil
	}
}

func (w *watcher) setState(to State, reason, errStr string) {
	w.setStateTail(to, reason, errStr, nil)
}

// setStateTail records a state change and publishes it as an event.
func (w *watcher) setStateTail(to State, reason, errStr string, tail []string) {
	from := w.state
	w.state = to
	now := w.env.now()
	pid := 0
	if w.proc != nil {
		pid = w.proc.PID()
	}
	w.mu.Lock()
	w.status.State = to
	w.status.Since = now
	w.status.Reason = reason
	if errStr != "" || to.Alive() || to == Stopped {
		w.status.Error = errStr
	}
	if w.proc == nil {
		w.status.PID = 0
	}
	if to != Backoff && to != Failed {
		w.status.RetryAt = time.Time{} // no start is scheduled
	}
	w.mu.Unlock()
	w.env.publish(Event{Time: now, Node: w.node.Name, From: from, To: to, Reason: reason, Err: errStr, PID: pid, LogTail: tail})
	args := []any{"from", from.String(), "to", to.String(), "reason", reason}
	if errStr != "" {
		args = append(args, "error", errStr)
	}
	switch to {
	case Up, Loading, Starting, Stopped:
		w.log.Info("node "+to.String(), args...)
	case Failed:
		w.log.Error("node "+to.String(), args...)
	default:
		w.log.Warn("node "+to.String(), args...)
	}
}

// update applies new settings that need no restart (check pacing, backoff
// bounds, stop timeout) and a new definition of the node that leaves its
// redis.conf as it was (e.g. another partition number). The node keeps
// running.
func (w *watcher) update(env nodeEnv, n config.Node) {
	w.stopSteady() // the next checks take the new pace
	w.env = env
	w.node = n
	if next := env.now().Add(w.checkDelay()); next.Before(w.checkAt) {
		w.checkAt = next
	}
	w.tracker.SetPolicy(DefaultPolicy(env.settings.BackoffMin, env.settings.BackoffMax))
	w.mu.Lock()
	w.status.Partition = n.Partition
	w.mu.Unlock()
	if w.state == Up {
		w.sentinelUp()
	}
}

// sentinelUp brings a Sentinel that just came up (or whose config was
// reloaded) in line with twine.conf; it does nothing for other nodes.
func (w *watcher) sentinelUp() {
	if w.node.Kind == config.Sentinel && !w.busy {
		w.reconcileSentinel()
	}
}

// operatorStart starts a node at the operator's request. A held master
// that no Sentinel watches starts as master: that is the operator's
// choice (twined -start); with Sentinels it takes the role they give.
func (w *watcher) operatorStart() {
	if w.state == Held && !w.env.cluster.Watched(w.node) {
		w.override = &setup.Role{}
	}
	w.start()
}

// end stops the node and ends run, giving reason for the last state
// change, and waits until run has returned.
func (w *watcher) end(reason string) {
	w.mu.Lock()
	w.exitReason = reason
	w.mu.Unlock()
	w.cancel()
	<-w.done
}

// snapshot returns a copy of the node's status.
func (w *watcher) snapshot() NodeStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// do sends a command to the owner goroutine and waits for its answer.
func (w *watcher) do(ctx context.Context, o op) error {
	return w.send(ctx, command{op: o})
}

// send delivers c to the owner goroutine and waits for its answer.
func (w *watcher) send(ctx context.Context, c command) error {
	c.reply = make(chan error, 1)
	select {
	case w.cmds <- c:
	case <-w.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// nodeLogFields are the fields every log line of a node carries.
func nodeLogFields(n config.Node) []any {
	f := []any{"node", n.Name, "port", n.Port}
	if n.Partition >= 0 {
		f = append(f, "partition", n.Partition)
	}
	return f
}

// initialRole is the role a node is shown with before Redis tells: a lone
// status node is "status", a sentinel "sentinel", and a member of a
// replica set (data or status) master or replica by line order.
func initialRole(c *config.Cluster, n config.Node) string {
	switch {
	case n.Kind == config.Sentinel:
		return "sentinel"
	case n.Kind == config.Status && !c.Replicated(n):
		return "status"
	case n.Member == 0:
		return "master"
	default:
		return "replica"
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
