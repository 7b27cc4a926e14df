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
	nodes map[string]*pipeNode
	wg    sync.WaitGroup

	sent, done, failed atomic.Int64
}

// pipeNode is the queue and connection of one node.
type pipeNode struct {
	node    config.Node
	client  *redis.Client
	pending []pipeCmd
	ch      chan []pipeCmd
}

// pipeCmd is one queued command, or one part of a split command.
type pipeCmd struct {
	id   int64
	args []any
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
	return &Pipe{r: r, o: o, ctx: ctx, nodes: make(map[string]*pipeNode)}
}

// Send routes args (args[0] is the command name) and queues the command.
// The queued command refers to args: the caller must not modify them
// afterwards. It returns a
// Route error (ErrNoKeys, ErrCrossPartition: the command is not sent and
// not counted), an error reading the command table, or the context's
// error. Send waits while the command's node has Depth batches queued.
func (p *Pipe) Send(id int64, args [][]byte) error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	if p.o.Target != nil {
		return p.queue(*p.o.Target, pipeCmd{id: id, args: anys(args)}, 1)
	}
	rt, err := p.r.Route(p.ctx, args)
	if err != nil {
		return err
	}
	switch {
	case rt.Anywhere:
		return p.queue(p.r.liveNode(), pipeCmd{id: id, args: anys(args)}, 1)
	case !rt.Split:
		return p.queue(p.r.masters[rt.Partition], pipeCmd{id: id, args: anys(args)}, 1)
	}
	rule := splitRules[rt.Command.Name]
	byPart := make(map[int][]any)
	var order []int
	for i, part := range rt.Parts {
		if byPart[part] == nil {
			order = append(order, part)
			byPart[part] = []any{args[0]}
		}
		at := rt.Pos[i]
		for _, a := range args[at : at+rule.group] {
			byPart[part] = append(byPart[part], a)
		}
	}
	job := &splitJob{}
	job.left.Store(int32(len(order)))
	for i, part := range order {
		cmd := pipeCmd{id: id, args: byPart[part], job: job}
		var counted int64
		if i == 0 {
			counted = 1
		}
		if err := p.queue(p.r.masters[part], cmd, counted); err != nil {
			return err
		}
	}
	return nil
}

// queue appends cmd to n's pending batch, handing the batch to n's
// goroutine when full. counted is added to Sent.
func (p *Pipe) queue(n config.Node, cmd pipeCmd, counted int64) error {
	q := p.nodes[n.Name]
	if q == nil {
		c, err := p.r.client(n)
		if err != nil {
			return err
		}
		q = &pipeNode{node: n, client: c, ch: make(chan []pipeCmd, p.o.Depth)}
		p.nodes[n.Name] = q
		p.wg.Go(func() { p.run(q) })
	}
	q.pending = append(q.pending, cmd)
	p.sent.Add(counted)
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
	select {
	case q.ch <- q.pending:
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
	q.pending = make([]pipeCmd, 0, p.o.Batch)
	return nil
}

// Close sends what is still queued, waits for every reply and returns the
// final counts. After a cancelled context, Done may be less than Sent:
// the rest was never answered.
func (p *Pipe) Close() PipeStats {
	for _, q := range p.nodes {
		p.flush(q) // fails only when cancelled; then the rest is dropped
		close(q.ch)
	}
	p.wg.Wait()
	return p.Stats()
}

// Stats returns the counts so far.
func (p *Pipe) Stats() PipeStats {
	return PipeStats{Sent: p.sent.Load(), Done: p.done.Load(), Errors: p.failed.Load()}
}

// run sends q's batches until its channel is closed.
func (p *Pipe) run(q *pipeNode) {
	cmds := make([]*redis.RawCmd, 0, p.o.Batch)
	for batch := range q.ch {
		if p.ctx.Err() != nil {
			continue // drained unanswered
		}
		pipe := q.client.Pipeline()
		cmds = cmds[:0]
		for _, c := range batch {
			cmd := redis.NewRawCmd(p.ctx, c.args...)
			_ = pipe.Process(p.ctx, cmd) // queues only
			cmds = append(cmds, cmd)
		}
		_, _ = pipe.Exec(p.ctx) // failures are read from each command
		for i, c := range cmds {
			raw, err := c.Result()
			switch {
			case err != nil && errors.Is(err, context.Canceled):
				continue
			case err != nil:
				err = nodeError(q.node, err)
			case len(raw) > 0 && raw[0] == '-':
				err = &ReplyError{Msg: string(bytes.TrimRight(raw[1:], "\r\n"))}
			}
			p.finish(batch[i], err)
		}
	}
}

// finish counts the answer of one command or part.
func (p *Pipe) finish(c pipeCmd, err error) {
	if c.job != nil {
		if err != nil {
			c.job.err.CompareAndSwap(nil, &err)
		}
		if c.job.left.Add(-1) > 0 {
			return
		}
		if first := c.job.err.Load(); first != nil {
			err = *first
		}
	}
	if err != nil {
		p.failed.Add(1)
		if p.o.OnError != nil {
			p.o.OnError(c.id, err)
		}
	}
	p.done.Add(1)
}
