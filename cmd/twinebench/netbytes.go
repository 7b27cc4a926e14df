package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// infoStats is the request netCounter sends: an inline command, so its
// size on the wire is exactly its length.
const infoStats = "INFO stats\r\n"

// netCounter reads a redis node's traffic counters (INFO stats
// total_net_input_bytes, total_net_output_bytes) over one kept
// connection. It belongs to one goroutine.
type netCounter struct {
	conn net.Conn
	r    *bufio.Reader
}

// netCount is one reading of a netCounter.
type netCount struct {
	In, Out int64     // the node's totals
	Reply   int64     // bytes of the reply that carried them, on the wire
	At      time.Time // when they were read
}

// dialNetCounter connects to the node at addr.
func dialNetCounter(addr string) (*netCounter, error) {
	conn, err := net.DialTimeout("tcp", addr, checkTimeout)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return &netCounter{conn: conn, r: bufio.NewReaderSize(conn, 8<<10)}, nil
}

// read asks for INFO stats once.
func (nc *netCounter) read() (netCount, error) {
	_ = nc.conn.SetDeadline(time.Now().Add(2 * checkTimeout))
	if _, err := io.WriteString(nc.conn, infoStats); err != nil {
		return netCount{}, fmt.Errorf("INFO stats: %w", err)
	}
	info, err := readBulk(nc.r)
	if err != nil {
		return netCount{}, fmt.Errorf("INFO stats: %w", err)
	}
	c := netCount{At: time.Now(), Reply: int64(len("$\r\n\r\n") + len(strconv.Itoa(len(info))) + len(info))}
	in, ok1 := infoField(info, "total_net_input_bytes")
	out, ok2 := infoField(info, "total_net_output_bytes")
	if !ok1 || !ok2 {
		return netCount{}, fmt.Errorf("INFO stats: no total_net_input_bytes and total_net_output_bytes")
	}
	c.In, c.Out = in, out
	return c, nil
}

// close closes the connection.
func (nc *netCounter) close() { _ = nc.conn.Close() }

// since returns the bytes per second the node received and sent between
// two readings, less the counter's own traffic: Redis counts a request
// when it reads it, before it answers, and a reply once written, so the
// difference holds this reading's request and the earlier reading's
// reply.
func (c netCount) since(prev netCount) (in, out float64) {
	s := c.At.Sub(prev.At).Seconds()
	return float64(c.In-prev.In-int64(len(infoStats))) / s, float64(c.Out-prev.Out-prev.Reply) / s
}

// infoField returns the integer field name of an INFO reply.
func infoField(info, name string) (int64, bool) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
