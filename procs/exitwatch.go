package procs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// exitWatch waits for a process to exit through a pidfd registered with
// Go's network poller: the waiting goroutine is parked like one reading a
// socket, so no OS thread is held per process, whatever their number. The
// pidfd becomes readable when the process exits.
type exitWatch struct {
	f *os.File // owns the pidfd
}

// newExitWatch takes ownership of pidfd (closed by close).
func newExitWatch(pidfd int) (*exitWatch, error) {
	if err := unix.SetNonblock(pidfd, true); err != nil {
		unix.Close(pidfd)
		return nil, fmt.Errorf("watch pidfd: %w", err)
	}
	return &exitWatch{f: os.NewFile(uintptr(pidfd), "pidfd")}, nil
}

// wait returns nil once the process has exited (leaving it unreaped), or
// an error once close was called.
func (w *exitWatch) wait() error {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return err
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		if err != nil && err != unix.EINTR {
			perr = fmt.Errorf("poll pidfd: %w", err)
			return true
		}
		return n > 0 // false: park until the poller says readable
	})
	if err != nil {
		return err
	}
	return perr
}

// close releases the pidfd and wakes a wait in progress (it returns an
// error).
func (w *exitWatch) close() { _ = w.f.Close() }
