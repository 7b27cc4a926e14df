package route

import (
	"bytes"
	"context"
	"errors"
	"strings"
)

// Route is where one command runs, as Router.Route finds it.
type Route struct {
	// Command is the table's entry for the command (the subcommand of a
	// container command), nil when the cluster does not know the command.
	Command *Command
	// Keys are the key arguments, in order; they alias the arguments
	// unless Redis was asked for them (COMMAND GETKEYS).
	Keys [][]byte
	// Pos are the positions of Keys in the arguments; nil when Redis was
	// asked for the keys.
	Pos []int
	// Parts are the partitions of Keys.
	Parts []int
	// Partition is the partition that owns every key; -1 with Split or
	// Anywhere.
	Partition int
	// Split is set when the keys span partitions and the command is one
	// that Do splits (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH).
	Split bool
	// Anywhere is set when Redis rejects the command whatever node runs
	// it: an unknown command or subcommand, a wrong number of arguments,
	// key arguments that cannot be valid. Do sends it to a live node, so
	// that the answer is Redis's own error.
	Anywhere bool

	// A one-entry cache of the last command name looked up through this
	// Route, for routing many commands in a row (Pipe).
	lastName  []byte
	lastCmd   *Command
	lastTable *Table
}

// Route finds where args (args[0] is the command name) must run: the
// partition that owns its keys. Keys are found from the command table (see
// Table); when the key specs cannot tell (SORT, MIGRATE), a live node is
// asked with COMMAND GETKEYS. Every key is hashed with the cluster's hash
// function and {hash tag} rule.
//
// Errors: ErrNoKeys when the command has no key (the caller must pick a
// node); a *CrossPartitionError (ErrCrossPartition) when the keys span
// partitions and the command cannot be split; ErrNoLiveNode or a
// *NodeError when the command table could not be read.
func (r *Router) Route(ctx context.Context, args [][]byte) (Route, error) {
	var rt Route
	err := r.route(ctx, args, &rt)
	return rt, err
}

// route is Route filling rt, whose slices it reuses.
func (r *Router) route(ctx context.Context, args [][]byte, rt *Route) error {
	*rt = Route{Keys: rt.Keys[:0], Pos: rt.Pos[:0], Parts: rt.Parts[:0], Partition: -1,
		lastName: rt.lastName, lastCmd: rt.lastCmd, lastTable: rt.lastTable}
	if len(args) == 0 {
		return errors.New("route: empty command")
	}
	t, err := r.Table(ctx)
	if err != nil {
		return err
	}
	var cmd *Command
	known := true
	if rt.lastTable == t && bytes.Equal(rt.lastName, args[0]) {
		cmd = rt.lastCmd
	} else {
		cmd, known = t.resolve(args)
		// Only plain commands: a subcommand depends on args[1] too.
		if cmd != nil && known && len(cmd.Subcommands) == 0 && !strings.Contains(cmd.Name, "|") {
			rt.lastName = append(rt.lastName[:0], args[0]...)
			rt.lastCmd, rt.lastTable = cmd, t
		}
	}
	if cmd == nil {
		if cmd, err = r.learn(ctx, args[0]); err != nil {
			return err
		}
		if cmd != nil {
			cmd, known = r.table.Load().resolve(args)
		}
	}
	rt.Command = cmd
	if cmd == nil || !known {
		rt.Anywhere = true
		return nil
	}
	var res keyResult
	rt.Pos, res = cmd.keys(args, rt.Pos)
	switch res {
	case keysInvalid:
		rt.Anywhere = true
		return nil
	case keysAsk:
		rt.Pos = nil
		if rt.Keys, err = r.getKeys(ctx, args); err != nil {
			return err
		}
	default:
		for _, p := range rt.Pos {
			rt.Keys = append(rt.Keys, args[p])
		}
	}
	if len(rt.Keys) == 0 {
		return &noKeysError{command: string(args[0])}
	}
	cross := false
	for _, k := range rt.Keys {
		p, err := r.hash.Partition(k, r.n)
		if err != nil {
			return err
		}
		rt.Parts = append(rt.Parts, p)
		cross = cross || p != rt.Parts[0]
	}
	if !cross {
		rt.Partition = rt.Parts[0]
		return nil
	}
	if rule, ok := splitRules[cmd.Name]; ok {
		if !rule.fits(rt.Pos, len(args)) {
			// Malformed (MSET with a key and no value): Redis rejects it.
			rt.Anywhere = true
			return nil
		}
		rt.Split = true
		return nil
	}
	return crossError(string(args[0]), rt.Keys, rt.Parts)
}

// crossError describes keys whose partitions differ.
func crossError(command string, keys [][]byte, parts []int) error {
	e := &CrossPartitionError{Command: command}
	seen := make(map[int]bool)
	for i, p := range parts {
		if !seen[p] {
			seen[p] = true
			e.Partitions = append(e.Partitions, p)
			e.Keys = append(e.Keys, string(keys[i]))
		}
	}
	return e
}

// resolve returns the command args run and whether the table knows it: a
// container command (CONFIG, OBJECT...) whose subcommand it does not know
// is returned with known false. It returns nil for an unknown name.
func (t *Table) resolve(args [][]byte) (cmd *Command, known bool) {
	c := lookup(t.Commands, args[0])
	if c == nil {
		return nil, false
	}
	if len(c.Subcommands) == 0 || len(args) < 2 {
		return c, true
	}
	if sub := lookup(c.Subcommands, args[1]); sub != nil {
		return sub, true
	}
	return c, false
}
