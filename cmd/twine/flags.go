package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"
)

// options are twine's parsed flags; args is the command.
type options struct {
	config     string
	partition  int // -1: not given
	node       string
	all        bool
	yes        bool
	raw        bool
	noRaw      bool
	hashKey    string
	hashSet    bool // -hash was given (the key may be "")
	partitions int  // 0: not given
	given      map[string]bool
	nodes      bool
	pipe       bool
	scan       bool
	pattern    string        // -scan's MATCH
	scanType   string        // -scan's TYPE
	count      int           // -scan's COUNT; 0: not given
	repeat     int           // -r: runs of the command, -1 for ever; 0: not given
	interval   time.Duration // -i: the wait between runs
	version    bool
	args       []string
}

const usageHead = `Usage:
  twine [-config F] [-raw|-no-raw] [-r N [-i D]] COMMAND [ARG...]
                    run a Redis command on the partition owning its keys;
                    with -r, N times (-1: until interrupted), D apart
  twine -partition N | -node NAME | -all [-yes] COMMAND [ARG...]
                    run it on partition N's master, on one node, or on every
                    master (each answer prefixed by the node's name)
  twine [-partition N | -node NAME | -all [-yes]]
                    no command: a prompt on a terminal (help lists its
                    switches); else run stdin's commands, one per line, in turn
  twine -pipe [-partition N | -node NAME] < FILE
                    send commands from stdin, pipelined: one per line, or in
                    the Redis protocol (RESP), as redis-cli --pipe takes
  twine -scan [-pattern P] [-type T] [-count N] [-partition N | -node NAME]
                    print the keys of every partition's master, one per line
  twine -hash KEY [-partitions N]   print the partition of KEY
  twine -nodes                      print the partition -> node map
  twine -version

The config is -config, else $TWINE_CONFIG, else ` + DefaultConfig + `.
Arguments are quoted as for redis-cli in -pipe input and at the prompt:
"double quotes" with \n \t \xHH escapes, or 'single quotes'.

Flags:
`

// parseFlags parses args. Flags stop at the first non-flag argument: the
// command, whose own arguments may start with '-'.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{partition: -1}
	fs := flag.NewFlagSet("twine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "the cluster's twine.conf (default $TWINE_CONFIG, else "+DefaultConfig+")")
	fs.IntVar(&o.partition, "partition", -1, "run on the master of partition `N`")
	fs.StringVar(&o.node, "node", "", "run on the node `NAME` (any node of the config)")
	fs.BoolVar(&o.all, "all", false, "run on every partition's master")
	fs.BoolVar(&o.yes, "yes", false, "do not ask before FLUSHALL, FLUSHDB or SHUTDOWN with -all")
	fs.BoolVar(&o.raw, "raw", false, "print replies raw, one value per line (the default when stdout is not a terminal)")
	fs.BoolVar(&o.noRaw, "no-raw", false, "print replies typed and quoted, as on a terminal")
	fs.Func("hash", "print the partition of `KEY` and exit", func(s string) error {
		o.hashKey, o.hashSet = s, true
		return nil
	})
	fs.IntVar(&o.partitions, "partitions", 0, "with -hash: the number of partitions `N` (then no config is needed)")
	fs.BoolVar(&o.nodes, "nodes", false, "print the partition -> node map and exit")
	fs.BoolVar(&o.pipe, "pipe", false, "read commands from stdin, inline or RESP, and pipeline them")
	fs.BoolVar(&o.scan, "scan", false, "print every key of every partition's master (SCAN), one per line")
	fs.StringVar(&o.pattern, "pattern", "", "with -scan: only keys matching the glob `P` (SCAN MATCH)")
	fs.StringVar(&o.scanType, "type", "", "with -scan: only keys of type `T` (SCAN TYPE: string, list, hash...)")
	fs.IntVar(&o.count, "count", 0, "with -scan: the `N` of SCAN COUNT, a hint of keys per call (Redis's default 10)")
	fs.IntVar(&o.repeat, "r", 0, "run the command `N` times; -1: until interrupted")
	fs.Func("i", "with -r: wait `D` between runs, in seconds (0.1) or a Go duration (100ms)", func(s string) error {
		d, err := parseInterval(s)
		o.interval = d
		return err
	})
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, &mainutil.ExitError{Code: 0}
		}
		return o, &mainutil.ExitError{Code: exitUsage}
	}
	o.args = fs.Args()
	o.given = make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { o.given[f.Name] = true })
	return o, o.check()
}

// check rejects flag combinations that make no sense.
func (o *options) check() error {
	modes := 0
	for _, on := range []bool{o.hashSet, o.nodes, o.pipe, o.scan, o.version} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return usageError("-hash, -nodes, -pipe, -scan and -version exclude each other")
	}
	targets := 0
	for _, on := range []bool{o.given["partition"], o.given["node"], o.all} {
		if on {
			targets++
		}
	}
	for _, name := range []string{"pattern", "type", "count"} {
		if o.given[name] && !o.scan {
			return usageError("-%s goes with -scan", name)
		}
	}
	switch {
	case targets > 1:
		return usageError("-partition, -node and -all exclude each other")
	case o.given["partition"] && o.partition < 0:
		return usageError("-partition %d: partitions are numbered from 0", o.partition)
	case o.given["node"] && o.node == "":
		return usageError("-node needs a node name")
	case o.raw && o.noRaw:
		return usageError("-raw and -no-raw exclude each other")
	case o.given["partitions"] && !o.hashSet:
		return usageError("-partitions goes with -hash")
	case o.given["partitions"] && o.partitions < 1:
		return usageError("-partitions %d: must be at least 1", o.partitions)
	case o.yes && !o.all:
		return usageError("-yes goes with -all")
	case o.given["count"] && o.count < 1:
		return usageError("-count %d: must be at least 1", o.count)
	case o.given["r"] && (o.repeat == 0 || o.repeat < -1):
		return usageError("-r %d: the number of runs must be at least 1, or -1 to run until interrupted", o.repeat)
	case o.given["i"] && !o.given["r"]:
		return usageError("-i goes with -r")
	case o.given["r"] && (modes > 0 || len(o.args) == 0):
		return usageError("-r goes with a command")
	case modes == 1 && len(o.args) > 0:
		return usageError("unexpected argument %q", o.args[0])
	case (o.hashSet || o.nodes || o.version) && targets > 0:
		return usageError("-partition, -node and -all go with a command, the prompt, -pipe or -scan")
	case o.pipe && o.all:
		return usageError("-all does not go with -pipe")
	case o.scan && o.all:
		return usageError("-all does not go with -scan: it scans every partition's master already")
	}
	return nil
}

// parseInterval parses -i: seconds as redis-cli takes them (1, 0.1), or
// a Go duration (100ms, 1m30s). It must not be negative.
func parseInterval(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64/float64(time.Second) {
			return 0, errors.New("want seconds (0.5) or a duration (500ms)")
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}
