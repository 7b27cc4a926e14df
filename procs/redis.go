package procs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"golang.org/x/sys/unix"
)

// AdoptRedis adopts the redis-server that a pidfile names, as Adopt does,
// but only when all of these hold:
//   - pidfile names a live PID;
//   - the node answers at addr (authenticating with password if not empty);
//   - its INFO server reports process_id equal to that PID and config_file
//     equal to configFile (made absolute; symlinks resolved when the paths
//     differ).
//
// Otherwise it returns an error wrapping ErrNotRunning (no pidfile, which
// also matches ErrNoPidfile, or a dead PID) or ErrStale (junk in the
// pidfile, PID alive but nothing answering at addr, PID reused by an
// unrelated process, another redis on the port, another config file), plus
// the cause. When ctx ends first, the error wraps ctx.Err(). AdoptRedis
// never signals the PID; the identity check is pinned by a pidfd opened
// before the INFO query, so a PID recycled meanwhile is noticed.
func AdoptRedis(ctx context.Context, pidfile, addr, password, configFile string, logger hclog.Logger) (*Process, error) {
	pid, err := ReadPidfile(pidfile)
	switch {
	case errors.Is(err, ErrNoPidfile):
		return nil, fmt.Errorf("adopt redis at %s: %w: %w", addr, ErrNotRunning, err)
	case errors.Is(err, ErrInvalidPidfile):
		return nil, fmt.Errorf("adopt redis at %s: %w: %w", addr, ErrStale, err)
	case err != nil:
		return nil, fmt.Errorf("adopt redis at %s: %w", addr, err)
	}
	want, err := filepath.Abs(configFile)
	if err != nil {
		return nil, fmt.Errorf("adopt redis at %s: resolve config file: %w", addr, err)
	}

	fd, err := openPidfd(pid)
	if err != nil {
		return nil, fmt.Errorf("adopt redis at %s: pid %d from %s: %w", addr, pid, pidfile, err)
	}
	adopted := false
	defer func() {
		if !adopted {
			unix.Close(fd)
		}
	}()

	info, err := redisInfoServer(ctx, addr, password)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("adopt redis at %s: %w", addr, ctx.Err())
		}
		return nil, fmt.Errorf("adopt redis at %s: pid %d is alive but the node does not answer: %w: %w", addr, pid, ErrStale, err)
	}
	if got := info["process_id"]; got != strconv.Itoa(pid) {
		return nil, fmt.Errorf("adopt redis at %s: pidfile %s names pid %d but the node is pid %s: %w", addr, pidfile, pid, got, ErrStale)
	}
	if got := info["config_file"]; !samePath(got, want) {
		return nil, fmt.Errorf("adopt redis at %s: node runs config file %q, not %q: %w", addr, got, want, ErrStale)
	}
	// The pidfd was opened before INFO named the PID: if it still refers
	// to a live process, that process is the node.
	exited, err := pidfdExited(fd)
	if err != nil {
		return nil, fmt.Errorf("adopt redis at %s: %w", addr, err)
	}
	if exited {
		return nil, fmt.Errorf("adopt redis at %s: pid %d exited during adoption: %w", addr, pid, ErrNotRunning)
	}

	p, err := adoptPidfd(pid, fd, logger)
	if err != nil {
		return nil, fmt.Errorf("adopt redis at %s: %w", addr, err)
	}
	adopted = true
	return p, nil
}

// redisInfoServer returns the fields of INFO server from the node at addr.
func redisInfoServer(ctx context.Context, addr, password string) (map[string]string, error) {
	c := redis.NewClient(&redis.Options{
		Addr:            addr,
		Password:        password,
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialerRetries:   1,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
	defer c.Close()
	s, err := c.Info(ctx, "server").Result()
	if err != nil {
		return nil, fmt.Errorf("query info server: %w", err)
	}
	return parseInfo(s), nil
}

// parseInfo parses the "key:value" lines of an INFO reply.
func parseInfo(s string) map[string]string {
	m := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// samePath reports whether two absolute paths name the same file.
func samePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ra, err := filepath.EvalSymlinks(a)
	if err != nil {
		return false
	}
	rb, err := filepath.EvalSymlinks(b)
	return err == nil && ra == rb
}
