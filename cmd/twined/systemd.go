package main

// systemd integration: twined speaks the sd_notify(3) protocol over the
// datagram socket systemd names in $NOTIFY_SOCKET. It says when startup is
// done (READY=1), keeps a one-line summary of the host in STATUS=, feeds the
// watchdog (WATCHDOG=1) only while the supervisor answers a heartbeat, and
// announces reloads (RELOADING=1 … READY=1) and its shutdown (STOPPING=1).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/twine/twine/supervisor"
)

const (
	// notifySendTimeout bounds one datagram: a stuck reader of the notify
	// socket never stalls twined.
	notifySendTimeout = time.Second
	// statusCoalesce gathers a burst of node events (a host starting, a
	// partition failing) into one STATUS= update.
	statusCoalesce = 200 * time.Millisecond
	// statusRefresh recomputes the status line even without events, in
	// case the subscription dropped some.
	statusRefresh = 10 * time.Second
	// statusMaxNodes is how many nodes that are not up the status line
	// names before it says "and N more".
	statusMaxNodes = 5
)

// notifyEnv are the variables through which systemd talks to its main
// process; twined removes them from its environment so that the
// redis-servers it spawns do not inherit them.
var notifyEnv = []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}

// errNotifySocket reports a $NOTIFY_SOCKET that is neither a path nor an
// abstract socket name (@name); twined then does not notify.
var errNotifySocket = errors.New("unsupported notify socket address")

// notifier sends sd_notify messages. A nil or zero notifier is twined
// outside systemd: every send is a no-op that returns nil. It is safe for
// concurrent use.
type notifier struct {
	socket   string        // a path, or @name for an abstract socket
	watchdog time.Duration // the watchdog period; 0 = no watchdog
}

// notifierFromEnv reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID,
// then removes all three from the environment (as sd_notify's
// unset_environment does) so that no child process inherits them: call it
// before any child starts. A malformed variable is reported in err; the
// returned notifier then leaves out the part it concerns.
func notifierFromEnv() (*notifier, error) {
	defer func() {
		for _, k := range notifyEnv {
			os.Unsetenv(k)
		}
	}()
	n := &notifier{}
	switch socket := os.Getenv("NOTIFY_SOCKET"); {
	case socket == "":
		return n, nil
	case strings.HasPrefix(socket, "/") || strings.HasPrefix(socket, "@"):
		n.socket = socket
	default:
		return n, fmt.Errorf("read NOTIFY_SOCKET %q: %w", socket, errNotifySocket)
	}
	d, err := watchdogPeriod(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
	n.watchdog = d
	return n, err
}

// watchdogPeriod reads the watchdog variables as sd_watchdog_enabled(3)
// does: the watchdog applies to process pid when usec is a positive number
// of microseconds and wpid is empty or pid. It returns 0 when there is no
// watchdog for pid.
func watchdogPeriod(usec, wpid string, pid int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	u, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || u <= 0 || u > int64(time.Duration(1<<63-1)/time.Microsecond) {
		return 0, fmt.Errorf("read WATCHDOG_USEC %q: want a positive number of microseconds", usec)
	}
	if wpid != "" {
		p, err := strconv.Atoi(wpid)
		if err != nil || p <= 0 {
			return 0, fmt.Errorf("read WATCHDOG_PID %q: want a process ID", wpid)
		}
		if p != pid {
			return 0, nil // meant for another process
		}
	}
	return time.Duration(u) * time.Microsecond, nil
}

// enabled reports whether twined runs under a service manager that
// listens.
func (n *notifier) enabled() bool { return n != nil && n.socket != "" }

// Ready tells systemd that startup is done.
func (n *notifier) Ready() error { return n.send("READY=1") }

// Status sets the one-line status shown by systemctl status.
func (n *notifier) Status(s string) error { return n.send("STATUS=" + oneLine(s)) }

// Stopping tells systemd that twined is shutting down.
func (n *notifier) Stopping() error { return n.send("STOPPING=1") }

// Reloading tells systemd that a reload of the configuration began; it
// must be followed by Reloaded once the reload is over, applied or not.
func (n *notifier) Reloading() error {
	return n.send("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(monotonicUsec(), 10))
}

// Reloaded tells systemd that the reload begun by Reloading is over.
func (n *notifier) Reloaded() error { return n.send("READY=1") }

// Watchdog feeds systemd's watchdog.
func (n *notifier) Watchdog() error { return n.send("WATCHDOG=1") }

// send sends fields, newline-separated, as one datagram.
func (n *notifier) send(fields ...string) error {
	if !n.enabled() {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify systemd: %w", err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(notifySendTimeout)); err != nil {
		return fmt.Errorf("notify systemd: %w", err)
	}
	if _, err := conn.Write([]byte(strings.Join(fields, "\n"))); err != nil {
		return fmt.Errorf("notify systemd: %w", err)
	}
	return nil
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, the clock systemd
// compares MONOTONIC_USEC= with.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1e3
}

// oneLine keeps a status on one line: a newline would end the field.
func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// systemd keeps systemd informed about a running twined: the status line,
// updated as nodes change state; readiness; reloads; shutdown; and the
// watchdog, fed only while every watcher of the supervisor answers a
// heartbeat. Outside systemd every method is a no-op and no goroutine runs.
// Its methods are safe for concurrent use.
type systemd struct {
	n   *notifier
	log hclog.Logger

	cancel context.CancelFunc // ends the loops started by watch
	wg     sync.WaitGroup

	mu         sync.Mutex // guards the fields below and orders the sends
	snapshot   func() supervisor.Snapshot
	isReady    bool
	isStopping bool
	last       string // the STATUS= last sent
}

// newSystemd reads systemd's variables and removes them from the
// environment (see notifierFromEnv): call it before any node starts.
func newSystemd(log hclog.Logger) *systemd {
	log = log.Named("systemd")
	n, err := notifierFromEnv()
	if err != nil {
		log.Warn("ignoring systemd's environment", "error", err)
	}
	if n.enabled() {
		log.Info("notifying systemd", "socket", n.socket, "watchdog", n.watchdog)
	}
	return &systemd{n: n, log: log}
}

// watch starts following sup: the status line from now on, and the
// watchdog when systemd asked for one. stop ends both.
func (s *systemd) watch(sup *supervisor.Supervisor) {
	if !s.n.enabled() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	sub := sup.Subscribe(256)
	s.mu.Lock()
	s.snapshot = sup.Snapshot
	s.cancel = cancel
	s.mu.Unlock()
	s.sendStatus()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer sub.Cancel()
		s.statusLoop(ctx, sub.C)
	}()
	if s.n.watchdog > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.watchdogLoop(ctx, sup.Heartbeat)
		}()
	}
}

// ready tells systemd that startup is over, with the status line. twined
// is ready once every node answers or the startup deadline passed: it is
// then supervising, whatever the nodes' states.
func (s *systemd) ready() {
	s.mu.Lock()
	s.isReady = true
	s.mu.Unlock()
	s.sendStatus("READY=1")
}

// reloading tells systemd that a reload of twine.conf began.
func (s *systemd) reloading() {
	if err := s.n.Reloading(); err != nil {
		s.log.Warn("tell systemd about the reload", "error", err)
	}
}

// reloaded tells systemd that the reload is over, with the status line.
func (s *systemd) reloaded() { s.sendStatus("READY=1") }

// stop tells systemd that twined is stopping its nodes, then ends the
// status and watchdog loops (systemd does not expect WATCHDOG=1 while a
// unit stops). Later status changes are not sent.
func (s *systemd) stop(nodes int) {
	s.mu.Lock()
	s.isStopping = true
	cancel := s.cancel
	if err := s.n.send("STOPPING=1", fmt.Sprintf("STATUS=STOPPING %d nodes", nodes)); err != nil {
		s.log.Warn("tell systemd about the stop", "error", err)
	}
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
}

// sendStatus sends the status line when it changed, or always when extra
// fields go with it.
func (s *systemd) sendStatus(extra ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.n.enabled() || s.snapshot == nil || s.isStopping {
		return
	}
	line := statusLine(s.snapshot(), s.isReady)
	if line == s.last && len(extra) == 0 {
		return
	}
	if err := s.n.send(append(extra, "STATUS="+line)...); err != nil {
		s.log.Warn("send status to systemd", "error", err)
		return
	}
	s.last = line
}

// statusLoop recomputes the status line after each burst of events, and
// every statusRefresh, until ctx ends or events closes.
func (s *systemd) statusLoop(ctx context.Context, events <-chan supervisor.Event) {
	coalesce := time.NewTimer(statusCoalesce)
	coalesce.Stop()
	defer coalesce.Stop()
	refresh := time.NewTicker(statusRefresh)
	defer refresh.Stop()
	pending := false
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			if !pending {
				pending = true
				coalesce.Reset(statusCoalesce)
			}
		case <-coalesce.C:
			pending = false
			s.sendStatus()
		case <-refresh.C:
			s.sendStatus()
		}
	}
}

// watchdogLoop sends WATCHDOG=1 every half watchdog period, each time only
// after heartbeat succeeded within a quarter period, until ctx ends. A
// wedged supervisor thus stops the pings and systemd restarts twined.
func (s *systemd) watchdogLoop(ctx context.Context, heartbeat func(context.Context) error) {
	every := s.n.watchdog / 2
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, every/2)
		err := heartbeat(hctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Warn("supervisor heartbeat failed: not feeding systemd's watchdog", "error", err)
		default:
			if err := s.n.Watchdog(); err != nil {
				s.log.Warn("feed systemd's watchdog", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// statusLine renders a snapshot for systemctl status, e.g. "OK 64/64 up",
// "DEGRADED 63/64 up: n5 hung" or "HALT 62/64 up (partitions 3, 7 without
// a master): n3 backoff, n7 failed". Before twined is ready it is
// "STARTING 12/64 up".
func statusLine(s supervisor.Snapshot, ready bool) string {
	if !ready {
		return fmt.Sprintf("STARTING %d/%d up", s.Up, len(s.Nodes))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d/%d up", s.Status, s.Up, len(s.Nodes))
	if _, ps := s.Partitions(); s.Status == supervisor.Halt && len(ps) > 0 {
		word := "partition"
		if len(ps) > 1 {
			word = "partitions"
		}
		fmt.Fprintf(&b, " (%s %s without a master)", word, ranges(ps))
	}
	var down []string
	for _, n := range s.Nodes {
		if !n.State.Alive() {
			down = append(down, n.Name+" "+n.State.String())
		}
	}
	if len(down) > statusMaxNodes {
		down = append(down[:statusMaxNodes:statusMaxNodes], fmt.Sprintf("and %d more", len(down)-statusMaxNodes))
	}
	if len(down) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(down, ", "))
	}
	return b.String()
}
