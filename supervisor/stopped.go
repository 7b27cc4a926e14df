package supervisor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/twine/twine/config"
)

// StateDir is where twined keeps its own state for a host (not the nodes'):
// DIR/twined/HOST.
func StateDir(c *config.Cluster, host string) string {
	return filepath.Join(c.Settings().Dir, "twined", host)
}

// StoppedFile is where a host's supervisor keeps the names of the nodes the
// operator stopped, so that they stay stopped across a twined restart: one
// name per line, in DIR/twined/HOST/stopped.
func StoppedFile(c *config.Cluster, host string) string {
	return filepath.Join(StateDir(c, host), "stopped")
}

// readStopped reads a stopped file; a missing file is an empty set (also
// when a directory on its path is a file: the nodes then fail to start
// with an error naming `set dir`).
func readStopped(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read stopped nodes: %w", err)
	}
	set := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[line] = true
	}
	return set, sc.Err()
}

// writeStopped replaces the stopped file atomically; an empty set removes
// it.
func writeStopped(path string, set map[string]bool) error {
	if len(set) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write stopped nodes: %w", err)
		}
		return nil
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("# Nodes stopped by the operator (twined -stop); twined leaves them\n# stopped until twined -start NODE.\n")
	for _, n := range names {
		b.WriteString(n + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("write stopped nodes: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write stopped nodes: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write stopped nodes: %w", err)
	}
	return nil
}
