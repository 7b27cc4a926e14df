package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/procs/redistest"
)

// twinedBin is the twined binary built once for the tests that need a real
// process (signals, adoption).
var twinedBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "twined-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	twinedBin = filepath.Join(dir, "twined")
	if out, err := exec.Command("go", "build", "-race", "-o", twinedBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build twined: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCLI runs twined in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	code := mainutil.ExitCode("twined", err, &errb)
	return code, out.String(), errb.String()
}

const fixture = "../../config/testdata/original-64.twine.conf"

func copyFixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatalf("the original 64-partition fixture is needed: %v", err)
	}
	path := filepath.Join(t.TempDir(), "twine.conf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFlags(t *testing.T) {
	code, out, _ := runCLI(t, "-version")
	if code != 0 || !strings.HasPrefix(out, "twined ") {
		t.Errorf("-version: code %d, out %q", code, out)
	}
	code, _, errOut := runCLI(t, "-h")
	if code != 0 {
		t.Errorf("-h: code %d", code)
	}
	for _, f := range []string{"-config", "-host", "-check", "-setup", "-version", "-log-level", "-log-format"} {
		if !strings.Contains(errOut, "  "+f) {
			t.Errorf("-h does not document %s", f)
		}
	}
	if code, _, errOut := runCLI(t, "-bogus"); code != 2 || !strings.Contains(errOut, "Usage") {
		t.Errorf("unknown flag: code %d, stderr %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "-check", "-setup"); code != 2 {
		t.Errorf("-check -setup: code %d, want 2", code)
	}
	if code, _, errOut := runCLI(t, "-log-format", "xml", "-config", copyFixture(t), "-host", "localhost"); code != 2 || !strings.Contains(errOut, "-log-format") {
		t.Errorf("bad -log-format: code %d, stderr %q", code, errOut)
	}
}

func TestCheckFixture(t *testing.T) {
	code, out, errOut := runCLI(t, "-check", "-config", copyFixture(t))
	if code != 0 {
		t.Fatalf("code %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"twine.conf: ok", "64 partitions, 64 data nodes", "localhost  32", "127.0.0.1  32", "0-31", "32-63", "alerts are logged only"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckInvalidListsEveryError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(path, []byte("a=data 0 h 1 0\nset check-intervl 1s\nb=data 2 h 70000 0\n"), 0o644)
	code, _, errOut := runCLI(t, "-check", "-config", path)
	if code != 1 {
		t.Fatalf("code %d, want 1", code)
	}
	for _, want := range []string{
		path + ":2: unknown setting \"check-intervl\" (did you mean check-interval?)",
		path + ":3: port 70000 is out of range 1-65535",
		path + ": partitions must be 0..2: 1 is missing",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestCheckDemo(t *testing.T) {
	defaultConfig = filepath.Join(t.TempDir(), "absent.conf")
	t.Cleanup(func() { defaultConfig = DefaultConfig })
	code, out, errOut := runCLI(t, "-check")
	if code != 0 || !strings.Contains(out, "embedded demo config: ok") {
		t.Fatalf("code %d, out %s, stderr %s", code, out, errOut)
	}
}

func TestSetupFixtureHosts(t *testing.T) {
	path := copyFixture(t)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		code, out, errOut := runCLI(t, "-setup", "-config", path, "-host", host)
		if code != 0 || !strings.Contains(out, "set up 32 nodes of "+host) {
			t.Fatalf("-setup -host %s: code %d, out %s, stderr %s", host, code, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "partitions/127.0.0.1/b4263/redis.conf")); err != nil {
		t.Error(err)
	}
	code, _, errOut := runCLI(t, "-setup", "-config", path, "-host", "db9")
	if code != 1 || !strings.Contains(errOut, "hosts: localhost, 127.0.0.1") {
		t.Errorf("unknown host: code %d, stderr %s", code, errOut)
	}
}

// daemon is a twined process started by a test.
type daemon struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
	err  error
}

func (d *daemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.Write(p)
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.String()
}

func startDaemon(t *testing.T, config string, extra ...string) *daemon {
	t.Helper()
	return startDaemonCmd(t, "twined", exec.Command(twinedBin, append([]string{"-config", config, "-log-level", "debug"}, extra...)...))
}

// startDaemonCmd starts cmd, a twined (maybe inside a wrapper such as ip netns
// exec), with its stderr kept as the daemon's log; the test's cleanup
// kills it, waits for it and, when the test failed, logs what it wrote
// under the name who.
func startDaemonCmd(t *testing.T, who string, cmd *exec.Cmd) *daemon {
	t.Helper()
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	d.cmd.Stdout = io.Discard
	d.cmd.Stderr = d
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("%s output:\n%s", who, d.output())
		}
	})
	return d
}

func (d *daemon) waitLog(t *testing.T, count int, text string) {
	t.Helper()
	redistest.Eventually(t, 30*time.Second, func() bool {
		return strings.Count(d.output(), text) >= count
	}, "twined never logged %q %d times", text, count)
}

func readPID(t *testing.T, pidfile string) int {
	t.Helper()
	var pid int
	redistest.Eventually(t, 10*time.Second, func() bool {
		b, err := os.ReadFile(pidfile)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, "no pid in %s", pidfile)
	return pid
}

// alive reports whether pid runs: exists and is not a zombie (an orphaned
// node is reparented to PID 1, which may not reap it).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// TestDaemonSurvivesItsOwnDeath runs twined, SIGKILLs it, checks that its
// nodes keep running, runs a new twined that adopts them with the same
// PIDs, and stops it with SIGTERM: every node saves and exits, exit 0.
func TestDaemonSurvivesItsOwnDeath(t *testing.T) {
	dir := t.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, "set redis-server %s\nset httpd 127.0.0.1:%d\nset check-interval 200ms\nset check-timeout 200ms\n",
		redistest.Binary(t), redistest.FreePort(t))
	ports := []int{redistest.FreePort(t), redistest.FreePort(t), redistest.FreePort(t)}
	for i, p := range ports {
		fmt.Fprintf(&conf, "n%d=data %d 127.0.0.1 %d 0\n", i, i, p)
	}
	path := filepath.Join(dir, "twine.conf")
	os.WriteFile(path, []byte(conf.String()), 0o644)
	pidfile := func(i int) string {
		return filepath.Join(dir, "partitions/127.0.0.1", fmt.Sprintf("n%d", i), "redis.pid")
	}

	first := startDaemon(t, path)
	first.waitLog(t, 1, "every node answers")
	pids := make([]int, len(ports))
	for i := range ports {
		pids[i] = readPID(t, pidfile(i))
		t.Cleanup(func() { _ = syscall.Kill(pids[i], syscall.SIGKILL) })
	}
	_ = first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.done
	for i, pid := range pids {
		if !alive(pid) {
			t.Fatalf("node n%d (pid %d) died with twined", i, pid)
		}
	}

	second := startDaemon(t, path)
	second.waitLog(t, 1, "every node answers")
	if got := strings.Count(second.output(), "adopted running process"); got != len(ports) {
		t.Errorf("%d nodes adopted, want %d", got, len(ports))
	}
	if strings.Contains(second.output(), "node starting") {
		t.Errorf("the second twined started a node instead of adopting it")
	}
	for i, pid := range pids {
		if got := readPID(t, pidfile(i)); got != pid {
			t.Errorf("n%d: pid %d after adoption, want %d", i, got, pid)
		}
	}

	_ = second.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-second.done:
	case <-time.After(30 * time.Second):
		t.Fatal("twined did not exit after SIGTERM")
	}
	var ee *exec.ExitError
	if second.err != nil && !errors.As(second.err, &ee) {
		t.Fatal(second.err)
	}
	if second.err != nil {
		t.Errorf("twined exited with %v after SIGTERM, want 0", second.err)
	}
	for i, pid := range pids {
		if alive(pid) {
			t.Errorf("node n%d (pid %d) still running after twined stopped", i, pid)
		}
	}
}

// TestTestAlertSaysWhyItFailed runs -test-alert against a port nothing
// listens on: exit 1 and a message naming the server and the reason.
func TestTestAlertSaysWhyItFailed(t *testing.T) {
	dir := t.TempDir()
	port := redistest.FreePort(t)
	conf := fmt.Sprintf("set mailserver 127.0.0.1:%d\nset alert ops@example.com\nn0=data 0 127.0.0.1 %d 0\n", port, redistest.FreePort(t))
	path := filepath.Join(dir, "twine.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "-test-alert", "-config", path)
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("127.0.0.1:%d", port)) || !strings.Contains(errOut, "connection refused") {
		t.Errorf("-test-alert with no mail server: exit %d, stderr %q", code, errOut)
	}
}

// TestJSONLogsCarryNodeFields checks that with -log-format json every line
// about a node carries its name, port and partition as fields.
func TestJSONLogsCarryNodeFields(t *testing.T) {
	dir := t.TempDir()
	killNodes(t, dir)
	port := redistest.FreePort(t)
	conf := fmt.Sprintf("set redis-server %s\nset httpd 127.0.0.1:%d\nn0=data 0 127.0.0.1 %d 0\n", redistest.Binary(t), redistest.FreePort(t), port)
	path := filepath.Join(dir, "twine.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, path, "-log-format", "json")
	d.waitLog(t, 1, "every node answers")
	found := false
	for _, line := range strings.Split(d.output(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["@module"] != "twined.n0" {
			continue
		}
		if m["node"] != "n0" || m["port"] != float64(port) || m["partition"] != float64(0) {
			t.Errorf("node line without its fields: %s", line)
		}
		found = true
	}
	if !found {
		t.Errorf("no JSON line from twined.n0 in:\n%s", d.output())
	}
}
