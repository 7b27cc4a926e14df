// Command twine runs Redis commands on a Twine cluster: it finds the keys
// of a command from Redis's own command table, hashes them as twine.conf
// says, and runs the command on the master of the partition that owns
// them. It also splits multi-key commands across partitions, runs keyless
// commands on chosen nodes, and pipes bulk input.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twine/twine/cmd/internal/mainutil"
)

func main() {
	mainutil.QuietRedis() // failures are reported as errors, not logged
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(mainutil.ExitCode("twine", err, os.Stderr))
}

// Exit codes.
const (
	exitFailure = 1 // a Redis error reply, a node down, a refused command
	exitUsage   = 2 // bad flags or arguments
)

// usageError returns an exit-2 error with a message.
func usageError(format string, args ...any) error {
	return &mainutil.ExitError{Code: exitUsage, Err: fmt.Errorf(format, args...)}
}
