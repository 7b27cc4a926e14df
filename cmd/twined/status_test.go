package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/net/html"

	"github.com/twine/twine/procs/redistest"
	"github.com/twine/twine/supervisor"
)

// statusCluster writes a config with a replica set (n0 master, r0 its
// replica) and a second partition (n1), fast checks, and returns its
// path and the httpd address.
func statusCluster(t *testing.T, extra ...string) (path, httpd string) {
	t.Helper()
	dir := t.TempDir()
	httpd = fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	var b strings.Builder
	fmt.Fprintf(&b, "set redis-server %s\nset httpd %s\nset check-interval 200ms\nset check-timeout 200ms\nset backoff-min 20ms\nset backoff-max 500ms\nset stop-timeout 5s\n",
		redistest.Binary(t), httpd)
	for _, e := range extra {
		fmt.Fprintf(&b, "set %s\n", e)
	}
	fmt.Fprintf(&b, "n0=data 0 127.0.0.1 %d 0\n", redistest.FreePort(t))
	fmt.Fprintf(&b, "r0=data 0 127.0.0.1 %d 0\n", redistest.FreePort(t))
	fmt.Fprintf(&b, "n1=data 1 127.0.0.1 %d 0\n", redistest.FreePort(t))
	path = filepath.Join(dir, "twine.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, httpd
}

// killNodes SIGKILLs, at the end of the test, every node process whose
// pidfile is under dir.
func killNodes(t *testing.T, dir string) {
	t.Cleanup(func() {
		files, _ := filepath.Glob(filepath.Join(dir, "partitions", "*", "*", "*.pid"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 && alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

// fetchStatus reads /status?format=json from the daemon.
func fetchStatus(t *testing.T, httpd string) supervisor.Snapshot {
	t.Helper()
	resp, err := http.Get("http://" + httpd + "/status?format=json")
	if err != nil {
		t.Fatalf("GET /status: %v", err)
	}
	defer resp.Body.Close()
	var s supervisor.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatalf("decode /status: %v", err)
	}
	return s
}

func nodeIn(s supervisor.Snapshot, name string) supervisor.NodeStatus {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n
		}
	}
	return supervisor.NodeStatus{}
}

// waitStatus polls /status until cond holds.
func waitStatus(t *testing.T, httpd string, what string, cond func(supervisor.Snapshot) bool) supervisor.Snapshot {
	t.Helper()
	var last supervisor.Snapshot
	redistest.Eventually(t, 20*time.Second, func() bool {
		last = fetchStatus(t, httpd)
		return cond(last)
	}, "status never showed %s", what)
	return last
}

func TestStatusAndControlEndToEnd(t *testing.T) {
	path, httpd := statusCluster(t)
	killNodes(t, filepath.Dir(path))
	d := startDaemon(t, path)
	d.waitLog(t, 1, "every node answers")

	// OK: exit 0, summary names the host and counts.
	code, out, _ := runCLI(t, "-status", "-config", path)
	if code != 0 || !strings.Contains(out, "127.0.0.1 OK: 3/3 nodes up, 2 partitions") {
		t.Fatalf("-status on a healthy host: exit %d, output:\n%s", code, out)
	}

	// The JSON keeps the field names scripts rely on; roles come from Redis.
	resp, err := http.Get("http://" + httpd + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, k := range []string{"host", "status", "nodes"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	for _, n := range raw["nodes"].([]any) {
		for _, k := range []string{"name", "partition", "role", "state", "pid", "port", "restarts", "since", "error"} {
			if _, ok := n.(map[string]any)[k]; !ok {
				t.Errorf("JSON node has no %q: %v", k, n)
			}
		}
	}
	s := waitStatus(t, httpd, "r0 as a replica", func(s supervisor.Snapshot) bool { return nodeIn(s, "r0").Role == "replica" })
	if nodeIn(s, "n0").Role != "master" || nodeIn(s, "n0").UsedMemory == 0 {
		t.Errorf("n0 from INFO: role %q memory %d", nodeIn(s, "n0").Role, nodeIn(s, "n0").UsedMemory)
	}

	// kill -9: seen restarted through the JSON.
	before := nodeIn(s, "n1")
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, httpd, "n1 replaced", func(s supervisor.Snapshot) bool {
		n := nodeIn(s, "n1")
		return n.State == supervisor.Up && n.PID != before.PID && n.Restarts == 1
	})

	// SIGSTOP: hung, killed, replaced.
	stopped := nodeIn(fetchStatus(t, httpd), "n1")
	if err := syscall.Kill(stopped.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(stopped.PID, syscall.SIGKILL) })
	waitStatus(t, httpd, "hung n1 replaced", func(s supervisor.Snapshot) bool {
		n := nodeIn(s, "n1")
		return n.State == supervisor.Up && n.PID != stopped.PID
	})
	d.waitLog(t, 1, "to=hung")

	// Stopping the replica: DEGRADED, exit 1.
	code, out, errOut := runCLI(t, "-stop", "r0", "-config", path)
	if code != 0 || !strings.Contains(out, "r0") || !strings.Contains(out, "stopped") {
		t.Fatalf("-stop r0: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "-status", "-config", path)
	if code != 1 || !strings.Contains(out, "DEGRADED: 2/3") || !strings.Contains(out, "r0") {
		t.Errorf("-status with r0 stopped: exit %d, output:\n%s", code, out)
	}

	// Stopping n1 leaves partition 1 without a master: HALT, exit 2.
	if code, out, errOut := runCLI(t, "-stop", "n1", "-config", path); code != 0 {
		t.Fatalf("-stop n1: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "-status", "-config", path)
	if code != 2 || !strings.Contains(out, "HALT") || !strings.Contains(out, "partition 1 without a live master") {
		t.Errorf("-status with n1 stopped: exit %d, output:\n%s", code, out)
	}
	code, out, _ = runCLI(t, "-status", "-format", "list", "-config", path)
	for _, name := range []string{"n0", "r0", "n1"} {
		if !strings.Contains(out, name) {
			t.Errorf("-format list (exit %d) does not name %s:\n%s", code, name, out)
		}
	}

	// The page parses as HTML and names every node; /metrics parses.
	checkPage(t, httpd, []string{"n0", "r0", "n1"})
	checkMetrics(t, httpd, map[string]float64{"n0": 1, "r0": 0, "n1": 0})

	// Operator stops survive a twined restart.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-d.done
	if d.err != nil {
		t.Fatalf("twined exit after SIGTERM: %v", d.err)
	}
	d = startDaemon(t, path)
	d.waitLog(t, 1, "status listener")
	s = waitStatus(t, httpd, "n0 up", func(s supervisor.Snapshot) bool { return nodeIn(s, "n0").State == supervisor.Up })
	for _, name := range []string{"r0", "n1"} {
		if n := nodeIn(s, name); n.State != supervisor.Stopped || n.PID != 0 {
			t.Errorf("%s after a twined restart: state %s pid %d, want stopped", name, n.State, n.PID)
		}
	}
	if code, out, errOut := runCLI(t, "-start", "all", "-config", path); code != 0 {
		t.Fatalf("-start all: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "-status", "-config", path); code != 0 {
		t.Errorf("-status after -start all: exit %d\n%s", code, out)
	}
	oldPID := nodeIn(fetchStatus(t, httpd), "n0").PID
	if code, out, errOut := runCLI(t, "-restart", "n0", "-config", path); code != 0 {
		t.Fatalf("-restart n0: exit %d\n%s%s", code, out, errOut)
	}
	if n := nodeIn(fetchStatus(t, httpd), "n0"); n.PID == oldPID || !n.State.Alive() {
		t.Errorf("n0 after -restart: pid %d (was %d) state %s", n.PID, oldPID, n.State)
	}

	// Bad input.
	code, _, errOut = runCLI(t, "-stop", "n9", "-config", path)
	if code != 1 || !strings.Contains(errOut, `unknown node "n9"`) || !strings.Contains(errOut, "did you mean") {
		t.Errorf("-stop n9: exit %d, stderr %s", code, errOut)
	}
	for _, c := range []struct {
		method, url string
		want        int
	}{
		{"GET", "/control/stop?node=n0", http.StatusMethodNotAllowed},
		{"POST", "/status", http.StatusMethodNotAllowed},
		{"GET", "/status?format=yaml", http.StatusBadRequest},
		{"GET", "/status?format=%zz", http.StatusBadRequest},
		{"GET", "/status?colour=red", http.StatusBadRequest},
		{"POST", "/control/stop", http.StatusBadRequest},
		{"POST", "/control/explode?node=n0", http.StatusNotFound},
		{"GET", "/nothing", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(c.method, "http://"+httpd+c.url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.url, resp.StatusCode, c.want)
		}
	}

	// twined gone: -status says so, asks the nodes directly, exits 3.
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	code, out, _ = runCLI(t, "-status", "-config", path)
	if code != 3 || !strings.Contains(out, "twined is not answering") || strings.Count(out, "PONG") != 3 {
		t.Errorf("-status without twined: exit %d, output:\n%s", code, out)
	}
}

// checkPage fetches / and checks it parses as HTML naming every node.
func checkPage(t *testing.T, httpd string, names []string) {
	t.Helper()
	resp, err := http.Get("http://" + httpd + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("page content type %q", ct)
	}
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("page does not parse: %v", err)
	}
	var cells []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "div" {
			for _, a := range n.Attr {
				if a.Key == "class" && strings.HasPrefix(a.Val, "n ") && n.FirstChild != nil {
					cells = append(cells, strings.TrimSpace(n.FirstChild.Data))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, name := range names {
		if !slices.Contains(cells, name) {
			t.Errorf("page grid has no cell for %s (cells %v)", name, cells)
		}
	}
}

// checkMetrics parses /metrics and checks twine_node_up per node.
func checkMetrics(t *testing.T, httpd string, up map[string]float64) {
	t.Helper()
	resp, err := http.Get("http://" + httpd + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	for _, name := range []string{"twine_node_up", "twine_node_state", "twine_node_restarts_total", "twine_check_latency_seconds", "twine_host_status", "twine_events_dropped_total"} {
		if families[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	got := map[string]float64{}
	for _, m := range families["twine_node_up"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "node" {
				got[l.GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	for name, want := range up {
		if got[name] != want {
			t.Errorf("twine_node_up{node=%q} = %v, want %v", name, got[name], want)
		}
	}
	if v := families["twine_host_status"].GetMetric()[0].GetGauge().GetValue(); v != float64(supervisor.Halt) {
		t.Errorf("twine_host_status = %v, want %d (HALT)", v, supervisor.Halt)
	}
}
