package route

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/hash"
)

// Sentinel errors, for errors.Is. The errors returned carry the details.
var (
	// ErrNoKeys means the command has no key argument (PING, INFO, SCAN,
	// EVAL with 0 keys...), so it has no owning partition: the caller must
	// choose a node (DoOn).
	ErrNoKeys = errors.New("command has no key")
	// ErrCrossPartition means the command's keys belong to more than one
	// partition and the command cannot be split. Nothing was sent.
	ErrCrossPartition = errors.New("keys in different partitions")
	// ErrNodeDown is matched by a *NodeError whose node could not be
	// reached or stopped answering (connection refused, reset, timeout).
	ErrNodeDown = errors.New("node down")
	// ErrNoLiveNode means no node of the cluster answered, so the command
	// table could not be read.
	ErrNoLiveNode = errors.New("no node of the cluster answered")
)

// NodeError is a failure to run a command on one node: it could not be
// reached, broke the connection, or refused the connection's setup (AUTH,
// SELECT). A Redis error reply to the command itself is a Reply, not a
// NodeError.
type NodeError struct {
	Node config.Node
	Err  error
	// Down is true when the node could not be reached or stopped
	// answering; errors.Is(e, ErrNodeDown) reports it.
	Down bool
}

// Error names the node, its address and partition, and what failed.
func (e *NodeError) Error() string {
	where := e.Node.Addr()
	if e.Node.Kind == config.Data {
		where += ", partition " + strconv.Itoa(e.Node.Partition)
	} else {
		where += ", " + e.Node.Kind.String() + " node"
	}
	var timeout interface{ Timeout() bool }
	switch {
	case e.Down && errors.As(e.Err, &timeout) && timeout.Timeout():
		return fmt.Sprintf("node %s (%s) did not answer: %v", e.Node.Name, where, e.Err)
	case e.Down:
		return fmt.Sprintf("node %s (%s) is down: %v", e.Node.Name, where, e.Err)
	}
	return fmt.Sprintf("node %s (%s): %v", e.Node.Name, where, e.Err)
}

// Unwrap returns the underlying error.
func (e *NodeError) Unwrap() error { return e.Err }

// Is reports whether target is ErrNodeDown and the node is down.
func (e *NodeError) Is(target error) bool { return target == ErrNodeDown && e.Down }

// nodeError wraps err, the failure of a command sent to n. Context
// cancellation is returned as it is.
func nodeError(n config.Node, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return &NodeError{Node: n, Err: err, Down: unreachable(err)}
}

// unreachable reports whether err means the node could not be reached or
// stopped answering, as opposed to answering something wrong.
func unreachable(err error) bool {
	var reply redis.Error
	if errors.As(err, &reply) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded)
}

// CrossPartitionError is the refusal of a command whose keys belong to
// more than one partition and that cannot be split. It matches
// ErrCrossPartition.
type CrossPartitionError struct {
	Command string   // as typed
	Keys    []string // the first key seen for each partition, in Partitions order
	// Partitions are the distinct partitions of the keys, in order of
	// first appearance.
	Partitions []int
}

// Error names the command, each partition with a key of it, and suggests
// {hash tags}.
func (e *CrossPartitionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s refused, nothing was sent: its keys are in %d partitions (", strings.ToUpper(e.Command), len(e.Partitions))
	for i, p := range e.Partitions {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q in %d", e.Keys[i], p)
	}
	b.WriteString("); only MGET, MSET, DEL, UNLINK, EXISTS and TOUCH are split across partitions. ")
	b.WriteString("Keys used together must share a {hash tag}, e.g. ")
	for i, k := range sharedTag(e.Keys[:min(len(e.Keys), 2)]) {
		if i > 0 {
			b.WriteString(" and ")
		}
		fmt.Fprintf(&b, "%q", k)
	}
	return b.String()
}

// sharedTag rewrites keys to share one hash tag: the tag of the first key
// that has one, else "tag". A key's own tag is replaced; a key without one
// gets the tag in front.
func sharedTag(keys []string) []string {
	tag := "tag"
	for _, k := range keys {
		if t := hash.Tag([]byte(k)); len(t) != len(k) {
			tag = string(t)
			break
		}
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		if t := hash.Tag([]byte(k)); len(t) != len(k) {
			open := strings.IndexByte(k, '{')
			out[i] = k[:open+1] + tag + k[open+1+len(t):]
		} else {
			out[i] = "{" + tag + "}" + k
		}
	}
	return out
}

// Is reports whether target is ErrCrossPartition.
func (e *CrossPartitionError) Is(target error) bool { return target == ErrCrossPartition }

// noKeysError is ErrNoKeys naming the command.
type noKeysError struct{ command string }

func (e *noKeysError) Error() string {
	return strings.ToUpper(e.command) + " has no key to route by"
}

func (e *noKeysError) Is(target error) bool { return target == ErrNoKeys }

// ReplyError is a Redis error reply to a command of a Pipe.
type ReplyError struct {
	Msg string // the error reply, e.g. "WRONGTYPE Operation against a key..."
}

// Error returns the error reply as Redis sent it.
func (e *ReplyError) Error() string { return e.Msg }

// defaultDialTimeout bounds a connection attempt to a node.
const defaultDialTimeout = 3 * time.Second
