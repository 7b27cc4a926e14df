package procs

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadPidfile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	if pid, err := ReadPidfile(write("ok.pid", "4242\n")); err != nil || pid != 4242 {
		t.Errorf("ReadPidfile(4242) = %d, %v", pid, err)
	}
	if pid, err := ReadPidfile(write("spaces.pid", "  17 ")); err != nil || pid != 17 {
		t.Errorf("ReadPidfile(17) = %d, %v", pid, err)
	}

	missing := filepath.Join(dir, "missing.pid")
	_, err := ReadPidfile(missing)
	if !errors.Is(err, ErrNoPidfile) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v, want ErrNoPidfile and fs.ErrNotExist", err)
	}
	if err != nil && !strings.Contains(err.Error(), missing) {
		t.Errorf("missing: %v does not name the file", err)
	}

	for name, content := range map[string]string{
		"empty.pid":    "",
		"junk.pid":     "redis\n",
		"zero.pid":     "0\n",
		"negative.pid": "-5\n",
		"two.pid":      "1 2\n",
		"huge.pid":     strings.Repeat("9", 1000),
	} {
		path := write(name, content)
		_, err := ReadPidfile(path)
		if !errors.Is(err, ErrInvalidPidfile) {
			t.Errorf("%s: %v, want ErrInvalidPidfile", name, err)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v does not name the file", name, err)
		}
	}
}

func TestStateOf(t *testing.T) {
	s, err := StateOf(os.Getpid())
	if err != nil || s.Stopped() || s.Gone() {
		t.Errorf("StateOf(self) = %q, %v; want a running state", s, err)
	}
	if s, err := StateOf(1 << 30); err != nil || !s.Gone() {
		t.Errorf("StateOf(no such pid) = %q, %v; want gone", s, err)
	}
}

func TestPortHolder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	pid, name := PortHolder(port)
	if pid != os.Getpid() || name == "" {
		t.Errorf("PortHolder(%d) = %d %q, want this process (%d)", port, pid, name, os.Getpid())
	}
	l.Close()
	if pid, _ := PortHolder(port); pid != 0 {
		t.Errorf("PortHolder of a closed port = %d", pid)
	}
}
