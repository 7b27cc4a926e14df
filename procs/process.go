package procs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// drainGrace bounds how long the exit of a child waits for its output
// readers to reach end of file, so that the last lines it wrote are in Tail
// and in the logger when Done closes. A forked grandchild (redis BGSAVE) may
// keep the pipes open; Done then closes after drainGrace and the readers
// carry on until the grandchild lets go or Close is called.
const drainGrace = 250 * time.Millisecond

// Spec describes a process to start.
type Spec struct {
	Path   string       // binary
	Args   []string     // arguments after the binary
	Dir    string       // working directory
	Env    []string     // nil = inherit
	Logger hclog.Logger // receives every stdout/stderr line (nil = discard)
}

// Process is one OS process: a child started by Start or a process adopted
// by Adopt. All methods are safe for concurrent use.
//
// Exactly one goroutine owned by the Process watches for the exit (Wait for
// a child, a pidfd for an adopted process); it records the Exit and closes
// Done. Callers release the remaining resources with Close.
type Process struct {
	pid     int
	adopted bool
	logger  hclog.Logger
	done    chan struct{} // closed by the watching goroutine, once, at exit
	tail    *tail

	// Started children.
	proc  *os.Process // signals go through its pidfd, never a bare PID
	pipes []*os.File  // read ends of stdout and stderr

	// Adopted processes. pidfd is reset under mu by Close.
	pidfd     int           // for signals; owned until Close, -1 after
	watch     *exitWatch    // the exit watch, on a pidfd of its own
	watchDone chan struct{} // closed when the watcher goroutine returns

	mu       sync.Mutex // guards the fields below and pidfd
	exited   bool       // the exit has been observed: no more signals
	recorded bool       // exit is set and Done is about to close
	closed   bool
	killed   bool // Kill sent SIGKILL
	exit     Exit
}

// Start starts spec.Path in its own process group (pgid == pid) and returns
// once the process is running. The child's stdout and stderr are read line
// by line into spec.Logger and Tail; stdin is /dev/null. No parent-death
// signal is set: the child outlives its parent (it can be adopted later),
// though its output pipes then break (redis-server ignores SIGPIPE and
// should log to a file for that reason).
//
// The returned Process must eventually be released with Close.
func Start(spec Spec) (*Process, error) {
	if spec.Path == "" {
		return nil, errors.New("start process: empty path")
	}
	logger := spec.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: create stdout pipe: %w", spec.Path, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("start %s: create stderr pipe: %w", spec.Path, err)
	}

	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	// *os.File values are handed to the child as they are: no copying
	// goroutine, so Wait returns as soon as the child exits even when a
	// grandchild still holds the pipes.
	cmd.Stdout = outW
	cmd.Stderr = errW
	pidfd := -1
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, PidFD: &pidfd}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Path, err)
	}

	p := &Process{
		pid:    cmd.Process.Pid,
		logger: logger,
		done:   make(chan struct{}),
		tail:   newTail(tailLines),
		proc:   cmd.Process,
		pipes:  []*os.File{outR, errR},
		pidfd:  -1,
	}
	readers := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go p.readStream(outR, false, &wg)
	go p.readStream(errR, true, &wg)
	go func() {
		wg.Wait()
		close(readers)
	}()
	var watch *exitWatch
	if pidfd < 0 { // a kernel without CLONE_PIDFD
		pidfd, _ = unix.PidfdOpen(p.pid, 0)
	}
	if pidfd >= 0 {
		if watch, err = newExitWatch(pidfd); err != nil {
			logger.Debug("exit watch through the poller unavailable; waiting in a thread", "pid", p.pid, "error", err)
		}
	}
	go p.waitChild(cmd, watch, readers)
	return p, nil
}

// waitChild is the one goroutine that waits for a started child: on the
// poller through watch, or, without one, blocked in waitid.
func (p *Process) waitChild(cmd *exec.Cmd, watch *exitWatch, readers <-chan struct{}) {
	// Learn of the exit without reaping, so that the PID (and the process
	// group ID) stays reserved while signals are refused from now on: a
	// group kill racing with the exit can never reach a reused PID.
	if watch == nil || watch.wait() != nil {
		blockUntilExited(p.pid)
	}
	if watch != nil {
		watch.close()
	}
	at := time.Now()
	p.mu.Lock()
	p.exited = true
	p.mu.Unlock()

	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.logger.Error("wait for process failed", "pid", p.pid, "error", err)
	}
	exit := exitFromState(p.pid, cmd.ProcessState, at)

	t := time.NewTimer(drainGrace)
	select {
	case <-readers:
	case <-t.C:
		p.logger.Debug("process exited but its output is still open (held by a child process)", "pid", p.pid)
	}
	t.Stop()

	p.mu.Lock()
	p.exit = exit
	p.recorded = true
	closed := p.closed
	p.mu.Unlock()
	close(p.done)
	if closed {
		p.closePipes()
	}
}

// blockUntilExited waits until the child pid has exited, leaving it
// unreaped.
func blockUntilExited(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return // on any other error Wait reports what happened
		}
	}
}

// PID returns the process ID.
func (p *Process) PID() int { return p.pid }

// Adopted reports whether the process was adopted rather than started.
func (p *Process) Adopted() bool { return p.adopted }

// Done returns a channel that the Process closes exactly once, when the
// process has exited. For a child, the output it wrote before exiting has
// been read by then (unless a grandchild holds the pipes; see Tail).
// For an adopted process closed by Close before it exited, Done never
// closes.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exit returns how the process ended. It is the zero Exit until Done is
// closed.
func (p *Process) Exit() Exit {
	select {
	case <-p.done:
	default:
		return Exit{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.exit
	e.Killed = p.killed
	return e
}

// Signal sends sig to the process itself (not its group). For a child it
// goes through the pidfd held by os.Process, for an adopted process through
// pidfd_send_signal: a PID reused by another process is never hit. It
// returns an error wrapping ErrExited once the exit has been observed, and
// ErrClosed after Close.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.signalLocked(sig); err != nil {
		return fmt.Errorf("signal process %d: %w", p.pid, err)
	}
	return nil
}

func (p *Process) signalLocked(sig syscall.Signal) error {
	switch {
	case p.exited:
		return ErrExited
	case p.closed:
		return ErrClosed
	case p.adopted:
		err := unix.PidfdSendSignal(p.pidfd, sig, nil, 0)
		if err == unix.ESRCH {
			return ErrExited
		}
		return err
	default:
		err := p.proc.Signal(sig)
		if errors.Is(err, os.ErrProcessDone) {
			return ErrExited
		}
		return err
	}
}

// Kill sends SIGKILL to the process group when the process leads its own
// group (pgid == pid, checked first; so forked children such as a redis
// BGSAVE die too), and to the process itself in any case. It returns an
// error wrapping ErrExited once the exit has been observed, and ErrClosed
// after Close. Kill does not wait: use Done.
func (p *Process) Kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Liveness first: for a child, the unreaped PID cannot be reused while
	// p.exited is false; for an adopted process, the pidfd proves the PID
	// is still the same process (a reuse would need the process to die and
	// its PID to be recycled between this check and the group kill).
	if err := p.signalLocked(0); err != nil {
		return fmt.Errorf("kill process %d: %w", p.pid, err)
	}
	if pgid, err := unix.Getpgid(p.pid); err == nil && pgid == p.pid {
		if err := unix.Kill(-p.pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
			p.logger.Warn("kill process group failed", "pgid", p.pid, "error", err)
		}
	}
	p.killed = true
	if err := p.signalLocked(unix.SIGKILL); err != nil && !errors.Is(err, ErrExited) {
		return fmt.Errorf("kill process %d: %w", p.pid, err)
	}
	return nil
}

// Stop sends SIGTERM to the process itself (so redis-server can save and
// exit cleanly; its BGSAVE child is its own business), waits up to timeout
// for the exit, then calls Kill and waits for the exit. It returns the
// Exit. If the process can no longer be signalled because it was closed
// before it exited, Stop returns the zero Exit at once.
func (p *Process) Stop(timeout time.Duration) Exit {
	if err := p.Signal(unix.SIGTERM); errors.Is(err, ErrClosed) {
		return p.Exit()
	} else if err != nil && !errors.Is(err, ErrExited) {
		p.logger.Warn("send SIGTERM failed", "pid", p.pid, "error", err)
	}
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-p.done:
			return p.Exit()
		case <-t.C:
		}
	}
	if err := p.Kill(); errors.Is(err, ErrClosed) {
		return p.Exit()
	} else if err != nil && !errors.Is(err, ErrExited) {
		p.logger.Warn("kill failed", "pid", p.pid, "error", err)
	}
	<-p.done
	return p.Exit()
}

// Tail returns a copy of the last lines (up to 50) the child wrote to
// stdout and stderr, oldest first, as written (long lines cut). It is
// empty for an adopted process.
func (p *Process) Tail() []string { return p.tail.lines() }

// Close releases what the Process holds and refuses further signals
// (ErrClosed). It never signals the process. It is idempotent and safe to
// call at any time:
//   - for a child, the exit is still observed and the child reaped (Done
//     still closes); the output pipes are closed at once if Done is already
//     closed, else right after the exit;
//   - for an adopted process, the pidfd watcher is stopped and waited for,
//     and the pidfd released; if the process had not exited yet, Done never
//     closes.
func (p *Process) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	recorded := p.recorded
	p.mu.Unlock()

	if p.adopted {
		return p.stopWatch()
	}
	if recorded {
		p.closePipes()
	} // else waitChild closes them after the exit
	return nil
}

// closePipes closes the read ends of the output pipes, stopping readers
// that a grandchild keeps alive. Closing an already closed file is
// harmless.
func (p *Process) closePipes() {
	for _, f := range p.pipes {
		f.Close()
	}
}
