package supervisor

import (
	"bytes"
	"strconv"
	"time"
)

// infoEvery is how often a watcher asks its node for INFO (role, memory,
// persistence) besides the PINGs; a fresh incarnation is asked at its
// first answer.
const infoEvery = 10 * time.Second

// nodeInfo is what a watcher keeps of a node's INFO reply.
type nodeInfo struct {
	at             time.Time
	role           string // master or replica, as Redis reports it
	masterLink     string // replicas: up or down
	usedMemory     int64
	uptime         time.Duration
	lastSave       time.Time // last successful RDB save
	lastSaveStatus string    // ok or err (rdb_last_bgsave_status)
	aofEnabled     bool
	aofLastStatus  string // ok or err (aof_last_bgrewrite_status)
	aofWriteStatus string // ok or err (aof_last_write_status)
}

// fetchInfo asks a node for the INFO sections the status snapshot shows.
func fetchInfo(p *probe, timeout time.Duration) (nodeInfo, error) {
	b, err := p.call(timeout, p.command("INFO", "server", "replication", "memory", "persistence"), 0, nil)
	if err != nil {
		return nodeInfo{}, err
	}
	return parseNodeInfo(b, time.Now()), nil
}

// parseNodeInfo reads the fields nodeInfo holds from an INFO reply;
// unknown and malformed fields are ignored. It scans the reply in place
// and keeps copies of the few values it needs: a host asks every node
// every few seconds.
func parseNodeInfo(b []byte, at time.Time) nodeInfo {
	in := nodeInfo{at: at}
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		k, v, ok := bytes.Cut(bytes.TrimRight(line, "\r"), []byte(":"))
		if !ok {
			continue
		}
		switch string(k) {
		case "role":
			in.role = "master"
			if string(v) == "slave" {
				in.role = "replica"
			} else if string(v) != "master" {
				in.role = string(v)
			}
		case "master_link_status":
			in.masterLink = internStatus(v)
		case "rdb_last_bgsave_status":
			in.lastSaveStatus = internStatus(v)
		case "aof_enabled":
			in.aofEnabled = string(v) == "1"
		case "aof_last_bgrewrite_status":
			in.aofLastStatus = internStatus(v)
		case "aof_last_write_status":
			in.aofWriteStatus = internStatus(v)
		case "used_memory":
			in.usedMemory, _ = strconv.ParseInt(string(v), 10, 64)
		case "uptime_in_seconds":
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				in.uptime = time.Duration(n) * time.Second
			}
		case "rdb_last_save_time":
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n > 0 {
				in.lastSave = time.Unix(n, 0)
			}
		}
	}
	return in
}

// internStatus returns the common INFO statuses without allocating.
func internStatus(v []byte) string {
	switch string(v) {
	case "ok":
		return "ok"
	case "err":
		return "err"
	case "up":
		return "up"
	case "down":
		return "down"
	}
	return string(v)
}
