package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twine/twine/config/route/routetest"
	"github.com/twine/twine/procs/redistest"
)

// command returns the test binary set up to run as twine with args.
func command(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

func TestProcessExitCodes(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 2})
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"SET", "k", "v"}, 0},
		{[]string{"LPUSH", "k", "x"}, 1}, // WRONGTYPE
		{[]string{"PING"}, 2},            // no target
	}
	for _, tt := range tests {
		cmd, out, errb := command(t, tt.args...)
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code {
			t.Errorf("twine %v: exit %d, want %d (stdout %q, stderr %q)", tt.args, code, tt.code, out, errb)
		}
	}
}

func TestProcessInterruptedWhileBlocked(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 2})
	cmd, _, errb := command(t, "BLPOP", "queue", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	p, _ := c.Config.Partition([]byte("queue"))
	redistest.Eventually(t, 20*time.Second, func() bool {
		info, err := c.Client(t, p).Info(context.Background(), "clients").Result()
		return err == nil && strings.Contains(info, "blocked_clients:1")
	}, "BLPOP never blocked on partition %d", p)
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(errb.String(), "interrupted") {
			t.Errorf("after SIGINT: %v, stderr %q", err, errb)
		}
		exited <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("twine blocked in BLPOP did not exit on SIGINT")
	}
}
