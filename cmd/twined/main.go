// Command twined keeps the redis-servers of one host of a Twine cluster
// alive: it generates their configs from twine.conf, starts them, checks
// them every second and restarts the dead and the hung.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/twine/twine/cmd/internal/mainutil"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(mainutil.ExitCode("twined", err, os.Stderr))
}
