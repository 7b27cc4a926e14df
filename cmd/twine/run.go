package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"

	"golang.org/x/term"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route"
)

// DefaultConfig is the config file twine reads without -config and
// $TWINE_CONFIG.
const DefaultConfig = "/etc/twine/twine.conf"

// defaultConfig is DefaultConfig, replaced by tests.
var defaultConfig = DefaultConfig

// ConfigEnv names the environment variable that names the config file
// when -config is not given.
const ConfigEnv = "TWINE_CONFIG"

// cli is what twine's modes share: the parsed flags and the standard
// streams.
type cli struct {
	o      options
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run is twine's whole life; main maps its error to an exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	c := &cli{o: o, stdin: stdin, stdout: stdout, stderr: stderr}
	switch {
	case o.version:
		fmt.Fprintln(stdout, "twine", version())
		return nil
	case o.hashSet:
		return c.runHash()
	case o.nodes:
		return c.runNodes()
	case o.pipe:
		return c.runPipe(ctx)
	case o.scan:
		return c.runScan(ctx)
	case len(o.args) == 0:
		return c.runSession(ctx)
	}
	return c.runCommand(ctx)
}

// configPath returns the config file to read and whether it was named
// explicitly (-config or $TWINE_CONFIG).
func (c *cli) configPath() (string, bool) {
	if c.o.config != "" {
		return c.o.config, true
	}
	if p := os.Getenv(ConfigEnv); p != "" {
		return p, true
	}
	return defaultConfig, false
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// loadConfig reads the cluster's config. Errors in the file are reported
// as FILE:LINE: message, one per line.
func (c *cli) loadConfig() (*config.Cluster, error) {
	path, explicit := c.configPath()
	cl, err := config.Load(path)
	if err != nil && !explicit && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no config: %s does not exist; give -config FILE or set $%s", path, ConfigEnv)
	}
	return cl, err
}

// newRouter loads the config and returns a Router for it. The Router is
// closed (failing the commands in flight) when ctx is cancelled; the
// returned func closes it too.
func (c *cli) newRouter(ctx context.Context, o route.Options) (*route.Router, func(), error) {
	cl, err := c.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	r, err := route.New(cl, o)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { r.Close() })
	return r, func() { stop(); r.Close() }, nil
}

// openTarget is newRouter, and the target that -partition, -node or -all
// name (the zero target, routing by key, without them).
func (c *cli) openTarget(ctx context.Context, o route.Options) (*route.Router, target, func(), error) {
	r, closeRouter, err := c.newRouter(ctx, o)
	if err != nil {
		return nil, target{}, nil, err
	}
	tgt, err := c.flagTarget(r)
	if err != nil {
		closeRouter()
		return nil, target{}, nil, err
	}
	return r, tgt, closeRouter, nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// rawOutput reports whether replies are printed raw.
func (c *cli) rawOutput() bool {
	switch {
	case c.o.raw:
		return true
	case c.o.noRaw:
		return false
	}
	return !isTerminal(c.stdout)
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
