package route

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twine/twine/config"
)

// Table returns Redis's command table. The first call reads it: it asks
// the nodes in turn (partition masters first) for INFO server until one
// answers, then loads that redis_version's table from the cache directory,
// or reads it with COMMAND and caches it. The error wraps ErrNoLiveNode
// when no node answered.
func (r *Router) Table(ctx context.Context) (*Table, error) {
	if t := r.table.Load(); t != nil {
		return t, nil
	}
	r.fetch.Lock()
	defer r.fetch.Unlock()
	if t := r.table.Load(); t != nil {
		return t, nil
	}
	var errs []error
	for _, n := range r.order {
		t, err := r.readTable(ctx, n)
		if err == nil {
			r.live.Store(&n)
			r.table.Store(t)
			return t, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("read command table: %w:\n%w", ErrNoLiveNode, errors.Join(errs...))
}

// readTable reads the command table through node n.
func (r *Router) readTable(ctx context.Context, n config.Node) (*Table, error) {
	info, err := r.DoOn(ctx, n, [][]byte{[]byte("info"), []byte("server")})
	if err != nil {
		return nil, err
	}
	if info.Kind == Error {
		return nil, &NodeError{Node: n, Err: fmt.Errorf("INFO server: %s", info.Str)}
	}
	version := infoField(info.Str, "redis_version")
	if version == "" {
		return nil, &NodeError{Node: n, Err: errors.New("INFO server has no redis_version")}
	}
	if r.cacheDir != "" {
		if t, err := loadCache(r.cacheDir, version); err == nil {
			return t, nil
		}
	}
	reply, err := r.DoOn(ctx, n, [][]byte{[]byte("command")})
	if err != nil {
		return nil, err
	}
	if reply.Kind == Error {
		return nil, &NodeError{Node: n, Err: fmt.Errorf("COMMAND: %s", reply.Str)}
	}
	cmds, err := parseCommands(reply)
	if err != nil {
		return nil, &NodeError{Node: n, Err: err}
	}
	t := &Table{Version: version, Commands: cmds}
	r.saveTable(t)
	return t, nil
}

// saveTable caches t. The cache only saves round trips, so a directory
// that cannot be written is not an error: the next Router asks again.
func (r *Router) saveTable(t *Table) {
	if r.cacheDir != "" {
		_ = saveCache(r.cacheDir, t)
	}
}

// infoField returns the value of name in an INFO reply.
func infoField(info []byte, name string) string {
	for line := range bytes.Lines(info) {
		k, v, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		if ok && string(k) == name {
			return string(v)
		}
	}
	return ""
}

// learn asks the live node about a command the table does not know
// (added by a module, or newer than the cached table's node) with COMMAND
// INFO, and adds it to the table and the cache. It returns nil when the
// node does not know it either; that answer is remembered.
func (r *Router) learn(ctx context.Context, name []byte) (*Command, error) {
	key := strings.ToLower(string(name))
	r.mu.Lock()
	known := r.unknown[key]
	r.mu.Unlock()
	if known {
		return nil, nil
	}
	reply, err := r.DoOn(ctx, r.liveNode(), [][]byte{[]byte("command"), []byte("info"), name})
	if err != nil {
		return nil, err
	}
	if reply.Kind == Error {
		return nil, &NodeError{Node: r.liveNode(), Err: fmt.Errorf("COMMAND INFO: %s", reply.Str)}
	}
	cmds, err := parseCommands(reply)
	if err != nil {
		return nil, err
	}
	c := cmds[key]
	if c == nil {
		r.mu.Lock()
		r.unknown[key] = true
		r.mu.Unlock()
		return nil, nil
	}
	r.fetch.Lock()
	t := r.table.Load().with(c)
	r.table.Store(t)
	r.fetch.Unlock()
	r.saveTable(t)
	return c, nil
}

// getKeys asks the live node for the keys of args (COMMAND GETKEYS), for
// commands whose key specs cannot tell (SORT ... STORE, MIGRATE ... KEYS).
// An error reply (Redis finds no key) is returned wrapping ErrNoKeys.
func (r *Router) getKeys(ctx context.Context, args [][]byte) ([][]byte, error) {
	q := append([][]byte{[]byte("command"), []byte("getkeys")}, args...)
	reply, err := r.DoOn(ctx, r.liveNode(), q)
	if err != nil {
		return nil, err
	}
	if reply.Kind == Error {
		return nil, fmt.Errorf("%w (COMMAND GETKEYS: %s)", &noKeysError{command: string(args[0])}, reply.Str)
	}
	keys := make([][]byte, 0, len(reply.Elems))
	for _, e := range reply.Elems {
		keys = append(keys, e.Str)
	}
	return keys, nil
}
