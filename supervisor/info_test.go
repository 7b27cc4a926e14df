package supervisor

import (
	"testing"
	"time"
)

func TestParseNodeInfo(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	in := parseNodeInfo([]byte("# Server\r\nuptime_in_seconds:42\r\n# Replication\r\nrole:slave\r\nmaster_link_status:up\r\n"+
		"# Memory\r\nused_memory:1048576\r\n# Persistence\r\nrdb_last_save_time:1799999990\r\nrdb_last_bgsave_status:ok\r\n"+
		"aof_enabled:1\r\naof_last_bgrewrite_status:err\r\naof_last_write_status:ok\r\nbogus\r\n"), at)
	want := nodeInfo{at: at, role: "replica", masterLink: "up", usedMemory: 1 << 20, uptime: 42 * time.Second,
		lastSave: time.Unix(1_799_999_990, 0), lastSaveStatus: "ok", aofEnabled: true, aofLastStatus: "err", aofWriteStatus: "ok"}
	if in != want {
		t.Errorf("parseNodeInfo:\n got %+v\nwant %+v", in, want)
	}
	var n NodeStatus
	n.applyInfo(in)
	if n.Role != "replica" || n.StartedAt != at.Add(-42*time.Second) || n.LastAOFRewriteStatus != "err" {
		t.Errorf("applyInfo: %+v", n)
	}
	if empty := parseNodeInfo(nil, at); empty.role != "" || empty.usedMemory != 0 || !empty.lastSave.IsZero() {
		t.Errorf("empty INFO: %+v", empty)
	}
}
