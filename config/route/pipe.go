package route

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
)

// PipeOptions tune a Pipe. The zero value is ready to use.
type PipeOptions struct {
	// Batch is the number of commands sent to a node in one pipelined
	// round trip; 0 means 1000.
	Batch int
	// Depth is the number of full batches queued per node before Send
	// waits for that node; 0 means 4.
	Depth int
	// Target, when set, receives every command as it is, without routing
	// (no command table is read).
	Target *config.Node
	// OnError is called once for each sent command that failed, with the
	// id given to Send and a *ReplyError (Redis answered an error) or a
	// *NodeError (the node could not run it). It is called from the
	// Pipe's goroutines, possibly concurrently, and must not call the
	// Pipe. Nil ignores failures (they are still counted).
	OnError func(id int64, err error)
}

// PipeStats count the commands of a Pipe. A split command counts once.
type PipeStats struct {
	Sent   int64 // accepted by Send
	Done   int64 // answered or failed
	Errors int64 // failed: an error reply, or its node failed
}

// Pipe sends a stream of commands, pipelined: each is routed as Do
// routes it and queued for its node; every node has one connection and
// one goroutine that sends its queue in batches. Commands for one node run
// in the order they were sent; commands for different nodes run in
// parallel, in no particular order. Replies are discarded, except that
// failures are counted and reported to OnError.
//
// Send and Close must be called from one goroutine; Stats from any.
type Pipe struct {
	r     *Router
	o     PipeOptions
	ctx   context.Context
	parts []*pipeNode          // masters' queues by partition, nil until used
	nodes map[string]*pipeNode // every queue by node name
	rt    Route                // scratch for routing, reused by Send
	wg    sync.WaitGroup

	accepted int64 // counted by Send, published to sent now and then
	sent     atomic.Int64
	done     atomic.Int64
	failed   atomic.Int64
}

// pipeNode is the queue of one node.
type pipeNode struct {
	node    config.Node
	pending []pipeCmd
	ch      chan []pipeCmd // full batches, to the node's goroutine
	free    chan []pipeCmd // sent batches, back for reuse
	// The node's copies of queued arguments, contiguous, so that its
	// goroutine reads them in order rather than scattered among the other
	// nodes' commands.
	bytes []byte   // the rest of the current chunk of argument bytes
	hdrs  [][]byte // the rest of the current chunk of argument headers
}

// copyChunk is the size of a node's chunk of argument bytes.
const copyChunk = 64 << 10

// copyArgs returns a copy of args in q's chunks. A chunk is never reused:
// the garbage collector frees it when its commands are done.
func (q *pipeNode) copyArgs(args [][]byte) [][]byte {
	size := 0
	for _, a := range args {
		size += len(a)
	}
	if cap(q.bytes) < size {
		q.bytes = make([]byte, 0, max(copyChunk, size))
	}
	if cap(q.hdrs) < len(args) {
		q.hdrs = make([][]byte, 0, max(copyChunk/32, len(args)))
	}
	out := q.hdrs[:len(args):len(args)]
	q.hdrs = q.hdrs[len(args):len(args):cap(q.hdrs)]
	b := q.bytes[:0:size]
	q.bytes = q.bytes[size:size:cap(q.bytes)]
	for i, a := range args {
		start := len(b)
		b = append(b, a...)
		out[i] = b[start:len(b):len(b)]
	}
	return out
}

// pipeCmd is one queued command, or one part of a split command.
type pipeCmd struct {
	id   int64
	args [][]byte
	job  *splitJob // nil unless a part of a split command
}

// splitJob tracks the parts of a split command.
type splitJob struct {
	left atomic.Int32
	err  atomic.Pointer[error] // the first failure of a part
}

// NewPipe returns a Pipe that sends through r until ctx is cancelled.
func (r *Router) NewPipe(ctx context.Context, o PipeOptions) *Pipe {
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.Depth <= 0 {
		o.Depth = 4
	}
	return &Pipe{r: r, o: o, ctx: ctx, parts: make([]*pipeNode, r.n), nodes: make(map[string]*pipeNode)}
}

// Send routes args (args[0] is the command name) as Do does and queues a
// copy of the command; a split command's parts are queued for their nodes.
// The caller may reuse args once Send returns. Send returns a Route error (ErrNoKeys, ErrCrossPartition:
// the command is not sent and not counted), an error reading the command
// table, or the context's error. It waits while the command's node has
// Depth full batches queued.
func (p *Pipe) Send(id int64, args [][]byte) error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	if p.o.Target != nil {
		return p.queue(p.node(*p.o.Target), pipeCmd{id: id, args: args}, 1)
	}
	rt := &p.rt
	if err := p.r.route(p.ctx, args, rt); err != nil {
		return err
	}
	switch {
	case rt.Anywhere:
		return p.queue(p.node(p.r.liveNode()), pipeCmd{id: id, args: args}, 1)
	case !rt.Split:
		return p.queue(p.master(rt.Partition), pipeCmd{id: id, args: args}, 1)
	}
	rule := splitRules[rt.Command.Name]
	byPart := make(map[int][][]byte)
	var order []int
	for i, part := range rt.Parts {
		if byPart[part] == nil {
			order = append(order, part)
			byPart[part] = [][]byte{args[0]}
		}
		at := rt.Pos[i]
		byPart[part] = append(byPart[part], args[at:at+rule.group]...)
	}
	job := &splitJob{}
	job.left.Store(int32(len(order)))
	for i, part := range order {
		cmd := pipeCmd{id: id, args: byPart[part], job: job}
		var counted int64
		if i == 0 {
			counted = 1
		}
		if err := p.queue(p.master(part), cmd, counted); err != nil {
			return err
		}
	}
	return nil
}

// master returns the queue of partition part's master.
func (p *Pipe) master(part int) *pipeNode {
	if q := p.parts[part]; q != nil {
		return q
	}
	q := p.node(p.r.MasterOf(p.ctx, part))
	p.parts[part] = q
	return q
}

// node returns the queue of n, starting its goroutine on first use.
func (p *Pipe) node(n config.Node) *pipeNode {
	if q := p.nodes[n.Name]; q != nil {
		return q
	}
	q := &pipeNode{node: n, ch: make(chan []pipeCmd, p.o.Depth), free: make(chan []pipeCmd, p.o.Depth+2)}
	p.nodes[n.Name] = q
	p.wg.Go(func() { p.run(q) })
	return q
}

// queue appends cmd to q's pending batch, handing the batch to q's
// goroutine when full. counted is added to Sent.
func (p *Pipe) queue(q *pipeNode, cmd pipeCmd, counted int64) error {
	cmd.args = q.copyArgs(cmd.args)
	q.pending = append(q.pending, cmd)
	p.accepted += counted
	if p.accepted&255 == 0 {
		p.sent.Store(p.accepted)
	}
	if len(q.pending) < p.o.Batch {
		return nil
	}
	return p.flush(q)
}

// flush hands q's pending batch to its goroutine.
func (p *Pipe) flush(q *pipeNode) error {
	if len(q.pending) == 0 {
		return nil
	}
	p.sent.Store(p.accepted)
	select {
	case q.ch <- q.pending:
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
	select {
	case q.pending = <-q.free:
	default:
		q.pending = make([]pipeCmd, 0, p.o.Batch)
	}
	return nil
}

// Close sends what is still queued, waits for every reply and returns the
// final counts. After a cancelled context, Done may be less than Sent:
// the rest was never answered.
func (p *Pipe) Close() PipeStats {
	p.sent.Store(p.accepted)
	for _, q := range p.nodes {
		p.flush(q) // fails only when cancelled; then the rest is dropped
		close(q.ch)
	}
	p.wg.Wait()
	return p.Stats()
}

// Stats returns the counts so far. Sent may lag behind Send by a few
// hundred commands until Close.
func (p *Pipe) Stats() PipeStats {
	return PipeStats{Sent: p.sent.Load(), Done: p.done.Load(), Errors: p.failed.Load()}
}

// run sends q's batches until its channel is closed. Replies are streamed
// into sinks that keep only an error's text.
func (p *Pipe) run(q *pipeNode) {
	client, err := p.r.client(q.node)
	cmds := make([]*redis.RawWriteToCmd, 0, p.o.Batch)
	sinks := make([]replySink, p.o.Batch)
	var av argvBuf
	for batch := range q.ch {
		if p.ctx.Err() != nil {
			continue // drained unanswered
		}
		if err != nil { // the Router was closed
			for _, c := range batch {
				d, f := p.finish(c, err)
				p.done.Add(d)
				p.failed.Add(f)
			}
			continue
		}
		pipe := client.Pipeline()
		cmds = cmds[:0]
		if len(sinks) < len(batch) {
			sinks = make([]replySink, len(batch))
		}
		av.reset(batch)
		for i, c := range batch {
			sinks[i].reset()
			cmd := redis.NewRawWriteToCmd(p.ctx, &sinks[i], av.argv(c.args)...)
			_ = pipe.Process(p.ctx, cmd) // queues only
			cmds = append(cmds, cmd)
		}
		_, _ = pipe.Exec(p.ctx) // failures are read from each command
		var done, failed int64
		for i, c := range cmds {
			err := c.Err()
			switch {
			case err != nil && errors.Is(err, context.Canceled):
				continue
			case err != nil:
				err = nodeError(q.node, err)
			case sinks[i].isErr:
				err = &ReplyError{Msg: string(sinks[i].msg)}
			}
			d, f := p.finish(batch[i], err)
			done += d
			failed += f
		}
		p.done.Add(done)
		p.failed.Add(failed)
		clear(batch) // drop the references to the arguments
		av.clear()
		select {
		case q.free <- batch[:0]:
		default:
		}
	}
}

// argvBuf converts the arguments of a batch for go-redis into buffers
// reused from batch to batch, so that no command allocates for them.
type argvBuf struct {
	out  []any
	hold []arg
}

// reset makes room for the arguments of batch. The buffers must not grow
// while a batch is built: out points into hold.
func (b *argvBuf) reset(batch []pipeCmd) {
	n := 0
	for _, c := range batch {
		n += len(c.args)
	}
	if cap(b.hold) < n {
		b.hold = make([]arg, 0, n)
		b.out = make([]any, 0, n)
	}
	b.hold, b.out = b.hold[:0], b.out[:0]
}

// argv returns args converted, valid until the next reset.
func (b *argvBuf) argv(args [][]byte) []any {
	start := len(b.out)
	for _, a := range args {
		b.hold = append(b.hold, a)
		b.out = append(b.out, &b.hold[len(b.hold)-1])
	}
	return b.out[start:len(b.out):len(b.out)]
}

// clear drops the references to the last batch's arguments.
func (b *argvBuf) clear() {
	clear(b.hold)
	clear(b.out)
}

// replySink receives one raw reply, streamed by go-redis, and keeps only
// whether it is an error and the error's text.
type replySink struct {
	n     int
	isErr bool
	msg   []byte
}

func (s *replySink) reset() { s.n, s.isErr, s.msg = 0, false, s.msg[:0] }

// Write takes the next piece of the reply: the first is its first line.
func (s *replySink) Write(b []byte) (int, error) {
	if s.n == 0 && len(b) > 0 && b[0] == '-' {
		s.isErr = true
		s.msg = append(s.msg, bytes.TrimRight(b[1:], "\r\n")...)
	}
	s.n += len(b)
	return len(b), nil
}

// finish reports the answer of one command or part, and returns what it
// adds to Done and Errors: nothing for a part of a split command whose
// other parts are still out.
func (p *Pipe) finish(c pipeCmd, err error) (done, failed int64) {
	if c.job != nil {
		if err != nil {
			c.job.err.CompareAndSwap(nil, &err)
		}
		if c.job.left.Add(-1) > 0 {
			return 0, 0
		}
		if first := c.job.err.Load(); first != nil {
			err = *first
		}
	}
	if err != nil {
		if p.o.OnError != nil {
			p.o.OnError(c.id, err)
		}
		return 1, 1
	}
	return 1, 0
}
