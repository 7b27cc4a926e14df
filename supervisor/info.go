package supervisor

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// infoEvery is how often a watcher asks its node for INFO (role, memory,
// persistence) besides the PINGs; a fresh incarnation is asked at its
// first answer.
const infoEvery = 5 * time.Second

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
func fetchInfo(ctx context.Context, c *redis.Client, timeout time.Duration) (nodeInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, err := c.Info(ctx, "server", "replication", "memory", "persistence").Result()
	if err != nil {
		return nodeInfo{}, err
	}
	return parseInfo(s, time.Now()), nil
}

// parseInfo reads the fields nodeInfo holds from an INFO reply; unknown
// and malformed fields are ignored.
func parseInfo(s string, at time.Time) nodeInfo {
	in := nodeInfo{at: at}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch k {
		case "role":
			in.role = v
			if v == "slave" {
				in.role = "replica"
			}
		case "master_link_status":
			in.masterLink = v
		case "used_memory":
			in.usedMemory, _ = strconv.ParseInt(v, 10, 64)
		case "uptime_in_seconds":
			n, _ := strconv.ParseInt(v, 10, 64)
			in.uptime = time.Duration(n) * time.Second
		case "rdb_last_save_time":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
				in.lastSave = time.Unix(n, 0)
			}
		case "rdb_last_bgsave_status":
			in.lastSaveStatus = v
		case "aof_enabled":
			in.aofEnabled = v == "1"
		case "aof_last_bgrewrite_status":
			in.aofLastStatus = v
		case "aof_last_write_status":
			in.aofWriteStatus = v
		}
	}
	return in
}
