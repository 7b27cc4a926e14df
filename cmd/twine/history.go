package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// HistoryEnv names the environment variable that names the prompt's
// history file instead of ~/.twine_history; empty, it keeps the history
// in memory only.
const HistoryEnv = "TWINE_HISTFILE"

// histMax bounds the lines of history kept, in memory and in the file.
const histMax = 1000

// historyPath returns the history file: $TWINE_HISTFILE when set, else
// ~/.twine_history; "" for none.
func historyPath() string {
	if p, ok := os.LookupEnv(HistoryEnv); ok {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".twine_history")
}

// history is the prompt's history for golang.org/x/term's Terminal (its
// History): the last histMax lines, each also appended to a file when it
// has one, as redis-cli keeps ~/.rediscli_history. Blank lines, repeats of
// the last line and lines that carry a password (AUTH, HELLO ... AUTH,
// ACL SETUSER, CONFIG SET requirepass...) are not kept. Its methods are
// called by the Terminal's ReadLine, and by the prompt between reads.
type history struct {
	lines  []string // oldest first
	path   string   // "" when kept in memory only
	paused bool     // lines are not recorded (an answer to a confirmation)
	err    error    // the file's first write error; then the file is left alone
}

// loadHistory reads the history file at path, if any, keeping its last
// histMax lines; a longer file is rewritten with them.
func loadHistory(path string) *history {
	h := &history{path: path}
	if path == "" {
		return h
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return h // none yet, or unreadable: the first Add says so
	}
	for line := range bytes.Lines(data) {
		if s := strings.TrimRight(string(line), "\r\n"); s != "" {
			h.lines = append(h.lines, s)
		}
	}
	if len(h.lines) > histMax {
		h.lines = h.lines[len(h.lines)-histMax:]
		h.err = os.WriteFile(path, []byte(strings.Join(h.lines, "\n")+"\n"), 0o600)
	}
	return h
}

// Add records line as the most recent entry, and appends it to the file.
func (h *history) Add(line string) {
	if h.paused || strings.TrimSpace(line) == "" || len(h.lines) > 0 && h.lines[len(h.lines)-1] == line || secret(line) {
		return
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > histMax {
		h.lines = h.lines[1:]
	}
	if h.path == "" || h.err != nil {
		return
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = f.WriteString(line + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	h.err = err
}

// Len returns the number of entries.
func (h *history) Len() int { return len(h.lines) }

// At returns an entry: 0 is the most recent.
func (h *history) At(i int) string { return h.lines[len(h.lines)-1-i] }

// takeErr returns the file's write error once, the first time it is
// asked after the error; later writes are not tried.
func (h *history) takeErr() error {
	err := h.err
	if err != nil {
		h.path = "" // said once; memory only from now on
	}
	h.err = nil
	return err
}

// secret reports whether a line of the prompt carries a password, as
// redis-cli keeps out of its history: AUTH, HELLO with AUTH, ACL
// SETUSER, MIGRATE with AUTH or AUTH2, CONFIG SET of masterauth,
// masteruser or requirepass; after any switch (-partition 1 AUTH ...).
func secret(line string) bool {
	args, err := splitArgs([]byte(line))
	if err != nil {
		return false
	}
	args = afterSwitches(args)
	if len(args) == 0 {
		return false
	}
	has := func(words ...string) bool {
		for _, a := range args[1:] {
			for _, w := range words {
				if strings.EqualFold(string(a), w) {
					return true
				}
			}
		}
		return false
	}
	switch strings.ToLower(string(args[0])) {
	case "auth":
		return true
	case "hello":
		return has("auth")
	case "migrate":
		return has("auth", "auth2")
	case "acl":
		return len(args) > 1 && strings.EqualFold(string(args[1]), "setuser")
	case "config":
		return len(args) > 1 && strings.EqualFold(string(args[1]), "set") && has("masterauth", "masteruser", "requirepass")
	}
	return false
}

// afterSwitches returns args without the prompt's switches in front
// (-partition N, -node NAME, -all, -auto).
func afterSwitches(args [][]byte) [][]byte {
	for len(args) > 0 {
		switch string(args[0]) {
		case "-partition", "-node":
			args = args[min(2, len(args)):]
		case "-all", "-auto":
			args = args[1:]
		default:
			return args
		}
	}
	return args
}
