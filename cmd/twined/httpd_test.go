package main

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/supervisor"
)

func TestAllowControl(t *testing.T) {
	for _, c := range []struct {
		name     string
		h        *httpd
		remote   string
		auth     string
		want     bool
		wantCode int
	}{
		{"loopback, no token", &httpd{}, "127.0.0.1:5000", "", true, 0},
		{"ipv6 loopback", &httpd{}, "[::1]:5000", "", true, 0},
		{"remote, no token", &httpd{}, "10.0.0.8:5000", "", false, http.StatusForbidden},
		{"read-only listener", &httpd{readOnly: true}, "127.0.0.1:5000", "", false, http.StatusForbidden},
		{"token missing", &httpd{token: []byte("s3cret")}, "127.0.0.1:5000", "", false, http.StatusUnauthorized},
		{"token wrong", &httpd{token: []byte("s3cret")}, "127.0.0.1:5000", "Bearer nope", false, http.StatusUnauthorized},
		{"token right, remote", &httpd{token: []byte("s3cret")}, "10.0.0.8:5000", "Bearer s3cret", true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/control/stop?node=n0", nil)
			r.RemoteAddr = c.remote
			if c.auth != "" {
				r.Header.Set("Authorization", c.auth)
			}
			w := httptest.NewRecorder()
			c.h.log = hclog.NewNullLogger()
			if got := c.h.allowControl(w, r); got != c.want {
				t.Fatalf("allowed = %v, want %v", got, c.want)
			}
			if !c.want && w.Code != c.wantCode {
				t.Errorf("code %d, want %d", w.Code, c.wantCode)
			}
		})
	}
}

func sampleSnapshot() supervisor.Snapshot {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return supervisor.Snapshot{
		Host: "db1", Status: supervisor.Halt, Time: now, Up: 1, PartitionCount: 2, Masterless: []int{1},
		Nodes: []supervisor.NodeStatus{
			{Name: "a0", Kind: "data", Partition: 0, Port: 4200, Role: "master", State: supervisor.Up, PID: 10, Since: now.Add(-time.Hour)},
			{Name: "a1", Kind: "data", Partition: 1, Port: 4201, Role: "master", State: supervisor.Failed, Since: now.Add(-90 * time.Second),
				Reason: "crash loop: 5 exits within 1m0s", Error: "exit status 1: Bad file format reading the append only file", Restarts: 5},
		},
	}
}

func TestWriteStatusFormats(t *testing.T) {
	s := sampleSnapshot()
	var b bytes.Buffer
	if err := writeStatus(&b, s, "summary"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || lines[0] != "db1 HALT: 1/2 nodes up, 2 partitions, partition 1 without a live master" {
		t.Errorf("summary:\n%s", b.String())
	}
	if !strings.Contains(lines[1], "a1") || !strings.Contains(lines[1], "failed") || !strings.Contains(lines[1], "since 1m30s") || !strings.Contains(lines[1], "Bad file format") {
		t.Errorf("summary node line: %q", lines[1])
	}

	b.Reset()
	if err := writeStatus(&b, s, "list"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 4 {
		t.Errorf("list has %d lines, want headline, header and 2 nodes:\n%s", n, b.String())
	}

	b.Reset()
	if err := writeStatus(&b, s, "xml"); err != nil {
		t.Fatal(err)
	}
	var x xmlStatus
	if err := xml.Unmarshal(b.Bytes(), &x); err != nil {
		t.Fatalf("xml does not parse: %v\n%s", err, b.String())
	}
	if x.Host != "db1" || x.Status != "HALT" || len(x.Nodes) != 2 || x.Nodes[1].State != "failed" || x.Masterless != "1" {
		t.Errorf("xml round trip: %+v", x)
	}

	if err := writeStatus(&b, s, "yaml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestPageData(t *testing.T) {
	d := pageData(sampleSnapshot())
	if d.Status != "HALT" || len(d.Nodes) != 2 || len(d.Problems) != 1 || d.Problems[0].Name != "a1" {
		t.Errorf("page data: %+v", d)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1500 * time.Microsecond: "2ms",
		42 * time.Second:        "42s",
		61 * time.Minute:        "1h1m",
		50 * time.Hour:          "2d2h",
		4*time.Minute + 10e9:    "4m10s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
