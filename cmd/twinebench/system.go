package main

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// errNotInstalled is returned by newSystem for a supervisor whose binary
// is not on PATH.
var errNotInstalled = errors.New("not installed")

// system is a process supervisor under test: twined, monit or supervisord.
type system interface {
	// Name is the name used in -supervisor and in the tables.
	Name() string
	// Prepare writes what the supervisor reads to run c's nodes (the
	// twine.conf exists already). It is called before every start, outside
	// the timed part, and may be called again after removeData.
	Prepare(c *cluster) error
	// Command is the command line that runs the supervisor in the
	// foreground.
	Command(c *cluster) []string
	// Grace is how long the supervisor is given to exit after SIGTERM
	// before SIGKILL; 0 means SIGKILL at once.
	Grace() time.Duration
}

// systemNames are the supervisors -supervisor accepts, in table order.
var systemNames = []string{"twined", "monit", "supervisord"}

// parseSystems parses -supervisor: a comma-separated list of systemNames,
// or "all".
func parseSystems(s string) ([]string, error) {
	if s == "all" {
		return systemNames, nil
	}
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(systemNames, name) {
			return nil, fmt.Errorf("-supervisor %q: want %s, a comma-separated list of them, or all", name, strings.Join(systemNames, ", "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// newSystem returns the named supervisor; twined is the binary at
// twinedPath.
func newSystem(name, twinedPath string) (system, error) {
	switch name {
	case "twined":
		return twinedSystem{bin: twinedPath}, nil
	case "monit":
		bin, err := exec.LookPath("monit")
		if err != nil {
			return nil, fmt.Errorf("monit: %w (apt-get install -y monit)", errNotInstalled)
		}
		return monitSystem{bin: bin}, nil
	case "supervisord":
		bin, err := exec.LookPath("supervisord")
		if err != nil {
			return nil, fmt.Errorf("supervisord: %w (apt-get install -y supervisor)", errNotInstalled)
		}
		return supervisordSystem{bin: bin}, nil
	}
	return nil, fmt.Errorf("unknown supervisor %q", name)
}
