//go:build unix

package hash

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// script writes an executable /bin/sh script with body into dir and returns
// its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// newExecFunc returns the exec function of path, with timeout if it is not 0.
func newExecFunc(t *testing.T, path string, timeout time.Duration) *execFunc {
	t.Helper()
	f := mustNew(t, "exec "+path).(*execFunc)
	if timeout != 0 {
		f.timeout = timeout
	}
	return f
}

func TestExecAnswers(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	// Answers the key's length modulo n, with white space around it, and
	// records its arguments.
	path := script(t, dir, "len.sh", `printf '%s\n' "$#" "$1" "$2" > "`+args+`"
printf '  %d \n\n' $(( ${#1} % $2 ))`)
	f := newExecFunc(t, path, 0)
	if f.Name() != "exec "+path {
		t.Errorf("Name() = %q, want %q", f.Name(), "exec "+path)
	}
	if f.timeout != 2*time.Second {
		t.Errorf("default timeout = %v, want 2s", f.timeout)
	}
	tests := []struct {
		key    string
		n      int
		hashed string
	}{
		{"abcdefghij", 7, "abcdefghij"},
		{"{user1000}.following", 16, "user1000"},
		{"foo{{bar}}zap", 3, "{bar"},
		{"", 5, ""},
		{"with space and 'quotes'", 100, "with space and 'quotes'"},
		{"-n", 16, "-n"},
	}
	for _, tt := range tests {
		p, err := f.Partition([]byte(tt.key), tt.n)
		if want := len(tt.hashed) % tt.n; p != want || err != nil {
			t.Errorf("Partition(%q, %d) = %d, %v; want %d", tt.key, tt.n, p, err, want)
		}
		got, err := os.ReadFile(args)
		if err != nil {
			t.Fatal(err)
		}
		if want := "2\n" + tt.hashed + "\n" + strconv.Itoa(tt.n) + "\n"; string(got) != want {
			t.Errorf("Partition(%q, %d): program got arguments %q, want %q", tt.key, tt.n, got, want)
		}
	}
}

func TestExecBadAnswers(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		want       string // the whole error text after "hash program PATH: "
	}{
		{"garbage", "echo abc", `answered "abc" for key "k": not a number`},
		{"two numbers", "echo 1; echo 2", `answered "1\n2" for key "k": not a number`},
		{"hex", "echo 0x3", `answered "0x3" for key "k": not a number`},
		{"empty", "true", `answered nothing for key "k"`},
		{"too large", "echo 17", `answered 17 for key "k", outside 0..15`},
		{"equal to n", "echo 16", `answered 16 for key "k", outside 0..15`},
		{"negative", "echo -1", `answered -1 for key "k", outside 0..15`},
		{"overflow", "echo 99999999999999999999999", `answered 99999999999999999999999 for key "k", outside 0..15`},
		{"too long", "head -c 10000 /dev/zero", `answered more than 4096 bytes for key "k"`},
	}
	var paths []string
	for i, tt := range tests {
		paths = append(paths, script(t, dir, "bad"+strconv.Itoa(i)+".sh", tt.body))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newExecFunc(t, paths[i], 0)
			p, err := f.Partition([]byte("k"), 16)
			if !errors.Is(err, ErrExecOutput) {
				t.Fatalf("Partition = %d, %v; want ErrExecOutput", p, err)
			}
			if want := "hash program " + paths[i] + ": " + tt.want; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

func TestExecFails(t *testing.T) {
	dir := t.TempDir()
	path := script(t, dir, "fail.sh", `echo 3
echo >&2
echo "  bad key: $1  " >&2
echo "second line" >&2
exit 3`)
	p, err := newExecFunc(t, path, 0).Partition([]byte("{k}x"), 16)
	if err == nil {
		t.Fatalf("Partition = %d, want an error", p)
	}
	if errors.Is(err, ErrExecOutput) || errors.Is(err, ErrExecTimeout) {
		t.Errorf("error %v is not about the exit", err)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("error %v does not wrap an exit status of 3", err)
	}
	if want := "hash program " + path + `: exited with status 3 for key "k": bad key: k`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	// No stderr, killed by a signal.
	path = script(t, dir, "killed.sh", `kill -9 $$`)
	_, err = newExecFunc(t, path, 0).Partition([]byte("k"), 16)
	if want := "hash program " + path + `: ended by signal: killed for key "k"`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}

	// Gone since New.
	path = script(t, dir, "gone.sh", `echo 0`)
	f := newExecFunc(t, path, 0)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = f.Partition([]byte("k"), 16)
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "hash program "+path+": ") {
		t.Errorf("error %v, want one naming %s and wrapping fs.ErrNotExist", err, path)
	}
}

func TestExecTimeout(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	// The shell waits for a sleep of its own, so both must be killed.
	path := script(t, dir, "hang.sh", `sleep 30 &
echo $$ $! > "`+pids+`"
wait`)
	f := newExecFunc(t, path, 300*time.Millisecond)
	start := time.Now()
	p, err := f.Partition([]byte("k"), 16)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrExecTimeout) {
		t.Fatalf("Partition = %d, %v; want ErrExecTimeout", p, err)
	}
	if want := "hash program " + path + `: timed out after 300ms for key "k"`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if elapsed > 10*time.Second {
		t.Errorf("Partition returned after %v, want soon after the 300ms timeout", elapsed)
	}
	data, err := os.ReadFile(pids)
	if err != nil {
		t.Fatalf("the script did not record its pids before the timeout: %v", err)
	}
	for _, field := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(field)
		if err != nil {
			t.Fatal(err)
		}
		waitGone(t, pid)
	}
}

// waitGone fails the test unless process pid has ended (or is a zombie
// nobody reaps) within 5 seconds.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !processGone(pid) {
		select {
		case <-deadline:
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still runs after the timeout", pid)
		case <-tick.C:
		}
	}
}

// processGone reports whether pid no longer runs.
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err == nil {
		// pid (comm) STATE ...; comm may hold spaces and parentheses.
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		return bytes.HasPrefix(bytes.TrimSpace(rest), []byte("Z"))
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		return true
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) // no /proc
}

func TestExecBadKey(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	path := script(t, dir, "mark.sh", `touch "`+ran+`"; echo 0`)
	f := newExecFunc(t, path, 0)
	for _, key := range [][]byte{
		[]byte("a\x00b"),
		[]byte("{\x00}"),
		bytes.Repeat([]byte("k"), maxArgLen+1),
	} {
		p, err := f.Partition(key, 16)
		if !errors.Is(err, ErrKey) || !strings.HasPrefix(err.Error(), "hash program "+path+": ") {
			t.Errorf("Partition(%.20q, 16) = %d, %v; want ErrKey naming the program", key, p, err)
		}
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the program ran for a key it cannot be given")
	}
	// A NUL outside the tag is not passed, so it is no problem.
	if p, err := f.Partition([]byte("{k}\x00"), 16); p != 0 || err != nil {
		t.Errorf("Partition({k}\\x00) = %d, %v; want 0", p, err)
	}
	if p, err := f.Partition(bytes.Repeat([]byte("k"), maxArgLen), 16); p != 0 || err != nil {
		t.Errorf("Partition of the longest key = %d, %v; want 0", p, err)
	}
}

func TestExecConcurrent(t *testing.T) {
	path := script(t, t.TempDir(), "len.sh", `echo $(( ${#1} % $2 ))`)
	f := newExecFunc(t, path, 0)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			key := strings.Repeat("k", i)
			if p, err := f.Partition([]byte(key), 5); p != i%5 || err != nil {
				t.Errorf("Partition(%q, 5) = %d, %v; want %d", key, p, err, i%5)
			}
		})
	}
	wg.Wait()
}

func TestNewExec(t *testing.T) {
	dir := t.TempDir()
	good := script(t, dir, "h.sh", "echo 0")
	plain := filepath.Join(dir, "plain.sh")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\necho 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")

	for _, tt := range []struct {
		spec string
		want string // in the error
	}{
		{"exec", "needs a program"},
		{"exec   ", "needs a program"},
		{"exec " + missing, missing},
		{"exec " + plain, "not executable"},
		{"exec " + dir, "not a regular file"},
	} {
		f, err := New(tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q) = %v, %v; want an error containing %q", tt.spec, f, err, tt.want)
		}
		if errors.Is(err, ErrUnknown) {
			t.Errorf("New(%q): %v wraps ErrUnknown", tt.spec, err)
		}
	}
	if _, err := New("exec " + missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New(exec missing): %v does not wrap fs.ErrNotExist", err)
	}
	if f := mustNew(t, "  exec   "+good+"  "); f.Name() != "exec "+good {
		t.Errorf("Name() = %q, want %q", f.Name(), "exec "+good)
	}
}

// TestExecRelativePath checks that a path without a directory is taken
// relative to the working directory, not looked up in $PATH.
func TestExecRelativePath(t *testing.T) {
	dir := t.TempDir()
	script(t, dir, "h.sh", "echo 1")
	t.Chdir(dir)
	f := mustNew(t, "exec h.sh")
	if f.Name() != "exec h.sh" {
		t.Errorf("Name() = %q, want %q", f.Name(), "exec h.sh")
	}
	if p, err := f.Partition([]byte("k"), 2); p != 1 || err != nil {
		t.Errorf("Partition = %d, %v; want 1", p, err)
	}
	if _, err := New("exec sh"); err == nil {
		t.Error(`New("exec sh") found sh in $PATH, want an error`)
	}
}
