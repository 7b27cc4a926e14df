package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/config/route/routetest"
	"github.com/twine/twine/procs/redistest"
)

// Keys typed at a terminal.
const (
	enter = "\r"
	ctrlD = "\x04"
	up    = "\x1b[A"
)

// histFile points the prompt's history at a new temporary file.
func histFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history")
	t.Setenv(HistoryEnv, path)
	return path
}

// inOrder fails the test unless got holds every one of wants, in order.
func inOrder(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	rest := got
	for _, w := range wants {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s lacks %q after what came before:\n%s", what, w, got)
			return
		}
		rest = rest[i+len(w):]
	}
}

func TestPrompt(t *testing.T) {
	c := startCluster(t, routetest.Options{Partitions: 3})
	hist := histFile(t)
	key := c.KeyIn(t, "user:", 2)
	at := func(p int) string {
		return fmt.Sprintf("-> p%d %s (partition %d)\n", p, c.Servers[p].Addr, p)
	}
	typed := strings.Join([]string{
		"set " + key + " ann",
		"get " + key,
		"-partition 1",
		"dbsize",
		"-auto",
		"ping",
		"mget " + key + " " + c.KeyIn(t, "k", 0),
		"-all",
		"dbsize",
		"-node p0 dbsize",
		"-all flushdb", "no",
		"auth secret",
		"help",
		"quit",
	}, enter) + enter
	out, code := onTerminal(t, typed)
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	inOrder(t, "the session", out,
		"twine> set "+key+" ann\r\n", at(2), "OK\n",
		"twine> get "+key+"\r\n", at(2), "\"ann\"\n",
		"twine> -partition 1\r\n",
		"twine partition 1> dbsize\r\n", at(1), "(integer) 0\n",
		"twine partition 1> -auto\r\n",
		"twine> ping\r\n", "twine: PING has no key to route by: run it with -partition N, -node NAME or -all",
		"twine> mget ", "-> partitions 0, 2 (split: p0, p2)\n", "1) \"ann\"\n2) (nil)\n",
		"twine> -all\r\n",
		"twine all> dbsize\r\n", "p0: (integer) 0\np1: (integer) 0\np2: (integer) 1\ntotal: (integer) 1\n",
		"twine all> -node p0 dbsize\r\n", at(0), "(integer) 0\n",
		"twine all> -all flushdb\r\n", "FLUSHDB on all 3 masters", "type yes to go ahead: no\r\n", "twine: not confirmed, nothing was sent\n",
		"twine all> auth secret\r\n",
		"twine all> help\r\n", "-partition N", "-auto", "quit, exit",
		"twine all> quit\r\n",
	)
	if got := c.Where(t, key); len(got) != 1 {
		t.Errorf("the FLUSHDB not confirmed ran: %s in %v", key, got)
	}
	// The history file has the lines, without the password or the answer to
	// the confirmation.
	data, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if h := string(data); !strings.HasPrefix(h, "set "+key+" ann\nget "+key+"\n-partition 1\n") || strings.Contains(h, "secret") || strings.Contains(h, "\nno\n") {
		t.Errorf("history file:\n%s", h)
	}
}

func TestPromptHistory(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 2})
	hist := histFile(t)
	// Ctrl-D leaves; the history is kept for the next session, where the
	// up arrow brings the last line back.
	out, code := onTerminal(t, "incr n"+enter+"incr n"+enter+ctrlD)
	if code != 0 || strings.Count(out, "(integer)") != 2 {
		t.Errorf("first session: exit %d\n%s", code, out)
	}
	if data, _ := os.ReadFile(hist); string(data) != "incr n\n" {
		t.Errorf("history file %q, want one line (repeats are kept once)", data)
	}
	out, code = onTerminal(t, up+enter+ctrlD)
	if code != 0 || !strings.Contains(out, "twine> incr n\r\n") || !strings.Contains(out, "(integer) 3\n") {
		t.Errorf("second session: exit %d\n%s", code, out)
	}
}

func TestPromptEndsWithContext(t *testing.T) {
	startCluster(t, routetest.Options{Partitions: 1})
	histFile(t)
	tm := openTerminal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Nothing is typed: the prompt waits for a line until ctx ends, as
	// with SIGTERM.
	ended := make(chan error, 1)
	go func() { ended <- run(ctx, nil, tm.tty, tm.tty, tm.tty) }()
	redistest.Eventually(t, 20*time.Second, func() bool { return strings.Contains(tm.out.String(), "twine> ") }, "no prompt: %q", tm.out.String())
	cancel()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("run = %v, want interrupted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the prompt did not end with its context")
	}
	tm.output(t)
}

func TestHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h")
	var old []string
	for i := range histMax + 10 {
		old = append(old, fmt.Sprintf("get k%d", i))
	}
	if err := os.WriteFile(path, []byte(strings.Join(old, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := loadHistory(path)
	if h.Len() != histMax || h.At(0) != old[len(old)-1] || h.At(histMax-1) != old[10] || h.takeErr() != nil {
		t.Fatalf("loaded %d lines, newest %q, oldest %q", h.Len(), h.At(0), h.At(h.Len()-1))
	}
	for _, line := range []string{
		"", "   ", "AUTH pw", "auth user pw", "HELLO 3 AUTH u p", "acl setuser u on >pw",
		"CONFIG SET requirepass x", "config set masterauth x", "MIGRATE h 1 k 0 5 AUTH pw",
		"-partition 1 auth pw", "-all AUTH pw", "get k1009",
	} {
		h.Add(line)
	}
	if h.Len() != histMax || h.At(0) != "get k1009" {
		t.Errorf("blank, secret or repeated lines were kept: newest %q", h.At(0))
	}
	h.Add("config get maxmemory")
	h.Add("hello 3")
	if h.At(1) != "config get maxmemory" || h.At(0) != "hello 3" || h.Len() != histMax {
		t.Errorf("newest %q, %q; %d lines", h.At(0), h.At(1), h.Len())
	}
	data, _ := os.ReadFile(path)
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != histMax+2 || lines[len(lines)-1] != "hello 3" {
		t.Errorf("file has %d lines, last %q", len(lines), lines[len(lines)-1])
	}
}
