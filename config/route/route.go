package route

import (
	"context"
	"errors"
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
	if len(args) == 0 {
		return Route{}, errors.New("route: empty command")
	}
	t, err := r.Table(ctx)
	if err != nil {
		return Route{}, err
	}
	cmd, known := t.resolve(args)
	if cmd == nil {
		if cmd, err = r.learn(ctx, args[0]); err != nil {
			return Route{}, err
		}
		if cmd != nil {
			cmd, known = r.table.Load().resolve(args)
		}
	}
	rt := Route{Command: cmd, Partition: -1}
	if cmd == nil || !known {
		rt.Anywhere = true
		return rt, nil
	}
	pos, res := cmd.keys(args, nil)
	switch res {
	case keysInvalid:
		rt.Anywhere = true
		return rt, nil
	case keysAsk:
		if rt.Keys, err = r.getKeys(ctx, args); err != nil {
			return rt, err
		}
	default:
		rt.Pos = pos
		rt.Keys = make([][]byte, len(pos))
		for i, p := range pos {
			rt.Keys[i] = args[p]
		}
	}
	if len(rt.Keys) == 0 {
		return rt, &noKeysError{command: string(args[0])}
	}
	rt.Parts = make([]int, len(rt.Keys))
	cross := false
	for i, k := range rt.Keys {
		if rt.Parts[i], err = r.hash.Partition(k, r.n); err != nil {
			return rt, err
		}
		cross = cross || rt.Parts[i] != rt.Parts[0]
	}
	if !cross {
		rt.Partition = rt.Parts[0]
		return rt, nil
	}
	if rule, ok := splitRules[cmd.Name]; ok {
		if !rule.fits(rt.Pos, len(args)) {
			// Malformed (MSET with a key and no value): Redis rejects it.
			rt.Anywhere = true
			return rt, nil
		}
		rt.Split = true
		return rt, nil
	}
	return rt, crossError(string(args[0]), rt.Keys, rt.Parts)
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
