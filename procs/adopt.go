package procs

import (
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
	// The watch gets a pidfd of its own: p.pidfd stays for signals until
	// Close.
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup pidfd: %w", err)
	}
	watch, err := newExitWatch(dup)
	if err != nil {
		return nil, err
	}
	p := &Process{
		pid:       pid,
		adopted:   true,
		logger:    logger,
		done:      make(chan struct{}),
		tail:      newTail(tailLines),
		pidfd:     fd,
		watch:     watch,
		watchDone: make(chan struct{}),
	}
	go p.watchPidfd()
	return p, nil
}

// watchPidfd is the one goroutine that waits for an adopted process to
// exit, on the poller, or for Close to end the watch.
func (p *Process) watchPidfd() {
	defer close(p.watchDone)
	if err := p.watch.wait(); err != nil {
		return // closed by Close
	}
	exit := Exit{PID: p.pid, Code: -1, Time: time.Now()}
	p.mu.Lock()
	p.exited = true
	p.exit = exit
	p.recorded = true
	p.mu.Unlock()
	close(p.done)
}

// stopWatch ends the watcher, waits for it and releases the pidfd.
// Called once, by Close.
func (p *Process) stopWatch() error {
	p.watch.close()
	<-p.watchDone
	p.mu.Lock()
	pidfd := p.pidfd
	p.pidfd = -1
	p.mu.Unlock()
	return closeFD(pidfd)
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
