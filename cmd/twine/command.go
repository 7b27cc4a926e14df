package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config/route"
)

// streaming are commands that keep the connection open for messages,
// which a one-shot client cannot show.
var streaming = map[string]bool{
	"subscribe": true, "psubscribe": true, "ssubscribe": true,
	"monitor": true, "sync": true, "psync": true,
}

// runCommand runs the command of the arguments: routed by its keys, or on
// the target of -partition, -node or -all.
func (c *cli) runCommand(ctx context.Context) error {
	name := strings.ToLower(c.o.args[0])
	if streaming[name] {
		return usageError("%s is not supported: it keeps the connection open (use redis-cli on a node; twine -nodes lists them)", strings.ToUpper(name))
	}
	// No read timeout: BLPOP key 0 waits as long as it takes (Ctrl-C ends it).
	r, closeRouter, err := c.newRouter(ctx, route.Options{ReadTimeout: -1})
	if err != nil {
		return err
	}
	defer closeRouter()
	args := make([][]byte, len(c.o.args))
	for i, a := range c.o.args {
		args[i] = []byte(a)
	}
	if c.o.all {
		return c.runAll(ctx, r, args)
	}
	target, err := c.target(ctx, r)
	if err != nil {
		return err
	}
	var reply route.Reply
	if target != nil {
		reply, err = r.DoOn(ctx, *target, args)
	} else {
		reply, err = r.Do(ctx, args)
	}
	switch {
	case errors.Is(err, route.ErrNoKeys):
		return usageError("%v: choose where it runs with -partition N, -node NAME or -all", err)
	case err != nil && ctx.Err() != nil:
		return &mainutil.ExitError{Code: exitFailure, Err: fmt.Errorf("interrupted: %w", ctx.Err())}
	case err != nil:
		return err
	}
	return c.print(reply, alwaysRaw(c.o.args))
}

// print writes one top-level reply. An error reply goes to stdout on a
// terminal (as redis-cli shows it) and to stderr in raw mode, and makes
// twine exit 1.
func (c *cli) print(reply route.Reply, forceRaw bool) error {
	raw := c.rawOutput()
	if reply.Kind == route.Error {
		if raw {
			fmt.Fprintf(c.stderr, "(error) %s\n", reply.Str)
		} else {
			c.stdout.Write(formatReply(reply, false))
		}
		return &mainutil.ExitError{Code: exitFailure}
	}
	_, err := c.stdout.Write(formatReply(reply, raw || forceRaw))
	return err
}
