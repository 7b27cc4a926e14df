package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/alert"
	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
	"github.com/twine/twine/supervisor/cluster"
	"github.com/twine/twine/templates"
)

// runDaemon runs the host's nodes until ctx ends (SIGTERM, SIGINT), then
// stops them all and returns nil. SIGHUP, or a change of the config file,
// reloads the config.
func runDaemon(ctx context.Context, o options, stderr io.Writer) error {
	// twined's heap is small and long-lived (a few watchers per node, a
	// few kB each) and it allocates little once up: collect at 50% growth,
	// not 100%, so a host of hundreds of nodes idles in less memory. GOGC
	// set in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	c, demo, err := loadConfig(o.config)
	if err != nil {
		return err
	}
	log, err := newLogger(o, c.Settings().LogLevel, stderr)
	if err != nil {
		return &mainutil.ExitError{Code: 2, Err: err}
	}
	host, err := resolveHost(c, o.host)
	if err != nil {
		return err
	}
	s := c.Settings()
	if demo {
		if err := writeDemoCopy(c, log); err != nil {
			return err
		}
	} else {
		log.Info("starting", "config", c.File(), "host", host, "version", version())
	}
	sd := newSystemd(log) // before any node starts: takes NOTIFY_SOCKET out of their environment
	m := newMetrics()
	sup, err := supervisor.New(supervisor.Options{Cluster: c, Host: host, Logger: log, ObserveCheck: m.observeCheck})
	if err != nil {
		return err
	}
	m.snapshot = sup.Snapshot
	// With status nodes, the alpha mails every node incident of the
	// cluster; a host's own alerter mails them only while the status node
	// does not answer (and its one-off notes always).
	var member *cluster.Member
	var web *httpd // set before any alert runs; holds the config in force
	covered := func() (bool, string) {
		if member == nil {
			return false, ""
		}
		if time.Since(member.Contact()) > web.cluster.Load().Settings().HostTTL {
			return false, "The status node does not answer: this host mails its own alerts, and no alpha groups them with the other hosts'."
		}
		return true, ""
	}
	al, err := alert.New(alert.Options{Settings: c.Settings(), Host: host, ConfigFile: c.File(), Logger: log.Named("alert"),
		State: alert.StateFile(s.Dir, host), Covered: covered})
	if err != nil {
		return err
	}
	// The alerts subscribe before Start, so that start-up failures are
	// seen, and run after it: their first snapshot holds every node (an
	// incident kept from before a restart is of a node in it, not of one
	// removed from twine.conf).
	alertsDone := make(chan struct{})
	alertCtx, stopAlerts := context.WithCancel(context.Background())
	defer stopAlerts()
	alertEvents := sup.Subscribe(max(1024, 4*len(c.NodesOn(host))))
	startAlerts := func() {
		go func() {
			defer close(alertsDone)
			al.Run(alertCtx, alertEvents.C, sup.Snapshot)
		}()
	}
	web, err = newHTTPD(c, o.listenAddr(c), sup, m, log)
	if err != nil {
		return fmt.Errorf("%w (is another twined running for this host?)", err)
	}
	memberDone := make(chan struct{})
	memberCtx, stopMember := context.WithCancel(context.Background())
	startCluster := func() { close(memberDone) } // the cluster view starts once the nodes do
	if len(c.StatusNodes()) > 0 {
		password, err := c.Settings().RedisPassword()
		if err != nil {
			stopMember()
			return err
		}
		member, err = cluster.New(cluster.Options{Cluster: c, Host: host, Snapshot: sup.Snapshot, Password: password,
			Version: version(), HTTPD: publishedAddr(web.addr(), host), Logger: log.Named("cluster")})
		if err != nil {
			stopMember()
			return err
		}
		web.member, m.member = member, member
		ca := &clusterAlerts{member: member, cluster: web.cluster.Load, host: host, log: log.Named("alert").Named("cluster")}
		startCluster = func() {
			go func() {
				defer close(memberDone)
				leaseCtx, stopLease := context.WithCancel(context.Background())
				alertsCtx, stopClusterAlerts := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				wg.Go(func() { member.Run(leaseCtx) })
				alerted := make(chan struct{})
				wg.Go(func() { defer close(alerted); ca.run(alertsCtx) })
				<-memberCtx.Done()
				// The cluster alerts end first: their last incidents are
				// saved (fenced) while this twined may still hold the
				// lease, which is given up only after.
				stopClusterAlerts()
				<-alerted
				stopLease()
				wg.Wait()
			}()
		}
	}
	clusterStarted := false
	defer func() {
		stopMember()
		if clusterStarted {
			<-memberDone
		}
	}()
	go web.serve()
	defer web.shutdown()
	log.Info("status listener", "url", "http://"+web.addr()+"/", "control", !web.readOnly)
	begin := time.Now()
	if err := sup.Start(); err != nil {
		return err
	}
	startAlerts()
	startCluster()
	clusterStarted = true
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

	var wg sync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(ctx)
	if demo {
		wg.Go(func() {
			for {
				select {
				case <-loopCtx.Done():
					return
				case <-hup:
					log.Info("SIGHUP: the embedded demo config has nothing to reload")
				}
			}
		})
	} else {
		r := &reloader{
			path: c.File(), log: log.Named("reload"), hup: hup,
			apply: func(ctx context.Context, next *config.Cluster) {
				sd.reloading()
				if applyConfig(ctx, next, sup, web, log, o.logLevel) {
					al.SetSettings(next.Settings())
				}
				sd.reloaded()
			},
			invalid: func(err error) { sup.ReportInvalidConfig(c.File(), err) },
		}
		r.last, _ = os.ReadFile(c.File())
		wg.Go(func() { r.run(loopCtx) })
	}

	<-ctx.Done()
	stopLoops()
	wg.Wait()
	stopMember() // gives the alpha lease up, so another twined takes it at once
	<-memberDone
	clusterStarted = false
	sd.stop(len(sup.Snapshot().Nodes))
	log.Info("stopping every node", "nodes", len(sup.Snapshot().Nodes), "stop_timeout", s.StopTimeout)
	begin = time.Now()
	// The alerts stop watching before the nodes stop: a node stopped for
	// twined's exit is no incident's end. An incident open now stays open
	// in the state file, so that the next twined neither mails it again
	// nor forgets its recovery.
	stopAlerts()
	<-alertsDone
	alertEvents.Cancel()
	err = sup.Close()
	if aerr := al.Close(); aerr != nil {
		log.Warn("alerts not delivered at exit stay spooled", "error", aerr)
	}
	log.Info("stopped", "elapsed", time.Since(begin).Round(time.Millisecond))
	return err
}

// publishedAddr is the listener address other machines reach: a wildcard
// listen address is reached at the host's name.
func publishedAddr(addr, host string) string {
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if h == "" || h == "0.0.0.0" || h == "::" {
		return net.JoinHostPort(host, port)
	}
	return addr
}

// applyConfig hands a valid new config to the supervisor and the parts of
// twined that read settings; a refused reload changes nothing. It reports
// whether the config was applied.
func applyConfig(ctx context.Context, c *config.Cluster, sup *supervisor.Supervisor, web *httpd, log hclog.Logger, flagLevel string) bool {
	old := web.cluster.Load()
	if _, err := sup.Reload(ctx, c); err != nil {
		log.Error("reload refused; keeping the running nodes", "error", err)
		sup.ReportInvalidConfig(c.File(), err)
		return false
	}
	web.cluster.Store(c)
	if web.member != nil {
		if len(c.StatusNodes()) == 0 {
			log.Warn("the status lines are gone; the cluster view stops at the next twined restart")
		} else if err := web.member.SetCluster(c); err != nil {
			log.Warn("the cluster view keeps the config of before", "error", err)
		}
	}
	if c.Settings().HTTPD != old.Settings().HTTPD && !web.flagAddr {
		log.Warn("set httpd changed; the listener moves at the next twined restart", "listening", old.Settings().HTTPD, "configured", c.Settings().HTTPD)
	}
	if flagLevel == "" {
		level := hclog.LevelFromString(c.Settings().LogLevel)
		if level == hclog.NoLevel {
			level = hclog.Info
		}
		if level != log.GetLevel() {
			log.SetLevel(level)
			log.Info("log level changed", "level", level.String())
		}
	}
	return true
}

// writeDemoCopy writes the demo config under its data dir and says, in
// twined's first log line, how to reach the demo cluster.
func writeDemoCopy(c *config.Cluster, log hclog.Logger) error {
	s := c.Settings()
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
	return nil
}

// newLogger builds twined's root logger from -log-level and -log-format.
// The -log-level flag wins over `set log-level`; without either, info.
func newLogger(o options, configLevel string, w io.Writer) (hclog.Logger, error) {
	name := o.logLevel
	if name == "" {
		name = configLevel
	}
	if name == "" {
		name = "info"
	}
	level := hclog.LevelFromString(name)
	if level == hclog.NoLevel {
		return nil, fmt.Errorf("-log-level %q: want trace, debug, info, warn or error", name)
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
