// Command twine runs Redis commands on a Twine cluster: it finds the keys
// of a command from Redis's own command table, hashes them as twine.conf
// says, and runs the command on the master of the partition that owns
// them. It also splits multi-key commands across partitions, runs keyless
// commands on chosen nodes, and pipes bulk input.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	redis.SetLogger(quietLogger{}) // failures are reported as errors, not logged
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// quietLogger drops go-redis's log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// exitError carries a specific exit code; its message, if any, is printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// Exit codes.
const (
	exitFailure = 1 // a Redis error reply, a node down, a refused command
	exitUsage   = 2 // bad flags or arguments
)

// usageError returns an exit-2 error with a message.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode maps run's error to the process exit code, printing it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "twine:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "twine:", err)
	return exitFailure
}
