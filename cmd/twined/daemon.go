package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/supervisor"
	"github.com/twine/twine/templates"
)

// runDaemon runs the host's nodes until ctx ends (SIGTERM, SIGINT), then
// stops them all and returns nil.
func runDaemon(ctx context.Context, o options, stderr io.Writer) error {
	log, err := newLogger(o, stderr)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	silenceRedisLog()
	c, demo, err := loadConfig(o.config)
	if err != nil {
		return err
	}
	host, err := resolveHost(c, o.host)
	if err != nil {
		return err
	}
	s := c.Settings()
	if demo {
		if err := os.MkdirAll(s.Dir, 0o750); err != nil {
			return fmt.Errorf("create demo data dir: %w", err)
		}
		conf := filepath.Join(s.Dir, "twine.conf")
		if err := os.WriteFile(conf, templates.DemoConfig(), 0o644); err != nil {
			return fmt.Errorf("write demo config: %w", err)
		}
		first := c.Nodes()[0]
		log.Info("no -config and no "+DefaultConfig+": running the embedded demo cluster",
			"nodes", len(c.Nodes()), "data", s.Dir, "config_copy", conf,
			"try", fmt.Sprintf("redis-cli -p %d PING, or twine -config %s SET key value", first.Port, conf))
	} else {
		log.Info("starting", "config", c.File(), "host", host, "version", version())
	}
	sd := newSystemd(log) // before any node starts: takes NOTIFY_SOCKET out of their environment
	sup, err := supervisor.New(supervisor.Options{Cluster: c, Host: host, Logger: log})
	if err != nil {
		return err
	}
	begin := time.Now()
	if err := sup.Start(); err != nil {
		return err
	}
	sd.watch(sup)
	n := len(c.NodesOn(host))
	readyCtx, cancel := context.WithTimeout(ctx, max(10*time.Second, 3*s.CheckInterval))
	missing := sup.WaitReady(readyCtx)
	cancel()
	switch {
	case ctx.Err() != nil:
	case len(missing) == 0:
		log.Info("every node answers", "nodes", n, "host", host, "elapsed", time.Since(begin).Round(time.Millisecond))
	default:
		log.Warn("nodes not answering after startup", "count", len(missing), "of", n, "nodes", strings.Join(missing, ","))
	}
	sd.ready()
	<-ctx.Done()
	sd.stop(n)
	log.Info("stopping every node", "nodes", n, "stop_timeout", s.StopTimeout)
	begin = time.Now()
	err = sup.Close()
	log.Info("stopped", "elapsed", time.Since(begin).Round(time.Millisecond))
	return err
}

// newLogger builds twined's root logger from -log-level and -log-format.
func newLogger(o options, w io.Writer) (hclog.Logger, error) {
	level := hclog.LevelFromString(o.logLevel)
	if level == hclog.NoLevel {
		return nil, fmt.Errorf("-log-level %q: want trace, debug, info, warn or error", o.logLevel)
	}
	var json bool
	switch o.logFormat {
	case "text":
	case "json":
		json = true
	default:
		return nil, fmt.Errorf("-log-format %q: want text or json", o.logFormat)
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "twined",
		Level:      level,
		Output:     w,
		JSONFormat: json,
	}), nil
}
