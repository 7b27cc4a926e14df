package procs

import (
	"errors"
	"io/fs"
)

// Sentinel errors. Callers branch on them with errors.Is; the returned
// errors wrap them with the details (PID, path, address).
var (
	// ErrExited is returned by Signal and Kill once the process's exit has
	// been observed.
	ErrExited = errors.New("process exited")

	// ErrClosed is returned by Signal and Kill after Close.
	ErrClosed = errors.New("process handle closed")

	// ErrNotRunning means there is no process to adopt: no pidfile, or the
	// PID it names is dead.
	ErrNotRunning = errors.New("process not running")

	// ErrStale means a pidfile names a PID that is not the expected
	// process: a PID reused by an unrelated process, another redis-server
	// on the port, or a pidfile with junk content. The PID must not be
	// signalled.
	ErrStale = errors.New("stale pidfile")

	// ErrNoPidfile means the pidfile does not exist. It matches
	// fs.ErrNotExist too.
	ErrNoPidfile error = noPidfileError{}

	// ErrInvalidPidfile means the pidfile exists but does not hold a
	// positive decimal PID.
	ErrInvalidPidfile = errors.New("invalid pidfile")
)

type noPidfileError struct{}

func (noPidfileError) Error() string { return "no such pidfile" }

// Is makes errors.Is(ErrNoPidfile, fs.ErrNotExist) true.
func (noPidfileError) Is(target error) bool { return target == fs.ErrNotExist }
