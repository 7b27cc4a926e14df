package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// errNoPong is returned by probe when a node answered something other than
// PONG.
var errNoPong = errors.New("no PONG")

// pong is a node's answer to one probe.
type pong struct {
	At  time.Time // when the PONG was read
	PID int       // process_id from INFO server
}

// probe opens a fresh connection to addr, sends PING and INFO server in one
// write and returns when the PONG was read and which process sent it. Every
// wait is bounded by timeout. The connection is closed with a reset (linger
// 0), so that probing every millisecond leaves no TIME_WAIT sockets.
func probe(addr string, timeout time.Duration) (pong, error) {
	deadline := time.Now().Add(timeout)
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return pong{}, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, "PING\r\nINFO server\r\n"); err != nil {
		return pong{}, err
	}
	r := bufio.NewReaderSize(conn, 8<<10)
	line, err := r.ReadString('\n')
	if err != nil {
		return pong{}, err
	}
	if strings.TrimRight(line, "\r\n") != "+PONG" {
		return pong{}, fmt.Errorf("probe %s: %w: %q", addr, errNoPong, strings.TrimSpace(line))
	}
	p := pong{At: time.Now()}
	info, err := readBulk(r)
	if err != nil {
		return pong{}, fmt.Errorf("probe %s: read INFO server: %w", addr, err)
	}
	p.PID, err = processID(info)
	if err != nil {
		return pong{}, fmt.Errorf("probe %s: %w", addr, err)
	}
	return p, nil
}

// readBulk reads one RESP bulk string.
func readBulk(r *bufio.Reader) (string, error) {
	head, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	head = strings.TrimRight(head, "\r\n")
	if !strings.HasPrefix(head, "$") {
		return "", fmt.Errorf("want a bulk reply, got %q", head)
	}
	n, err := strconv.Atoi(head[1:])
	if err != nil || n < 0 {
		return "", fmt.Errorf("bad bulk length %q", head)
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// processID returns the process_id field of an INFO reply.
func processID(info string) (int, error) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("no process_id in INFO server")
}
