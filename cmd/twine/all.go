package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route"
)

// summed are the commands whose integer answers -all also adds up.
var summed = map[string]bool{"dbsize": true, "publish": true, "spublish": true}

// destructive are the commands -all asks about first.
var destructive = map[string]bool{"flushall": true, "flushdb": true, "shutdown": true}

// errNotConfirmed is returned when the operator did not confirm.
var errNotConfirmed = errors.New("not confirmed, nothing was sent")

// runAll runs args on every partition's master in parallel and prints each
// answer, every line prefixed by the node's name, in partition order.
// Failures (error replies in raw mode, nodes down) go to stderr after
// prefix; then runAll returns errAnswered. The caller asks before a
// destructive command.
func (c *cli) runAll(ctx context.Context, r *route.Router, args [][]byte, prefix string) error {
	name := strings.ToLower(string(args[0]))
	masters := make([]config.Node, r.Partitions())
	for p := range masters {
		masters[p] = r.MasterOf(ctx, p)
	}
	replies := make([]route.Reply, len(masters))
	errs := make([]error, len(masters))
	var wg sync.WaitGroup
	for i, n := range masters {
		wg.Go(func() { replies[i], errs[i] = r.DoOn(ctx, n, args) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return errInterrupted(ctx)
	}

	raw := c.rawOutput()
	forceRaw := alwaysRaw(args)
	failed := false
	sum, sumOK := int64(0), summed[name]
	twinePrefix := prefix
	if twinePrefix == "" {
		twinePrefix = "twine: "
	}
	var out bytes.Buffer
	for i, n := range masters {
		if errs[i] != nil {
			failed = true
			sumOK = false
			fmt.Fprintf(c.stderr, "%s%v\n", twinePrefix, errs[i])
			continue
		}
		rep := replies[i]
		if rep.Kind != route.Int {
			sumOK = false
		}
		sum += rep.Int
		if rep.Kind == route.Error {
			failed = true
			if raw {
				fmt.Fprintf(c.stderr, "%s%s: (error) %s\n", prefix, n.Name, rep.Str)
				continue
			}
		}
		prefixLines(&out, n.Name+": ", formatReply(rep, raw || forceRaw))
	}
	if sumOK {
		prefixLines(&out, "total: ", formatReply(route.IntReply(sum), raw))
	}
	if _, err := c.stdout.Write(out.Bytes()); err != nil {
		return err
	}
	if failed {
		return errAnswered
	}
	return nil
}

// prefixLines writes text with prefix before each of its lines (a CR
// before a line's end is dropped).
func prefixLines(w *bytes.Buffer, prefix string, text []byte) {
	for line := range bytes.Lines(text) {
		w.WriteString(prefix)
		w.Write(bytes.TrimRight(line, "\r\n"))
		w.WriteByte('\n')
	}
}

// confirm asks the operator, on a terminal, to type yes before what. When
// stdin is not a terminal it refuses: -yes is needed.
func (c *cli) confirm(what string) error {
	if !isTerminal(c.stdin) {
		return usageError("%s: stdin is not a terminal to confirm on; add -yes to go ahead", what)
	}
	fmt.Fprintf(c.stderr, "%s: type yes to go ahead: ", what)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		if err == nil {
			err = errNotConfirmed
		} else {
			err = fmt.Errorf("%w: %w", errNotConfirmed, err)
		}
		return &mainutil.ExitError{Code: exitFailure, Err: err}
	}
	return nil
}
