// Package mainutil holds what Twine's commands share around main: an error that
// carries an exit code, the mapping of run's error to an exit status, and
// silencing go-redis's own logger.
package mainutil

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/redis/go-redis/v9"
)

// ExitError carries a specific exit code; its message, if any, is printed
// by ExitCode.
type ExitError struct {
	Code int
	Err  error
}

// Error returns the message, or the exit status when there is none.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the error behind the exit code.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode maps a command's error to its exit status, printing the message
// as "prog: message" on stderr: 0 for nil, the code of an ExitError, else
// 1.
func ExitCode(prog string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, prog+":", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, prog+":", err)
	return 1
}

// QuietRedis stops go-redis from logging on its own (dial failures and
// the like): the commands report failures as errors instead.
func QuietRedis() { redis.SetLogger(quiet{}) }

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
