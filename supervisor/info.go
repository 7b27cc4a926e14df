package supervisor

import (
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
	s, err := p.info(timeout, "server", "replication", "memory", "persistence")
	if err != nil {
		return nodeInfo{}, err
	}
	return parseNodeInfo(s, time.Now()), nil
}

// parseNodeInfo reads the fields nodeInfo holds from an INFO reply;
// unknown and malformed fields are ignored.
func parseNodeInfo(s string, at time.Time) nodeInfo {
	f := parseInfo(s)
	in := nodeInfo{
		at:             at,
		role:           f["role"],
		masterLink:     f["master_link_status"],
		lastSaveStatus: f["rdb_last_bgsave_status"],
		aofEnabled:     f["aof_enabled"] == "1",
		aofLastStatus:  f["aof_last_bgrewrite_status"],
		aofWriteStatus: f["aof_last_write_status"],
	}
	if in.role == "slave" {
		in.role = "replica"
	}
	in.usedMemory, _ = strconv.ParseInt(f["used_memory"], 10, 64)
	if n, err := strconv.ParseInt(f["uptime_in_seconds"], 10, 64); err == nil {
		in.uptime = time.Duration(n) * time.Second
	}
	if n, err := strconv.ParseInt(f["rdb_last_save_time"], 10, 64); err == nil && n > 0 {
		in.lastSave = time.Unix(n, 0)
	}
	return in
}
