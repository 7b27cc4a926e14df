// Command twinebench measures how well a supervisor keeps a Twine host's
// redis-servers alive: kill -9 of a node → PONG from its replacement,
// SIGSTOP (a hung node) → PONG from a replacement, cold start of N nodes →
// all answer, and the supervisor's own CPU and memory with N idle nodes.
// It measures twined, and monit and supervisord (when installed) with the
// same method, on free 127.0.0.1 ports in a temporary directory, and
// leaves nothing running.
//
// Two scenarios measure fail-over in a replica set spread over three
// hosts (127.0.0.1-3, each with its own twined and Sentinel), whatever
// -supervisor says: failover (kill -9 of the master → a replica accepting
// writes, under twined and, as the peer in the same run, under plain Redis
// Sentinel with no supervisor) and hostlost (a whole host's twined, master
// and Sentinel killed → a replica accepting writes, twined only); both
// also count the acknowledged writes the new master lacks.
//
// The cluster scenario builds one cluster over many hosts (-hosts, default
// 8, on 127.0.0.1-8; -n data nodes in all, default 256) with a status node
// and a twined per host, and measures the twineds' idle CPU (together, and
// the alpha's alone), the status node's traffic, a whole host SIGKILLed →
// `twined -status -cluster` reporting HALT, and that command's run time.
//
// The backup scenario fills a single-host cluster's partitions with keys
// and measures `twined -backup` (how long writes were paused, the whole
// run) and `twined -restore` of it, against redis-server loading the same
// RDB files with no supervisor.
//
//	go run ./cmd/twinebench [-scenario all|floor|kill|sigstop|portfree|startfloor|coldstart|pingfloor|idle|failover|hostlost|cluster|backup]
//	    [-supervisor twined|monit|supervisord|all] [-n N] [-trials T] [-hosts H]
//	    [-duration 60s] [-twined PATH] [-redis-server PATH] [-json] [-keep]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"
)

func main() {
	if isReaper() {
		os.Exit(reap(os.Args[1:], os.Stdout, os.Stderr))
	}
	if isPingFloor() {
		os.Exit(pingFloor(os.Args[1:], os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "twinebench:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "twinebench:", err)
		os.Exit(1)
	}
}

// errUsage marks a bad command line (exit code 2).
var errUsage = errors.New("usage")

// redisServerEnv names the environment variable that picks redis-server,
// as in the tests.
const redisServerEnv = "TWINE_REDIS_SERVER"

// options are the command-line flags.
type options struct {
	scenario   string
	supervisor string
	nodes      int
	trials     int
	duration   time.Duration
	hosts      int
	twined     string
	redis      string
	json       bool
	keep       bool
}

// run parses args, runs the scenarios and writes the tables (or JSON) to
// stdout and progress to stderr. A measurement that fails is reported in
// its row and makes run return an error at the end; a missed target does
// not.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	mainutil.QuietRedis() // the fail-over scenarios' clients report failures as errors
	scs, err := parseScenarios(o.scenario)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	names, err := parseSystems(o.supervisor)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	redis, err := findRedis(o.redis)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "twinebench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintf(stderr, "keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	b := &bench{tmp: tmp, redis: redis, twined: o.twined, duration: o.duration, hosts: o.hosts, keep: o.keep, progress: stderr}
	rep := report{Command: commandLine(os.Args[0], args), Load: loadAverage(), CPUs: runtime.NumCPU()}
	if !o.json {
		fmt.Fprintf(stdout, "command: %s\nload average at start: %s (%d CPUs)\n", rep.Command, rep.Load, rep.CPUs)
	}
	var failed int
	for _, sc := range scs {
		var rs []result
		if sc.Direct {
			rs = measure(ctx, b, sc, nil, "none", o)
		} else {
			for _, name := range sc.systems(names) {
				if ctx.Err() != nil {
					break
				}
				rs = append(rs, measureSystem(ctx, b, sc, name, o)...)
			}
		}
		for _, r := range rs {
			if r.Failed {
				failed++
			}
		}
		rep.Results = append(rep.Results, rs...)
		if !o.json {
			printTable(stdout, sc, rs)
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.LoadEnd = loadAverage()
	if o.json {
		if err := printJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "\nload average at end: %s\n", rep.LoadEnd)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d measurements failed (see their notes)", failed)
	}
	return nil
}

// parseOptions parses the command line. Errors wrap errUsage, except
// flag.ErrHelp for -h.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("twinebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.scenario, "scenario", "all", "floor, kill, sigstop, portfree, startfloor, coldstart, pingfloor, idle, failover, hostlost, cluster, backup, a comma-separated list, or all")
	fs.StringVar(&o.supervisor, "supervisor", "twined", "twined, monit, supervisord, a comma-separated list, or all (failover always measures twined and plain sentinel, hostlost and cluster twined)")
	fs.IntVar(&o.nodes, "n", 0, "nodes per cluster (0 = the scenario's default: kill 32, sigstop 32, portfree 8, startfloor and coldstart 64, pingfloor and idle 256, cluster 256 data nodes over all its hosts; floor always 1, failover and hostlost always 3)")
	fs.IntVar(&o.trials, "trials", 0, "trials per measurement (0 = the scenario's default: kill one per node, sigstop, startfloor, coldstart and failover 5, floor 20, hostlost and cluster 3)")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long the idle, pingfloor and cluster scenarios measure idle cost (in windows of 10s)")
	fs.IntVar(&o.hosts, "hosts", len(fleetHosts), fmt.Sprintf("hosts of the cluster scenario, 3 to %d (127.0.0.1 and up, a twined each)", len(fleetHosts)))
	fs.StringVar(&o.twined, "twined", "", "twined binary to measure (default: build ./cmd/twined)")
	fs.StringVar(&o.redis, "redis-server", "", "redis-server binary (default: $"+redisServerEnv+", else redis-server on PATH)")
	fs.BoolVar(&o.json, "json", false, "write the results as JSON")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, logs) and print its path")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: twinebench [flags]\n\nMeasures twined (and monit, supervisord) on N redis nodes on 127.0.0.1,\nfail-over of a replica set on 127.0.0.1-3 (twined and plain Redis Sentinel),\nand one cluster over many hosts on 127.0.0.1-8 (a twined each, a status node).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case o.nodes < 0 || o.trials < 0:
		return o, fmt.Errorf("%w: -n and -trials must not be negative", errUsage)
	case o.duration < time.Second:
		return o, fmt.Errorf("%w: -duration must be at least 1s", errUsage)
	case o.hosts < 3 || o.hosts > len(fleetHosts):
		return o, fmt.Errorf("%w: -hosts must be 3 to %d", errUsage, len(fleetHosts))
	}
	if o.twined != "" {
		p, err := exec.LookPath(o.twined)
		if err == nil {
			p, err = filepath.Abs(p)
		}
		if err != nil {
			return o, fmt.Errorf("%w: -twined: %w", errUsage, err)
		}
		o.twined = p
	}
	return o, nil
}

// measureSystem runs one scenario against the named supervisor, building
// twined first when needed. A name outside systemNames is a peer the
// scenario runs itself, with no supervisor (sys nil).
func measureSystem(ctx context.Context, b *bench, sc scenario, name string, o options) []result {
	if !slices.Contains(systemNames, name) {
		return measure(ctx, b, sc, nil, name, o)
	}
	if name == "twined" && b.twined == "" {
		bin, err := buildTwined(ctx, b.tmp)
		if err != nil {
			return []result{{Scenario: sc.Name, Supervisor: name, Note: err.Error(), Failed: true}}
		}
		b.twined = bin
	}
	sys, err := newSystem(name, b.twined)
	if err != nil {
		return []result{{Scenario: sc.Name, Supervisor: name, Note: err.Error(), Failed: !errors.Is(err, errNotInstalled)}}
	}
	return measure(ctx, b, sc, sys, name, o)
}

// measure runs one scenario against sys (nil for a direct scenario or a
// peer without supervisor) and fills in the rows' common fields.
func measure(ctx context.Context, b *bench, sc scenario, sys system, name string, o options) []result {
	n := sc.Nodes
	if o.nodes > 0 && !sc.FixedNodes {
		n = o.nodes
	}
	trials := sc.Trials(b, n)
	if o.trials > 0 {
		trials = o.trials
	}
	base := result{Scenario: sc.Name, Supervisor: name, Nodes: n, Load: loadAverage()}
	b.logf("%s: %s, %d nodes, %d trials (load %s)", sc.Name, name, n, trials, base.Load)
	rs, err := sc.Run(ctx, b, sys, base, trials)
	if len(rs) == 0 {
		rs = []result{base}
	}
	if err != nil {
		for i := range rs {
			rs[i].Note = notes(rs[i].Note, err.Error())
			rs[i].Failed = true
		}
		b.logf("%s: %s: %v", sc.Name, name, err)
	}
	return rs
}

// findRedis returns the absolute path of the redis-server to run: flag,
// else $TWINE_REDIS_SERVER, else redis-server on PATH.
func findRedis(flagValue string) (string, error) {
	name := flagValue
	if name == "" {
		name = os.Getenv(redisServerEnv)
	}
	if name == "" {
		name = "redis-server"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("find redis-server: %w (apt-get install -y redis-server, or -redis-server PATH, or $%s)", err, redisServerEnv)
	}
	return filepath.Abs(p)
}
