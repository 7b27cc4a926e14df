package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/config"
)

// reloadDebounce is how long the config file must stay quiet after a
// change before it is reloaded: an editor's write-and-rename, or many
// rapid saves, make one reload.
var reloadDebounce = 300 * time.Millisecond

// reloader reloads twine.conf on SIGHUP and when the file changes. It
// watches the file's directory, not the file, so that editors that write
// a new file and rename it over the old one are seen, and it keeps
// watching after an invalid save.
type reloader struct {
	path  string // the config file, absolute
	log   hclog.Logger
	hup   <-chan os.Signal
	apply func(ctx context.Context, c *config.Cluster) // applies a valid new config
	// invalid is told about a config that failed to load.
	invalid func(err error)
	last    []byte // the content last applied
}

// run reloads until ctx ends.
func (r *reloader) run(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		r.log.Error("cannot watch the config file; reload with SIGHUP", "error", err)
	} else {
		defer w.Close()
		if err := w.Add(filepath.Dir(r.path)); err != nil {
			r.log.Error("cannot watch the config file; reload with SIGHUP", "dir", filepath.Dir(r.path), "error", err)
		}
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		events, errs = w.Events, w.Errors
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.hup:
			r.log.Info("SIGHUP: reloading", "config", r.path)
			r.reload(ctx, true)
		case e, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if filepath.Clean(e.Name) == r.path && !e.Has(fsnotify.Chmod) {
				debounce.Reset(reloadDebounce)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			r.log.Warn("config watch", "error", err)
		case <-debounce.C:
			r.reload(ctx, false)
		}
	}
}

// reload loads the config; an invalid one is logged, error by error, and
// changes nothing. An unchanged file is skipped unless forced (SIGHUP).
func (r *reloader) reload(ctx context.Context, forced bool) {
	b, err := os.ReadFile(r.path)
	if errors.Is(err, os.ErrNotExist) && !forced {
		return // removed, perhaps about to be renamed over: wait for it
	}
	if err == nil && !forced && bytes.Equal(b, r.last) {
		r.log.Debug("config file touched but unchanged", "config", r.path)
		return
	}
	var c *config.Cluster
	if err == nil {
		c, err = config.Parse(r.path, b)
	}
	if err != nil {
		var list *config.ErrorList
		if errors.As(err, &list) {
			for _, e := range list.Errors {
				r.log.Error("invalid config; keeping the running nodes", "error", e.Error())
			}
		} else {
			r.log.Error("invalid config; keeping the running nodes", "error", err)
		}
		r.invalid(err)
		return
	}
	r.last = b
	r.apply(ctx, c)
}
