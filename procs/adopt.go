package procs

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// Adopt watches pid, a process that is not a child of this one (a node
// left running by an earlier twined), through a pidfd. It returns an error
// wrapping ErrNotRunning if pid is gone (or a zombie). Adopt does not check
// what the process is: see AdoptRedis for that.
//
// The adopted Process closes Done when the process exits; its Exit has
// Known == false, since only the real parent can have the wait status.
// Signal and Kill go through the pidfd. Tail is empty: the output of an
// adopted process is not ours. Close stops the watch and releases the
// pidfd; it must be called to avoid leaking them.
func Adopt(pid int, logger hclog.Logger) (*Process, error) {
	fd, err := openPidfd(pid)
	if err != nil {
		return nil, fmt.Errorf("adopt process %d: %w", pid, err)
	}
	p, err := adoptPidfd(pid, fd, logger)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("adopt process %d: %w", pid, err)
	}
	return p, nil
}

// openPidfd opens a pidfd for a live process. It returns ErrNotRunning if
// pid does not exist or has already exited.
func openPidfd(pid int) (int, error) {
	if pid <= 0 {
		return -1, fmt.Errorf("invalid pid %d", pid)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return -1, ErrNotRunning
	}
	if err != nil {
		return -1, fmt.Errorf("open pidfd: %w", err)
	}
	exited, err := pidfdExited(fd)
	if err != nil || exited {
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		return -1, ErrNotRunning
	}
	return fd, nil
}

// pidfdExited reports, without blocking, whether the process behind the
// pidfd has exited (a pidfd becomes readable at exit).
func pidfdExited(fd int) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("poll pidfd: %w", err)
		}
		return n > 0, nil
	}
}

// adoptPidfd builds the adopted Process around fd, which it owns on
// success, and starts its watcher.
func adoptPidfd(pid, fd int, logger hclog.Logger) (*Process, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	cancelfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("create eventfd: %w", err)
	}
	p := &Process{
		pid:       pid,
		adopted:   true,
		logger:    logger,
		done:      make(chan struct{}),
		tail:      newTail(tailLines),
		pidfd:     fd,
		cancelfd:  cancelfd,
		watchDone: make(chan struct{}),
	}
	go p.watchPidfd()
	return p, nil
}

// watchPidfd is the one goroutine that waits for an adopted process to
// exit, or for Close to cancel the watch through the eventfd.
func (p *Process) watchPidfd() {
	defer close(p.watchDone)
	fds := []unix.PollFd{
		{Fd: int32(p.pidfd), Events: unix.POLLIN},
		{Fd: int32(p.cancelfd), Events: unix.POLLIN},
	}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			p.logger.Error("watch adopted process failed", "pid", p.pid, "error", err)
			return
		}
		if fds[0].Revents != 0 {
			break
		}
		if fds[1].Revents != 0 {
			return // cancelled by Close
		}
	}
	exit := Exit{PID: p.pid, Code: -1, Time: time.Now()}
	p.mu.Lock()
	p.exited = true
	p.exit = exit
	p.recorded = true
	p.mu.Unlock()
	close(p.done)
}

// stopWatch cancels the watcher, waits for it and releases the fds.
// Called once, by Close.
func (p *Process) stopWatch() error {
	var one [8]byte
	one[0] = 1 // eventfd counters are host-endian; 1 is nonzero either way
	_, werr := unix.Write(p.cancelfd, one[:])
	if werr == nil {
		<-p.watchDone
	} else {
		// Without the eventfd the watcher cannot be woken; it ends at
		// the exit. Keep the fds it polls open.
		return fmt.Errorf("close process %d: cancel watch: %w", p.pid, werr)
	}
	p.mu.Lock()
	pidfd, cancelfd := p.pidfd, p.cancelfd
	p.pidfd, p.cancelfd = -1, -1
	p.mu.Unlock()
	return errors.Join(closeFD(pidfd), closeFD(cancelfd))
}

func closeFD(fd int) error {
	if fd < 0 {
		return nil
	}
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("close fd %d: %w", fd, err)
	}
	return nil
}
