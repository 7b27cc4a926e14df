package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/route"
)

// runScan prints the keys of every partition's master (or of the node of
// -partition or -node), one per line as redis-cli --scan does: quoted on a
// terminal, raw otherwise. Each node is walked with SCAN, its cursor
// followed until 0, with -pattern, -type and -count passed as MATCH, TYPE
// and COUNT.
//
// Partitions are walked one after another in partition order, one SCAN
// at a time, as redis-cli --scan walks one node: the keys come out grouped
// by partition, memory stays bounded, and the cluster sees the load of a
// single client. The keys of each reply are written as it comes.
//
// A node that fails (down, or an error reply) is reported on stderr when
// it fails and the walk goes on with the next partition; runScan then
// ends with an exit-1 error naming the nodes that were not fully scanned.
func (c *cli) runScan(ctx context.Context) error {
	r, tgt, closeRouter, err := c.openTarget(ctx, route.Options{})
	if err != nil {
		return err
	}
	defer closeRouter()
	var nodes []func() config.Node // resolved when its turn comes
	if n := tgt.nodeOf(ctx, r); n != nil {
		nodes = append(nodes, func() config.Node { return *n })
	} else {
		for p := range r.Partitions() {
			nodes = append(nodes, func() config.Node { return r.MasterOf(ctx, p) })
		}
	}
	out := bufio.NewWriterSize(c.stdout, 64<<10)
	raw := c.rawOutput()
	var failed []string
	for _, node := range nodes {
		n := node()
		err := c.scanNode(ctx, r, n, out, raw)
		if ferr := out.Flush(); ferr != nil {
			return ferr
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return errInterrupted(ctx)
		case err != nil:
			fmt.Fprintf(c.stderr, "twine: %v\n", err)
			failed = append(failed, n.Name)
		}
	}
	if len(failed) > 0 {
		return &mainutil.ExitError{Code: exitFailure, Err: fmt.Errorf("scan incomplete: %d of %d nodes not fully scanned: %s",
			len(failed), len(nodes), strings.Join(failed, ", "))}
	}
	return nil
}

// scanNode writes the keys of node n to out, one SCAN reply at a time,
// each flushed as it comes.
func (c *cli) scanNode(ctx context.Context, r *route.Router, n config.Node, out *bufio.Writer, raw bool) error {
	args := [][]byte{[]byte("SCAN"), []byte("0")}
	if c.o.given["pattern"] {
		args = append(args, []byte("MATCH"), []byte(c.o.pattern))
	}
	if c.o.given["count"] {
		args = append(args, []byte("COUNT"), []byte(strconv.Itoa(c.o.count)))
	}
	if c.o.given["type"] {
		args = append(args, []byte("TYPE"), []byte(c.o.scanType))
	}
	var line []byte
	for {
		reply, err := r.DoOn(ctx, n, args)
		if err != nil {
			return err
		}
		if reply.Kind == route.Error {
			return fmt.Errorf("node %s (%s): SCAN: (error) %s", n.Name, n.Addr(), reply.Str)
		}
		if reply.Kind != route.Array || len(reply.Elems) != 2 || reply.Elems[0].Kind != route.Bulk || reply.Elems[1].Kind != route.Array {
			return fmt.Errorf("node %s (%s): SCAN answered %s, want a cursor and an array of keys", n.Name, n.Addr(), reply)
		}
		for _, k := range reply.Elems[1].Elems {
			if raw {
				line = append(line[:0], k.Str...)
			} else {
				line = appendRepr(line[:0], k.Str)
			}
			out.Write(append(line, '\n'))
		}
		if err := out.Flush(); err != nil {
			return err
		}
		cursor := reply.Elems[0].Str
		if string(cursor) == "0" {
			return nil
		}
		args[1] = cursor
	}
}
