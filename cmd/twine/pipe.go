package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config/route"
)

const (
	// maxShownErrors bounds the failures -pipe prints; the rest are
	// counted.
	maxShownErrors = 20
)

// progressEvery is the period of the progress line on a terminal;
// tests shorten it.
var progressEvery = 250 * time.Millisecond

// pipeReport collects what -pipe tells the operator: failures with their
// line numbers (the first maxShownErrors), and a progress line on a
// terminal. Its methods are safe for concurrent use.
type pipeReport struct {
	mu       sync.Mutex
	w        io.Writer // stderr
	shown    int
	refused  int64 // not sent: unparsable, refused by routing
	progress bool  // a progress line is on the screen
}

// fail prints the failure of the command on line, unless enough were
// printed already.
func (r *pipeReport) fail(line int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shown++
	if r.shown > maxShownErrors {
		return
	}
	r.clearLocked()
	var re *route.ReplyError
	if errors.As(err, &re) {
		fmt.Fprintf(r.w, "line %d: (error) %s\n", line, re.Msg)
	} else {
		fmt.Fprintf(r.w, "line %d: %v\n", line, err)
	}
	if r.shown == maxShownErrors {
		fmt.Fprintf(r.w, "(only the first %d failures are shown)\n", maxShownErrors)
	}
}

// refuse counts and prints a command that was not sent.
func (r *pipeReport) refuse(line int64, err error) {
	r.mu.Lock()
	r.refused++
	r.mu.Unlock()
	r.fail(line, err)
}

// show replaces the progress line.
func (r *pipeReport) show(st route.PipeStats, start time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, "\r\033[K%d sent, %d answered, %d errors, %.0f commands/s",
		st.Sent, st.Done, st.Errors+r.refused, rate(st.Done, time.Since(start)))
	r.progress = true
}

// clearLocked erases the progress line.
func (r *pipeReport) clearLocked() {
	if r.progress {
		fmt.Fprint(r.w, "\r\033[K")
		r.progress = false
	}
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// runPipe reads commands from stdin, one per line in redis-cli's quoting,
// sends them pipelined (see route.Pipe), and prints a report: counts,
// errors, time and throughput. It exits 1 when any command failed or was
// not sent.
func (c *cli) runPipe(ctx context.Context) error {
	if os.Getenv("GOGC") == "" {
		// Bulk traffic allocates fast and keeps little: collecting less
		// often saves CPU for a few MB more memory.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	r, tgt, closeRouter, err := c.openTarget(ctx, route.Options{ReadTimeout: time.Minute})
	if err != nil {
		return err
	}
	defer closeRouter()
	rep := &pipeReport{w: c.stderr}
	p := r.NewPipe(ctx, route.PipeOptions{Target: tgt.nodeOf(ctx, r), OnError: rep.fail})
	start := time.Now()

	stopProgress := func() {}
	if isTerminal(c.stderr) {
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			tick := time.NewTicker(progressEvery)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					rep.show(p.Stats(), start)
				case <-done:
					return
				}
			}
		})
		stopProgress = func() { close(done); wg.Wait() }
	}

	readErr := c.feed(p, rep)
	st := p.Close()
	elapsed := time.Since(start)
	stopProgress()
	rep.mu.Lock()
	rep.clearLocked()
	refused := rep.refused
	rep.mu.Unlock()

	fmt.Fprintf(c.stdout, "commands: %d\n", st.Sent+refused)
	fmt.Fprintf(c.stdout, "replies:  %d\n", st.Done)
	fmt.Fprintf(c.stdout, "errors:   %d", st.Errors+refused)
	if refused > 0 {
		fmt.Fprintf(c.stdout, " (%d not sent)", refused)
	}
	fmt.Fprintf(c.stdout, "\ntime:     %.3fs\n", elapsed.Seconds())
	fmt.Fprintf(c.stdout, "rate:     %.0f commands/s\n", rate(st.Done, elapsed))

	switch {
	case ctx.Err() != nil:
		return &mainutil.ExitError{Code: exitFailure, Err: fmt.Errorf("interrupted: %d commands not answered", st.Sent-st.Done)}
	case readErr != nil:
		return readErr
	case st.Errors+refused > 0:
		return &mainutil.ExitError{Code: exitFailure}
	}
	return nil
}

// feed sends stdin's commands to p, inline or RESP (see inputReader),
// each identified by the line it starts on. Commands that do not parse,
// and commands the router refuses (no key, keys across partitions), are
// reported and skipped; other errors (no node answers for the command
// table, stdin fails) stop the feed.
func (c *cli) feed(p *route.Pipe, rep *pipeReport) error {
	in := newInputReader(c.stdin) // Send copies what it keeps, so its buffers serve every command
	for {
		args, line, err := in.next()
		switch {
		case err == nil:
		case err == io.EOF:
			return nil
		case isInputError(err):
			rep.refuse(line, err)
			continue
		default:
			return fmt.Errorf("read stdin: %w", err)
		}
		if serr := p.Send(line, args); serr != nil {
			if !errors.Is(serr, route.ErrNoKeys) && !errors.Is(serr, route.ErrCrossPartition) {
				return serr
			}
			if errors.Is(serr, route.ErrNoKeys) {
				serr = fmt.Errorf("%w (give -partition N or -node NAME)", serr)
			}
			rep.refuse(line, serr)
		}
	}
}
