package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config/route"
)

// streaming are commands that keep the connection open for messages,
// which a one-shot client cannot show.
var streaming = map[string]bool{
	"subscribe": true, "psubscribe": true, "ssubscribe": true,
	"monitor": true, "sync": true, "psync": true,
}

// errAnswered is returned for a command whose failure was printed
// already (Redis answered an error, or -all had a failure): twine exits 1
// without another message.
var errAnswered = &mainutil.ExitError{Code: exitFailure}

// errStreaming refuses a command that keeps its connection open.
func errStreaming(name string) error {
	return usageError("%s is not supported: it keeps the connection open (use redis-cli on a node; twine -nodes lists them)", strings.ToUpper(name))
}

// runCommand runs the command of the arguments, -r times, -i apart:
// routed by its keys, or on the target of -partition, -node or -all.
func (c *cli) runCommand(ctx context.Context) error {
	name := strings.ToLower(c.o.args[0])
	if streaming[name] {
		return errStreaming(name)
	}
	// No read timeout: BLPOP key 0 waits as long as it takes (Ctrl-C ends it).
	r, tgt, closeRouter, err := c.openTarget(ctx, route.Options{ReadTimeout: -1})
	if err != nil {
		return err
	}
	defer closeRouter()
	args := make([][]byte, len(c.o.args))
	for i, a := range c.o.args {
		args[i] = []byte(a)
	}
	if tgt.kind == onAll && destructive[name] && !c.o.yes {
		if err := c.confirm(c.allQuestion(r, name)); err != nil {
			return err
		}
	}
	return c.repeat(ctx, func() error { return c.runOnce(ctx, r, tgt, args, "") })
}

// repeat runs once c.o.repeat times (-1: until ctx ends; 0: once),
// waiting c.o.interval between runs. A run whose failure was printed
// (errAnswered) does not stop the others; any other error does. Ended by
// ctx between two runs, repeat returns as if the runs were all done.
func (c *cli) repeat(ctx context.Context, once func() error) error {
	if c.o.repeat == 0 {
		return once()
	}
	var status error
	for i := 0; c.o.repeat < 0 || i < c.o.repeat; i++ {
		if i > 0 && !wait(ctx, c.o.interval) {
			break
		}
		switch err := once(); {
		case errors.Is(err, errAnswered):
			status = err
		case err != nil:
			return err
		}
	}
	return status
}

// wait waits d, or until ctx ends; it reports whether d passed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runOnce runs args once where tgt says and prints the answer as
// print does. prefix goes before messages on stderr ("line 3: " for a
// command of stdin); the error is a usage error for a command without a
// key and no target, errAnswered for an error reply, else the failure to
// run it.
func (c *cli) runOnce(ctx context.Context, r *route.Router, tgt target, args [][]byte, prefix string) error {
	if tgt.kind == onAll {
		return c.runAll(ctx, r, args, prefix)
	}
	var reply route.Reply
	var err error
	if n := tgt.nodeOf(ctx, r); n != nil {
		reply, err = r.DoOn(ctx, *n, args)
	} else {
		reply, err = r.Do(ctx, args)
	}
	switch {
	case errors.Is(err, route.ErrNoKeys):
		return usageError("%w: choose where it runs with -partition N, -node NAME or -all", err)
	case err != nil && ctx.Err() != nil:
		return errInterrupted(ctx)
	case err != nil:
		return err
	}
	return c.print(reply, alwaysRaw(args), prefix)
}

// errInterrupted is the exit-1 error of a command cut off by ctx.
func errInterrupted(ctx context.Context) error {
	return &mainutil.ExitError{Code: exitFailure, Err: fmt.Errorf("interrupted: %w", ctx.Err())}
}

// print writes one top-level reply. An error reply goes to stdout on a
// terminal (as redis-cli shows it) and to stderr in raw mode, after
// prefix, and makes print return errAnswered.
func (c *cli) print(reply route.Reply, forceRaw bool, prefix string) error {
	raw := c.rawOutput()
	if reply.Kind == route.Error {
		if raw {
			fmt.Fprintf(c.stderr, "%s(error) %s\n", prefix, reply.Str)
		} else {
			c.stdout.Write(formatReply(reply, false))
		}
		return errAnswered
	}
	_, err := c.stdout.Write(formatReply(reply, raw || forceRaw))
	return err
}

// allQuestion is what -all asks before a destructive command.
func (c *cli) allQuestion(r *route.Router, name string) string {
	return fmt.Sprintf("%s on all %d masters of %s", strings.ToUpper(name), r.Partitions(), r.Cluster().File())
}
