package redistest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long Server waits for a new redis-server to
// answer PING and write its pidfile.
const startTimeout = 15 * time.Second

// RedisServer is a redis-server started by Server for one test.
type RedisServer struct {
	Addr       string // 127.0.0.1:Port
	Port       int
	PID        int
	Dir        string // fresh temporary directory: config, pidfile, log, data
	ConfigFile string // absolute path of the generated redis.conf
	Pidfile    string // absolute path of the pidfile redis-server writes
	LogFile    string // redis-server's stdout and stderr
}

// Server starts a plain redis-server for the test: port from FreePort, dir
// a fresh tb.TempDir(), and a config file there with port, bind 127.0.0.1,
// daemonize no, pidfile, logfile "", save "", appendonly no, followed by
// extraConfig (one directive per element). The server runs in its own
// process group. Server returns once it answers PING and its pidfile
// exists; it fails the test if it cannot start (retrying a few times on a
// fresh port in case another process took the port).
//
// A cleanup registered on tb kills it by PID with SIGKILL (its process
// group too, for BGSAVE children), unless it has already exited, and waits
// for it. On a failed test the cleanup logs the end of its log file.
func Server(tb testing.TB, extraConfig ...string) *RedisServer {
	tb.Helper()
	bin := Binary(tb)
	var err error
	for range 3 {
		var srv *RedisServer
		if srv, err = startServer(tb, bin, extraConfig); err == nil {
			return srv
		}
		if !errors.Is(err, errEarlyExit) {
			break
		}
	}
	tb.Fatalf("start redis-server: %v", err)
	return nil
}

var errEarlyExit = errors.New("redis-server exited during startup")

func startServer(tb testing.TB, bin string, extraConfig []string) (*RedisServer, error) {
	tb.Helper()
	dir := tb.TempDir()
	port := FreePort(tb)
	srv := &RedisServer{
		Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Port:       port,
		Dir:        dir,
		ConfigFile: filepath.Join(dir, "redis.conf"),
		Pidfile:    filepath.Join(dir, "redis.pid"),
		LogFile:    filepath.Join(dir, "redis.log"),
	}
	conf := []string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"daemonize no",
		"pidfile " + quote(srv.Pidfile),
		`logfile ""`,
		"dir " + quote(dir),
		`save ""`,
		"appendonly no",
	}
	conf = append(conf, extraConfig...)
	if err := os.WriteFile(srv.ConfigFile, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	out, err := os.Create(srv.LogFile)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	cmd := exec.Command(bin, srv.ConfigFile)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	out.Close()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	srv.PID = cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		cmd.Wait() // the exit is read from exited; the status does not matter
		close(exited)
	}()
	tb.Cleanup(func() { srv.stop(tb, cmd, exited) })

	c := newClient(srv.Addr)
	defer c.Close()
	var last error
	up := Poll(startTimeout, func() bool {
		if closed(exited) {
			return true
		}
		// Any reply proves the server is serving (NOAUTH with requirepass).
		var reply redis.Error
		if last = ping(c); last != nil && !errors.As(last, &reply) {
			return false
		}
		_, err := os.Stat(srv.Pidfile)
		last = err
		return err == nil
	})
	switch {
	case closed(exited):
		return nil, fmt.Errorf("%w: port %d: %s", errEarlyExit, port, lastLines(srv.LogFile, 5))
	case !up:
		return nil, fmt.Errorf("redis-server at %s not ready within %v: %v: %s", srv.Addr, startTimeout, last, lastLines(srv.LogFile, 5))
	}
	return srv, nil
}

// stop kills the server (by PID, through cmd.Process, and its process
// group while the PID is still unreaped) and waits for it.
func (s *RedisServer) stop(tb testing.TB, cmd *exec.Cmd, exited <-chan struct{}) {
	if !closed(exited) {
		if pgid, err := syscall.Getpgid(s.PID); err == nil && pgid == s.PID {
			syscall.Kill(-s.PID, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			tb.Errorf("redis-server pid %d did not exit after SIGKILL", s.PID)
		}
	}
	if tb.Failed() {
		tb.Logf("redis-server %s (pid %d) log:\n%s", s.Addr, s.PID, lastLines(s.LogFile, 30))
	}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// lastLines returns the last n lines of a file, for failure messages.
func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// quote quotes a path for redis.conf.
func quote(s string) string { return strconv.Quote(s) }
