package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config"
	"github.com/twine/twine/templates"
)

// DefaultConfig is the config file twined reads when -config is not given.
const DefaultConfig = "/etc/twine/twine.conf"

// defaultConfig is DefaultConfig, replaced by tests.
var defaultConfig = DefaultConfig

// options are twined's parsed flags.
type options struct {
	config    string
	host      string
	check     bool
	setup     bool
	version   bool
	logLevel  string
	logFormat string
	status    bool
	testAlert bool
	format    string
	action    string // stop, start or restart: -stop/-start/-restart given
	target    string // the node named by -stop/-start/-restart, or "all"
	httpd     string // -httpd: the listener address, overriding set httpd
	failover  string // -failover P: the partition (or "status") to switch over
	cluster   bool   // -status -cluster: the whole cluster, from the status node
	backup    string // -backup DIR
	backups   string // -backups DIR
	verify    string // -verify PATH
	restore   string // -restore PATH
	partition int    // -partition P with -restore; -1 = every partition
	yes       bool   // -yes: no confirmation asked
}

// listenAddr is the daemon's status/control address: -httpd, else the
// config's set httpd.
func (o options) listenAddr(c *config.Cluster) string {
	if o.httpd != "" {
		return o.httpd
	}
	return c.Settings().HTTPD
}

const usageHead = `Usage:
  twined [-config F] [-host H]          run the host's nodes in the foreground
  twined -check [-config F]             validate the config and exit: 0 ok, 1 invalid
  twined -setup [-config F] [-host H]   write node directories and redis.conf, exit
  twined -status [-format summary|list|json|xml|html]
                                        ask the running daemon; exit 0 OK,
                                        1 DEGRADED, 2 HALT, 3 UNKNOWN
  twined -status -cluster [-format F]   the whole cluster, read from the status
                                        node (no twined needed here); same codes
  twined -stop|-start|-restart NODE|all control nodes of the running daemon
  twined -failover P|status [-config F] hand partition P's mastership to its
                                        most up-to-date replica, losing no write
  twined -backup DIR [-config F]        one consistent cut of every partition into
                                        DIR/twine-TIME/, checked; prints its path last
  twined -backups DIR                   list the backups in DIR
  twined -verify PATH                   re-check a backup's files
  twined -restore PATH [-partition P] [-yes]
                                        put a backup back (asks first on a terminal)
  twined -test-alert [-config F]        send a test mail, print the server's answer
  twined -version

Without -config, twined reads ` + DefaultConfig + `, or runs a small demo
cluster on 127.0.0.1 (data under ./twine-data) when that file does not exist.

Flags:
`

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("twined", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "the cluster's twine.conf (default "+DefaultConfig+", else the demo)")
	fs.StringVar(&o.host, "host", "", "the host of twine.conf this twined serves (default: this machine's hostname, or the file's only host)")
	fs.BoolVar(&o.check, "check", false, "validate the config, print a summary and exit")
	fs.BoolVar(&o.setup, "setup", false, "create the host's node directories and redis.conf files, then exit")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.logLevel, "log-level", "", "log level: trace, debug, info, warn or error (default: set log-level of the config, else info)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text, or json for journald and log shippers")
	fs.BoolVar(&o.status, "status", false, "print the running daemon's status; exit 0 OK, 1 DEGRADED, 2 HALT, 3 UNKNOWN")
	fs.BoolVar(&o.testAlert, "test-alert", false, "send one test mail with the config's mail settings and print the server's answer")
	fs.StringVar(&o.format, "format", "summary", "-status format: summary, list, json, xml or html")
	fs.StringVar(&o.backup, "backup", "", "take a backup of the whole cluster into `DIR`/twine-YYYYMMDDTHHMMSSZ/")
	fs.StringVar(&o.backups, "backups", "", "list the backups in `DIR`")
	fs.StringVar(&o.verify, "verify", "", "re-check the backup at `PATH` against its manifest")
	fs.StringVar(&o.restore, "restore", "", "restore the backup at `PATH` (every partition, or -partition P)")
	fs.IntVar(&o.partition, "partition", -1, "with -restore: only partition `P`")
	fs.BoolVar(&o.yes, "yes", false, "with -restore: do not ask for confirmation")
	fs.BoolVar(&o.cluster, "cluster", false, "with -status: the whole cluster's status, read from the status node")
	fs.StringVar(&o.httpd, "httpd", "", "the daemon's status/control `HOST:PORT` (default: set httpd of the config); also where -status, -stop... ask")
	fs.StringVar(&o.failover, "failover", "", "switch partition `P` (or status) over to its most up-to-date replica, through Sentinel where one watches it")
	var stop, start, restart string
	fs.StringVar(&stop, "stop", "", "stop `NODE` (or all) cleanly; it stays stopped, across twined restarts, until -start")
	fs.StringVar(&start, "start", "", "start `NODE` (or all) stopped by -stop")
	fs.StringVar(&restart, "restart", "", "restart `NODE` cleanly (all: one at a time)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, &mainutil.ExitError{Code: 0}
		}
		return o, &mainutil.ExitError{Code: 2}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "twined: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return o, &mainutil.ExitError{Code: 2}
	}
	modes := 0
	for _, set := range []bool{o.check, o.setup, o.status, o.testAlert, o.failover != "", o.backup != "", o.backups != "", o.verify != "", o.restore != ""} {
		if set {
			modes++
		}
	}
	for _, a := range []struct{ name, target string }{{"stop", stop}, {"start", start}, {"restart", restart}} {
		if a.target != "" {
			o.action, o.target = a.name, a.target
			modes++
		}
	}
	if modes > 1 {
		fmt.Fprintln(stderr, "twined: -check, -setup, -status, -test-alert, -failover, -backup, -backups, -verify, -restore, -stop, -start and -restart exclude each other")
		return o, &mainutil.ExitError{Code: 2}
	}
	if (o.partition != -1 || o.yes) && o.restore == "" {
		fmt.Fprintln(stderr, "twined: -partition and -yes go with -restore")
		return o, &mainutil.ExitError{Code: 2}
	}
	if o.cluster && !o.status {
		fmt.Fprintln(stderr, "twined: -cluster goes with -status")
		return o, &mainutil.ExitError{Code: 2}
	}
	if o.httpd != "" {
		if err := checkHostPort(o.httpd); err != nil {
			fmt.Fprintf(stderr, "twined: -httpd %q: %v\n", o.httpd, err)
			return o, &mainutil.ExitError{Code: 2}
		}
	}
	if !slices.Contains(append(slices.Clone(statusFormats), "html"), o.format) {
		fmt.Fprintf(stderr, "twined: -format %q: want summary, list, json, xml or html\n", o.format)
		return o, &mainutil.ExitError{Code: 2}
	}
	return o, nil
}

// run is twined's whole life; main maps its error to an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	mainutil.QuietRedis()
	switch {
	case o.version:
		fmt.Fprintln(stdout, "twined", version())
		return nil
	case o.check:
		return runCheck(o, stdout)
	case o.setup:
		return runSetup(o, stdout)
	case o.status && o.cluster:
		return runClusterStatus(ctx, o, stdout)
	case o.status:
		return runStatus(ctx, o, stdout)
	case o.testAlert:
		return runTestAlert(ctx, o, stdout)
	case o.action != "":
		return runControl(ctx, o, stdout)
	case o.failover != "":
		return runFailover(ctx, o, stdout)
	case o.backup != "":
		return runBackup(ctx, o, stdout, stderr)
	case o.backups != "":
		return runBackups(o, stdout)
	case o.verify != "":
		return runVerify(ctx, o, stdout)
	case o.restore != "":
		return runRestore(ctx, o, stdout, stderr)
	}
	return runDaemon(ctx, o, stderr)
}

// checkHostPort validates a HOST:PORT flag value.
func checkHostPort(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want HOST:PORT")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// loadConfig reads the config named by -config, else DefaultConfig, else
// the embedded demo. demo reports that the demo was chosen.
func loadConfig(path string) (c *config.Cluster, demo bool, err error) {
	if path == "" {
		if _, err := os.Stat(defaultConfig); err == nil {
			path = defaultConfig
		}
	}
	if path != "" {
		c, err := config.Load(path)
		return c, false, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, true, fmt.Errorf("load demo config: %w", err)
	}
	c, err = config.Parse(filepath.Join(wd, "demo.twine.conf"), templates.DemoConfig())
	return c, true, err
}

// resolveHost picks the host to serve from -host and the machine's name.
func resolveHost(c *config.Cluster, flagHost string) (string, error) {
	hostname, _ := os.Hostname()
	return c.ResolveHost(flagHost, hostname)
}

// version is the module version twined was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
