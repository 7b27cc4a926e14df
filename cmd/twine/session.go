package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config/route"
)

// sessionHelp is what help prints at the prompt.
const sessionHelp = `Commands run on the partition that owns their keys, as with twine COMMAND;
arguments are quoted as for redis-cli. These lines change where they run:
  -partition N       on partition N's master
  -node NAME         on one node of the config
  -all               on every partition's master
  -auto              on the partition owning their keys again
  -SWITCH COMMAND    (a switch, then a command) that command only
  help               this text
  quit, exit         leave (or Ctrl-D)
`

// session runs commands one at a time, for the prompt and for the
// commands of stdin, with a target that switch lines change. It is used
// by one goroutine.
type session struct {
	c   *cli
	r   *route.Router
	tgt target
	// prompt is set at the prompt: each answer is preceded by where the
	// command ran, and messages do not name a line.
	prompt bool
	// ask confirms a destructive command with -all (see cli.confirm).
	ask func(what string) error
	// line is the number of the line being run, for messages (stdin).
	line int64
	// failed is set once a command failed or did not parse.
	failed bool
	// quit is set by quit or exit.
	quit bool
}

// runSession runs twine without a command: a prompt when stdin and
// stdout are terminals, else the commands of stdin one after another.
func (c *cli) runSession(ctx context.Context) error {
	// No read timeout: BLPOP key 0 waits as long as it takes (Ctrl-C ends it).
	r, tgt, closeRouter, err := c.openTarget(ctx, route.Options{ReadTimeout: -1})
	if err != nil {
		return err
	}
	defer closeRouter()
	s := &session{c: c, r: r, tgt: tgt}
	if isTerminal(c.stdin) && isTerminal(c.stdout) {
		return c.runPrompt(ctx, s)
	}
	return c.runLines(ctx, s)
}

// runLines runs the commands of stdin, one per line (or RESP, see
// inputReader), one after another, printing each answer as twine COMMAND
// does; messages on stderr name the line. A command that fails does not
// stop the others; the exit status is 1 if any failed.
func (c *cli) runLines(ctx context.Context, s *session) error {
	in := newInputReader(newCtxReader(ctx, c.stdin))
	s.ask = func(what string) error {
		if !isTerminal(c.stdin) {
			return usageError("%s: stdin is not a terminal to confirm on; add -yes to go ahead", what)
		}
		fmt.Fprintf(c.stderr, "%s: type yes to go ahead: ", what)
		args, _, err := in.next()
		if len(args) != 1 || string(args[0]) != "yes" || err != nil {
			return &mainutil.ExitError{Code: exitFailure, Err: errNotConfirmed}
		}
		return nil
	}
	for !s.quit {
		args, line, err := in.next()
		s.line = line
		switch {
		case err == io.EOF:
			return s.status()
		case isInputError(err):
			s.fail(err)
			continue
		case err != nil && ctx.Err() != nil:
			return errInterrupted(ctx)
		case err != nil:
			return fmt.Errorf("read stdin: %w", err)
		}
		if err := s.exec(ctx, args); err != nil {
			return err
		}
	}
	return s.status()
}

// status is the session's outcome: errAnswered when anything failed.
func (s *session) status() error {
	if s.failed {
		return errAnswered
	}
	return nil
}

// fail reports err on stderr, naming the line (stdin) or twine (prompt).
func (s *session) fail(err error) {
	s.failed = true
	fmt.Fprintf(s.c.stderr, "%s%v\n", s.msgPrefix("twine: "), err)
}

// msgPrefix returns what goes before a message on stderr: "line N: " for
// a command of stdin, else dflt.
func (s *session) msgPrefix(dflt string) string {
	if s.prompt {
		return dflt
	}
	return "line " + strconv.FormatInt(s.line, 10) + ": "
}

// exec runs one line's arguments: a switch, help, quit, or a command. It
// returns an error only when the session must end (interrupted).
func (s *session) exec(ctx context.Context, args [][]byte) error {
	if len(args) == 0 {
		return nil
	}
	name := strings.ToLower(string(args[0]))
	switch {
	case name == "quit" || name == "exit":
		s.quit = true
		return nil
	case name == "help":
		fmt.Fprint(s.c.stdout, sessionHelp)
		return nil
	case strings.HasPrefix(name, "-"):
		tgt, rest, err := s.parseSwitch(args)
		if err != nil {
			s.fail(err)
			return nil
		}
		if len(rest) == 0 {
			s.tgt = tgt
			return nil
		}
		return s.command(ctx, tgt, rest)
	}
	return s.command(ctx, s.tgt, args)
}

// parseSwitch parses a switch line: the target it names and the command
// that follows it, if any.
func (s *session) parseSwitch(args [][]byte) (target, [][]byte, error) {
	switch sw := string(args[0]); sw {
	case "-auto":
		return target{}, args[1:], nil
	case "-all":
		return target{kind: onAll}, args[1:], nil
	case "-partition", "-node":
		if len(args) < 2 {
			return target{}, nil, fmt.Errorf("%s needs a value (help lists the switches)", sw)
		}
		if sw == "-node" {
			tgt, err := nodeTarget(s.r, string(args[1]))
			return tgt, args[2:], message(err)
		}
		p, err := strconv.Atoi(string(args[1]))
		if err != nil {
			return target{}, nil, fmt.Errorf("-partition %q: want a partition number", args[1])
		}
		tgt, err := partitionTarget(s.r, p)
		return tgt, args[2:], message(err)
	}
	return target{}, nil, fmt.Errorf("%s: no such switch (help lists them)", args[0])
}

// command runs args on tgt and prints the answer; at the prompt, where it
// runs first.
func (s *session) command(ctx context.Context, tgt target, args [][]byte) error {
	c := s.c
	name := strings.ToLower(string(args[0]))
	if streaming[name] {
		s.fail(message(errStreaming(name)))
		return nil
	}
	if tgt.kind == onAll && destructive[name] && !c.o.yes {
		// The answer may be read from the input that args still point into.
		args = cloneArgs(args)
		if err := s.ask(c.allQuestion(s.r, name)); err != nil {
			s.fail(message(err))
			return nil
		}
	}
	if s.prompt && tgt.kind != onAll {
		if where := s.where(ctx, tgt, args); where != "" {
			fmt.Fprintf(c.stdout, "-> %s\n", where)
		}
	}
	err := c.runOnce(ctx, s.r, tgt, args, s.msgPrefix(""))
	switch {
	case err == nil:
	case errors.Is(err, errAnswered):
		s.failed = true
	case ctx.Err() != nil:
		return errInterrupted(ctx)
	case errors.Is(err, route.ErrNoKeys):
		s.fail(fmt.Errorf("%s has no key to route by: run it with -partition N, -node NAME or -all (help lists them)", strings.ToUpper(name)))
	default:
		s.fail(message(err))
	}
	return nil
}

// message returns the error an *mainutil.ExitError carries, for a
// session to print as a message and go on; other errors as they are.
func message(err error) error {
	var ee *mainutil.ExitError
	if errors.As(err, &ee) && ee.Err != nil {
		return ee.Err
	}
	return err
}

// where names the node args runs on under tgt, for the prompt: a node,
// or the partitions of a split command; "" when the command has no home
// (Redis rejects it anywhere) or cannot be routed (the command's error
// says why).
func (s *session) where(ctx context.Context, tgt target, args [][]byte) string {
	if n := tgt.nodeOf(ctx, s.r); n != nil {
		return describeNode(*n)
	}
	rt, err := s.r.Route(ctx, args)
	switch {
	case err != nil || rt.Anywhere:
		return ""
	case rt.Split:
		parts := slices.Sorted(slices.Values(rt.Parts))
		var nums, names []string
		for _, p := range slices.Compact(parts) {
			nums = append(nums, strconv.Itoa(p))
			names = append(names, s.r.MasterOf(ctx, p).Name)
		}
		return fmt.Sprintf("partitions %s (split: %s)", strings.Join(nums, ", "), strings.Join(names, ", "))
	}
	return describeNode(s.r.MasterOf(ctx, rt.Partition))
}

// cloneArgs copies args and each argument.
func cloneArgs(args [][]byte) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = bytes.Clone(a)
	}
	return out
}
