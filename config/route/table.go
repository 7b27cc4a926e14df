package route

import (
	"maps"
	"strings"
)

// Command is one entry of Redis's command table (COMMAND INFO), reduced to
// what routing needs. Subcommands of a container command (CONFIG GET,
// OBJECT ENCODING, XINFO STREAM...) are Commands of their own, named
// "container|sub", whose key positions count from the container's name.
type Command struct {
	Name     string    `json:"name"`  // lower case, "container|sub" for a subcommand
	Arity    int       `json:"arity"` // N: exactly N arguments with the name; -N: at least N
	Flags    []string  `json:"flags,omitempty"`
	FirstKey int       `json:"first_key,omitempty"` // legacy key positions (before key specs)
	LastKey  int       `json:"last_key,omitempty"`
	Step     int       `json:"step,omitempty"`
	KeySpecs []KeySpec `json:"key_specs,omitempty"`
	// Subcommands by lower-case subcommand name (without "container|").
	Subcommands map[string]*Command `json:"subcommands,omitempty"`
}

// KeySpec is one Redis 7 key specification: where to start looking
// (BeginSearch) and how to find the keys from there (FindKeys). See
// https://redis.io/docs/reference/key-specs/.
type KeySpec struct {
	Flags       []string    `json:"flags,omitempty"`
	BeginSearch BeginSearch `json:"begin_search"`
	FindKeys    FindKeys    `json:"find_keys"`
}

// BeginSearch is where a key spec starts: at a fixed argument index
// ("index"), after a keyword searched from StartFrom ("keyword"; a negative
// StartFrom counts from the end and searches backwards), or "unknown".
type BeginSearch struct {
	Type      string `json:"type"`
	Index     int    `json:"index,omitempty"`
	Keyword   string `json:"keyword,omitempty"`
	StartFrom int    `json:"startfrom,omitempty"`
}

// FindKeys is how a key spec finds keys from its start: a "range" (LastKey
// relative to the start, or from the end when negative; KeyStep between
// keys; Limit splits the remaining arguments when LastKey is -1), a
// "keynum" (the number of keys is at KeyNumIdx after the start, the first
// key at FirstKey after it), or "unknown".
type FindKeys struct {
	Type      string `json:"type"`
	LastKey   int    `json:"lastkey,omitempty"`
	KeyStep   int    `json:"keystep,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	KeyNumIdx int    `json:"keynumidx,omitempty"`
	FirstKey  int    `json:"firstkey,omitempty"`
}

// keyResult says what Command.keys could tell.
type keyResult int

const (
	keysFound   keyResult = iota // the positions are complete (maybe none)
	keysAsk                      // only Redis can tell (COMMAND GETKEYS)
	keysInvalid                  // the arguments cannot be valid: Redis will reject them
)

// HasFlag reports whether the command has the flag (e.g. "readonly").
func (c *Command) HasFlag(flag string) bool {
	for _, f := range c.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// arityOK reports whether argc arguments (name included) fit the arity.
func (c *Command) arityOK(argc int) bool {
	if c.Arity >= 0 {
		return argc == c.Arity
	}
	return argc >= -c.Arity
}

// keys appends the positions of the key arguments of args (args[0] is the
// command name) to dst, following the key specs as Redis does
// (getKeysUsingKeySpecs), or the legacy first/last/step positions when the
// command has no key specs (Redis before 7).
func (c *Command) keys(args [][]byte, dst []int) ([]int, keyResult) {
	argc := len(args)
	if !c.arityOK(argc) {
		return dst, keysInvalid
	}
	if len(c.KeySpecs) == 0 {
		return c.legacyKeys(argc, dst)
	}
	for i := range c.KeySpecs {
		ks := &c.KeySpecs[i]
		if ks.BeginSearch.Type == "unknown" || ks.FindKeys.Type == "unknown" || hasString(ks.Flags, "incomplete") {
			return dst, keysAsk
		}
		var res keyResult
		if dst, res = ks.keys(args, dst); res != keysFound {
			return dst, res
		}
	}
	return dst, keysFound
}

// keys applies one key spec (see Command.keys).
func (ks *KeySpec) keys(args [][]byte, dst []int) ([]int, keyResult) {
	argc := len(args)
	var first int
	switch bs := ks.BeginSearch; bs.Type {
	case "index":
		first = bs.Index
	case "keyword":
		first = keywordStart(args, bs.Keyword, bs.StartFrom)
		if first < 0 {
			return dst, keysFound // the keyword is optional and absent
		}
	default:
		return dst, keysAsk
	}
	if first >= argc {
		return dst, keysFound // optional trailing keys absent
	}
	var last, step int
	switch fk := ks.FindKeys; fk.Type {
	case "range":
		step = fk.KeyStep
		switch {
		case fk.LastKey >= 0:
			last = first + fk.LastKey
		case fk.Limit <= 1:
			last = argc + fk.LastKey
		default:
			last = first + (argc-first)/fk.Limit + fk.LastKey
		}
	case "keynum":
		if first+fk.KeyNumIdx >= argc {
			return dst, keysInvalid
		}
		n, ok := atoi(args[first+fk.KeyNumIdx])
		if !ok || n < 0 {
			return dst, keysInvalid
		}
		step = fk.KeyStep
		first += fk.FirstKey
		if n == 0 {
			return dst, keysFound
		}
		last = first + (n-1)*max(step, 1)
	default:
		return dst, keysAsk
	}
	if step < 1 {
		step = 1
	}
	if last >= argc || last < first {
		return dst, keysInvalid
	}
	for i := first; i <= last; i += step {
		dst = append(dst, i)
	}
	return dst, keysFound
}

// legacyKeys finds keys from COMMAND's first/last/step, the only key
// information of Redis before 7.
func (c *Command) legacyKeys(argc int, dst []int) ([]int, keyResult) {
	if c.HasFlag("movablekeys") {
		return dst, keysAsk
	}
	if c.FirstKey <= 0 {
		return dst, keysFound
	}
	last := c.LastKey
	if last < 0 {
		last += argc
	}
	step := max(c.Step, 1)
	if last >= argc || last < c.FirstKey {
		return dst, keysInvalid
	}
	for i := c.FirstKey; i <= last; i += step {
		dst = append(dst, i)
	}
	return dst, keysFound
}

// keywordStart returns the index after keyword, searched from startFrom
// (forwards; backwards from argc+startFrom when negative), or -1.
func keywordStart(args [][]byte, keyword string, startFrom int) int {
	argc := len(args)
	if startFrom >= 0 {
		for i := startFrom; i < argc; i++ {
			if i >= 1 && strings.EqualFold(string(args[i]), keyword) {
				return i + 1
			}
		}
		return -1
	}
	for i := argc + startFrom; i >= 1; i-- {
		if i < argc && strings.EqualFold(string(args[i]), keyword) {
			return i + 1
		}
	}
	return -1
}

// atoi parses a decimal integer argument as Redis's string2ll does (no
// sign other than '-', no spaces).
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Table is Redis's command table, by lower-case command name. A Table is
// immutable once built; Router replaces it as a whole when it learns a
// command.
type Table struct {
	// Version is the redis_version of the node the table was read from.
	Version  string              `json:"version"`
	Commands map[string]*Command `json:"commands"`
}

// Lookup returns the command args run: for a container command (CONFIG,
// OBJECT...) with a known subcommand in args[1], the subcommand. It
// returns nil when the table does not know args[0]. It does not allocate
// for names of up to 64 bytes.
func (t *Table) Lookup(args [][]byte) *Command {
	if len(args) == 0 {
		return nil
	}
	c, _ := t.resolve(args)
	return c
}

// with returns a copy of t that also holds c.
func (t *Table) with(c *Command) *Table {
	n := &Table{Version: t.Version, Commands: maps.Clone(t.Commands)}
	if n.Commands == nil {
		n.Commands = make(map[string]*Command)
	}
	n.Commands[c.Name] = c
	return n
}

// lookup finds name in m case-insensitively (m's keys are lower case)
// without allocating for names of up to 64 bytes.
func lookup(m map[string]*Command, name []byte) *Command {
	var buf [64]byte
	if len(name) > len(buf) {
		return m[strings.ToLower(string(name))]
	}
	l := buf[:len(name)]
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		l[i] = c
	}
	return m[string(l)]
}
