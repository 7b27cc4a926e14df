package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/twine/twine/cmd/internal/mainutil"
)

// runPrompt reads commands at a prompt, as redis-cli does, with line
// editing and history (golang.org/x/term's Terminal), and runs each as
// twine COMMAND would, printing its answer after a line that names where
// it ran. The prompt names the target: "twine> " when routing by key,
// "twine partition 2> ", "twine node p2b> ", "twine all> ". quit, exit,
// Ctrl-D or Ctrl-C at the prompt end it, with status 0; a command cut off
// by Ctrl-C ends it with status 1.
//
// The terminal is in raw mode only while a line is read, so that Ctrl-C
// interrupts a command that blocks (BLPOP key 0) as it does outside the
// prompt. stdin and stdout must be terminals.
func (c *cli) runPrompt(ctx context.Context, s *session) error {
	in, out := c.stdin.(*os.File), c.stdout.(*os.File)
	s.prompt = true
	hist := loadHistory(historyPath())
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{newCtxReader(ctx, in), out}, "")
	t.History = hist
	readLine := func(prompt string) (string, error) {
		t.SetPrompt(prompt)
		if w, h, err := term.GetSize(int(out.Fd())); err == nil && w > 0 {
			t.SetSize(w, h)
		}
		state, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return "", fmt.Errorf("terminal: %w", err)
		}
		line, err := t.ReadLine()
		term.Restore(int(in.Fd()), state)
		return line, err
	}
	s.ask = func(what string) error {
		hist.paused = true
		defer func() { hist.paused = false }()
		line, err := readLine(what + ": type yes to go ahead: ")
		if err != nil || strings.TrimSpace(line) != "yes" {
			return &mainutil.ExitError{Code: exitFailure, Err: errNotConfirmed}
		}
		return nil
	}
	var ap argParser
	for !s.quit {
		line, err := readLine(promptText(s.tgt))
		if herr := hist.takeErr(); herr != nil {
			fmt.Fprintf(c.stderr, "twine: history not saved: %v\n", herr)
		}
		switch {
		case ctx.Err() != nil:
			return errInterrupted(ctx)
		case err == io.EOF: // Ctrl-D, Ctrl-C
			fmt.Fprintln(out)
			return nil
		case err != nil:
			return fmt.Errorf("read the terminal: %w", err)
		}
		args, err := ap.split([]byte(line))
		if err != nil {
			s.fail(err)
			continue
		}
		if err := s.exec(ctx, args); err != nil {
			return err
		}
	}
	return nil
}

// promptText is the prompt for target t.
func promptText(t target) string {
	if name := t.String(); name != "" {
		return "twine " + name + "> "
	}
	return "twine> "
}

// ctxReader reads from r in a goroutine of its own, so that a Read that
// waits for input returns when ctx ends: a read from a terminal cannot be
// cancelled. Read must be called from one goroutine. The reading
// goroutine ends once ctx is done and its last read returns, or when r
// fails.
type ctxReader struct {
	ctx     context.Context
	want    chan int // the size of the next read, to the goroutine
	got     chan readResult
	pending []byte // read and not yet returned
	err     error  // r's error, returned once pending is empty
}

// readResult is one read of a ctxReader's goroutine.
type readResult struct {
	b   []byte
	err error
}

// newCtxReader starts reading r for Reads that end with ctx.
func newCtxReader(ctx context.Context, r io.Reader) *ctxReader {
	cr := &ctxReader{ctx: ctx, want: make(chan int), got: make(chan readResult, 1)}
	go func() {
		var buf []byte
		for {
			select {
			case n := <-cr.want:
				if cap(buf) < n {
					buf = make([]byte, n)
				}
				k, err := r.Read(buf[:n])
				cr.got <- readResult{buf[:k], err} // buffered: never blocks
				if err != nil {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return cr
}

// Read returns what r gives, or ctx's error once ctx is done.
func (cr *ctxReader) Read(p []byte) (int, error) {
	if err := cr.ctx.Err(); err != nil {
		return 0, err
	}
	if len(cr.pending) == 0 && cr.err == nil {
		select {
		case cr.want <- min(len(p), 1<<20):
		case <-cr.ctx.Done():
			return 0, cr.ctx.Err()
		}
		select {
		case res := <-cr.got:
			cr.pending, cr.err = res.b, res.err
		case <-cr.ctx.Done():
			return 0, cr.ctx.Err()
		}
	}
	if len(cr.pending) > 0 {
		n := copy(p, cr.pending)
		cr.pending = cr.pending[n:]
		return n, nil
	}
	return 0, cr.err
}
