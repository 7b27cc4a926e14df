package main

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/twine/twine/supervisor"
	"github.com/twine/twine/templates"
)

// snapshot256 is a host of 256 nodes, a few of them not up.
func snapshot256() supervisor.Snapshot {
	now := time.Now()
	s := supervisor.Snapshot{Host: "db1", Status: supervisor.Degraded, Time: now, PartitionCount: 256}
	for i := range 256 {
		n := supervisor.NodeStatus{
			Name: fmt.Sprintf("a%d", 4200+i), Kind: "data", Partition: i, Host: "10.0.0.1", Port: 4200 + i,
			Role: "master", State: supervisor.Up, Since: now.Add(-time.Hour), PID: 1000 + i,
			UsedMemory: 1 << 20, LatencyMS: 0.3, UptimeSeconds: 3600, Checks: 3600,
		}
		if i%64 == 7 {
			n.State, n.Reason, n.Error = supervisor.Backoff, "exited soon after its start (attempt 2); restarting in 300ms", "exit status 1: Address already in use"
		}
		s.Nodes = append(s.Nodes, n)
		if n.State == supervisor.Up {
			s.Up++
		}
	}
	return s
}

func BenchmarkStatus256(b *testing.B) {
	s := snapshot256()
	for _, f := range statusFormats {
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				if err := writeStatus(io.Discard, s, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("html", func(b *testing.B) {
		for b.Loop() {
			if err := templates.StatusPage.Execute(io.Discard, pageData(s)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
