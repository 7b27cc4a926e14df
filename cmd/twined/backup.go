package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/twine/twine/cmd/internal/mainutil"
	"github.com/twine/twine/config/route/backup"
)

// runBackup is `twined -backup DIR`: one consistent cut of every
// partition's master into DIR/twine-YYYYMMDDTHHMMSSZ/, checked, with its
// manifest written last. The last line of the output is the backup's
// path. It talks to the nodes over the network, so it runs from any
// machine holding twine.conf.
func runBackup(ctx context.Context, o options, stdout, stderr io.Writer) error {
	c, _, err := loadConfig(o.config)
	if err != nil {
		return &mainutil.ExitError{Code: 2, Err: err}
	}
	password, err := c.Settings().RedisPassword()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.backup, 0o750); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	p := newProgress(stdout, c.Partitions())
	begin := time.Now()
	var mu sync.Mutex
	waiting := func(node, why string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, "waiting for %s: it is %s (Redis forks one child at a time; the cut waits outside the pause)\n", node, why)
	}
	m, dir, err := backup.Run(ctx, backup.Options{Cluster: c, Password: password, Dir: o.backup, Progress: p.update, Waiting: waiting})
	p.finish()
	if err != nil {
		return fmt.Errorf("%w; no backup was made", err)
	}
	fmt.Fprintf(stdout, "%d partitions, %d keys, %s in %s; writes paused %.1f ms at %s; every snapshot checked by redis-check-rdb\n",
		m.Partitions, m.Keys, bytesText(m.Bytes), time.Since(begin).Round(time.Millisecond), m.PauseMS, m.Time.Format(time.RFC3339))
	fmt.Fprintln(stdout, dir)
	return nil
}

// progress shows a backup's transfers on a terminal (one line rewritten),
// and nothing when the output is piped (the summary line says it all).
type progress struct {
	w     io.Writer
	tty   bool
	parts int

	mu    sync.Mutex
	bytes map[int]int64
	done  int
	begin time.Time
	last  time.Time
}

func newProgress(w io.Writer, parts int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, parts: parts, bytes: map[int]int64{}, begin: time.Now()}
}

// update records a partition's bytes; safe for concurrent use.
func (p *progress) update(partition int, n int64, done bool) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes[partition] = n
	if done {
		p.done++
	}
	if now := time.Now(); done || now.Sub(p.last) >= 200*time.Millisecond {
		p.last = now
		var total int64
		for _, b := range p.bytes {
			total += b
		}
		rate := float64(total) / max(now.Sub(p.begin).Seconds(), 0.001)
		fmt.Fprintf(p.w, "\r%d/%d partitions, %s, %s/s   ", p.done, p.parts, bytesText(total), bytesText(int64(rate)))
	}
}

func (p *progress) finish() {
	if p.tty && p.done > 0 {
		fmt.Fprintln(p.w)
	}
}

// runBackups is `twined -backups DIR`: the backups there, oldest first.
func runBackups(o options, stdout io.Writer) error {
	list, err := backup.List(o.backups)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKUP\tTIME\tPARTITIONS\tKEYS\tSIZE\tPAUSE\tSTATE")
	for _, l := range list {
		if l.Manifest == nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\tnot a backup: no manifest (an interrupted run?)\n", l.Path)
			continue
		}
		m := l.Manifest
		state := "complete (manifest present; -verify re-checks the files)"
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%.1fms\t%s\n", l.Path, m.Time.Format(time.RFC3339), m.Partitions, m.Keys, bytesText(m.Bytes), m.PauseMS, state)
	}
	return tw.Flush()
}

// runVerify is `twined -verify PATH`: every file of a backup against its
// manifest (size, SHA-256) and redis-check-rdb; exit 1 on any mismatch.
func runVerify(ctx context.Context, o options, stdout io.Writer) error {
	m, err := backup.Read(o.verify)
	if err != nil {
		return err
	}
	c, _, cerr := loadConfig(o.config)
	check := ""
	if cerr == nil {
		check, err = backup.FindCheckRDB(c)
	} else {
		check, err = backup.FindCheckRDB(nil)
	}
	if err != nil {
		return err
	}
	if err := backup.Verify(ctx, o.verify, m, check); err != nil {
		return fmt.Errorf("%s does not verify:\n%w", o.verify, err)
	}
	fmt.Fprintf(stdout, "%s: ok: %d partitions, %d keys, %s; every file matches its checksum and redis-check-rdb reads it\n",
		o.verify, m.Partitions, m.Keys, bytesText(m.Bytes))
	if cerr == nil {
		if err := m.Fits(c); err != nil {
			fmt.Fprintf(stdout, "but it does not fit %s: %v\n", c.File(), err)
		}
	}
	return nil
}
