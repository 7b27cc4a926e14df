package config_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twine/twine/config"
)

// dataLines returns valid data lines for partitions 0..n-1 on localhost,
// leaving out the partitions in skip.
func dataLines(n int, skip ...int) []string {
	var out []string
	for p := range n {
		if !slices.Contains(skip, p) {
			out = append(out, fmt.Sprintf("p%d=data %d localhost %d 0", p, p, 5000+p))
		}
	}
	return out
}

func TestBadInput(t *testing.T) {
	const nodeHint = `want NAME=data PARTITION HOST PORT DB, NAME=status HOST PORT DB, NAME=sentinel HOST PORT, or set NAME VALUE`
	const badName = `may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit`
	const noData = "twine.conf: no data nodes: add lines like a4200=data 0 127.0.0.1 4200 0"
	tests := []struct {
		name string
		text string
		want []string
	}{
		// Unknown lines.
		{"unknown node type", lines("a=dta 0 localhost 4200 0"),
			[]string{`twine.conf:1: unknown node type "dta": want data, status or sentinel (did you mean data?)`}},
		{"unknown node type status", lines(nodeLine, "s=stats localhost 4201 0"),
			[]string{`twine.conf:2: unknown node type "stats": want data, status or sentinel (did you mean status?)`}},
		{"unknown node type no hint", lines(nodeLine, "r=replica 0 localhost 4201 0"),
			[]string{`twine.conf:2: unknown node type "replica": want data, status or sentinel`}},
		{"node type empty", lines(nodeLine, "r= 0 localhost 4201 0"),
			[]string{`twine.conf:2: unknown node type "": want data, status or sentinel`}},
		{"unknown setting", lines("set chek-interval 2s", nodeLine),
			[]string{`twine.conf:1: unknown setting "chek-interval" (did you mean check-interval?)`}},
		{"unknown setting no hint", lines(nodeLine, "set maxmemory 1gb"),
			[]string{`twine.conf:2: unknown setting "maxmemory"`}},
		{"setting without set", lines(nodeLine, "check-interval 2s"),
			[]string{`twine.conf:2: unknown line "check-interval": settings are written as set check-interval VALUE`}},
		{"unknown line", lines(nodeLine, "a1 data 1 localhost 4201 0"),
			[]string{`twine.conf:2: unknown line "a1": ` + nodeHint}},
		{"original format without host", lines("b4263=data 63 4263 0"),
			[]string{`twine.conf:1: data line has 4 fields, want 5: NAME=data PARTITION HOST PORT DB`}},

		// Field counts.
		{"data too few fields", lines("a=data 0 localhost 4200"),
			[]string{"twine.conf:1: data line has 4 fields, want 5: NAME=data PARTITION HOST PORT DB"}},
		{"data too many fields", lines("a=data 0 localhost 4200 0 extra"),
			[]string{"twine.conf:1: data line has 6 fields, want 5: NAME=data PARTITION HOST PORT DB"}},
		{"data alone", lines(nodeLine, "b=data"),
			[]string{"twine.conf:2: data line has 1 field, want 5: NAME=data PARTITION HOST PORT DB"}},
		{"status too few fields", lines(nodeLine, "s=status localhost 4290"),
			[]string{"twine.conf:2: status line has 3 fields, want 4: NAME=status HOST PORT DB"}},
		{"status with a partition", lines(nodeLine, "s=status 0 localhost 4290 0"),
			[]string{"twine.conf:2: status line has 5 fields, want 4: NAME=status HOST PORT DB"}},

		// Numbers.
		{"partition not a number", lines("a=data x localhost 4200 0"),
			[]string{`twine.conf:1: partition "x" is not a number`}},
		{"partition float", lines("a=data 1.0 localhost 4200 0"),
			[]string{`twine.conf:1: partition "1.0" is not a number`}},
		{"port not a number", lines("a=data 0 localhost 42o0 0"),
			[]string{`twine.conf:1: port "42o0" is not a number`}},
		{"db not a number", lines("a=data 0 localhost 4200 zero"),
			[]string{`twine.conf:1: db "zero" is not a number`}},
		{"status port not a number", lines(nodeLine, "s=status localhost port 0"),
			[]string{`twine.conf:2: port "port" is not a number`}},
		{"negative partition", lines(nodeLine, "a1=data -1 localhost 4201 0"),
			[]string{"twine.conf:2: partition -1 is negative"}},
		{"negative port", lines("a=data 0 localhost -4200 0"),
			[]string{"twine.conf:1: port -4200 is negative"}},
		{"negative db", lines("a=data 0 localhost 4200 -1"),
			[]string{"twine.conf:1: db -1 is negative"}},
		{"huge negative", lines("a=data 0 localhost 4200 -99999999999999999999"),
			[]string{"twine.conf:1: db -9999999999999999999... is negative"}},
		{"huge port", lines("a=data 0 localhost 999999999999999999999 0"),
			[]string{"twine.conf:1: port 99999999999999999999... is out of range 1-65535"}},
		{"port beyond int", lines("a=data 0 localhost 99999999999999999999 0"),
			[]string{"twine.conf:1: port 99999999999999999999 is out of range 1-65535"}},
		{"port 0", lines("a=data 0 localhost 0 0"),
			[]string{"twine.conf:1: port 0 is out of range 1-65535"}},
		{"port 65536", lines("a=data 0 localhost 65536 0"),
			[]string{"twine.conf:1: port 65536 is out of range 1-65535"}},
		{"db 1024", lines("a=data 0 localhost 4200 1024"),
			[]string{"twine.conf:1: db 1024 is out of range 0-1023"}},
		{"partition 16384", lines("a=data 16384 localhost 4200 0"),
			[]string{"twine.conf:1: partition 16384 is out of range 0-16383"}},
		{"every field bad", lines("a/b=data x bad!host 0 -1"), []string{
			`twine.conf:1: node name "a/b" ` + badName,
			`twine.conf:1: partition "x" is not a number`,
			`twine.conf:1: host "bad!host" is not a host name or IP address`,
			"twine.conf:1: port 0 is out of range 1-65535",
			"twine.conf:1: db -1 is negative",
		}},

		// Names and hosts.
		{"name with slash", lines("a/b=data 0 localhost 4200 0"),
			[]string{`twine.conf:1: node name "a/b" ` + badName}},
		{"name dot", lines(".=data 0 localhost 4200 0"),
			[]string{`twine.conf:1: node name "." ` + badName}},
		{"name dot dot", lines("..=data 0 localhost 4200 0"),
			[]string{`twine.conf:1: node name ".." ` + badName}},
		{"name starts with dash", lines("-x=data 0 localhost 4200 0"),
			[]string{`twine.conf:1: node name "-x" ` + badName}},
		{"name not ASCII", lines("nœud=data 0 localhost 4200 0"),
			[]string{`twine.conf:1: node name "nœud" ` + badName}},
		{"name empty", lines("=data 0 localhost 4200 0"),
			[]string{"twine.conf:1: node name is empty: write NAME=data ..."}},
		{"name too long", lines(strings.Repeat("n", 65) + "=data 0 localhost 4200 0"),
			[]string{`twine.conf:1: node name "` + strings.Repeat("n", 64) + `..." is longer than 64 characters`}},
		{"bad host", lines("a=data 0 local/host 4200 0"),
			[]string{`twine.conf:1: host "local/host" is not a host name or IP address`}},
		{"host with empty label", lines("a=data 0 web1..example.com 4200 0"),
			[]string{`twine.conf:1: host "web1..example.com" is not a host name or IP address`}},
		{"duplicate name", lines(nodeLine, "a0=data 1 localhost 4201 0"),
			[]string{"twine.conf:2: node name a0 is already used on line 1"}},
		{"duplicate name thrice", lines(nodeLine, "a0=data 1 localhost 4201 0", "a0=status localhost 4290 0"), []string{
			"twine.conf:2: node name a0 is already used on line 1",
			"twine.conf:3: node name a0 is already used on line 1",
		}},
		{"duplicate name of a bad line", lines("a0=data 0 localhost 0 0", "a0=data 0 localhost 4201 0"), []string{
			"twine.conf:1: port 0 is out of range 1-65535",
			"twine.conf:2: node name a0 is already used on line 1",
		}},
		{"duplicate host:port", lines(nodeLine, "a1=data 1 localhost 4200 0"),
			[]string{"twine.conf:2: localhost:4200 is already used by a0 on line 1"}},
		{"same port on two loopback names", lines("a0=data 0 localhost 4200 0", "a1=data 1 127.0.0.1 4200 0", "a2=data 2 ::1 4200 0"), []string{
			"twine.conf:2: 127.0.0.1:4200 is already used by a0 on line 1 (as localhost:4200)",
			"twine.conf:3: [::1]:4200 is already used by a0 on line 1 (as localhost:4200)",
		}},
		{"duplicate host:port status", lines(nodeLine, "s=status localhost 4200 1"),
			[]string{"twine.conf:2: localhost:4200 is already used by a0 on line 1"}},
		{"replica with another db", lines("m=data 0 web1 4200 2", "r=data 0 web2 4200 3"),
			[]string{"twine.conf:2: db 3 differs from db 2 of partition 0's master m on line 1: a replica set shares one db"}},

		// Partitions.
		{"one partition missing", lines(dataLines(64, 17)...),
			[]string{"twine.conf: partitions must be 0..63: 17 is missing"}},
		{"partition 0 missing", lines("a=data 1 localhost 4200 0"),
			[]string{"twine.conf: partitions must be 0..1: 0 is missing"}},
		{"several partitions missing", lines(dataLines(64, 3, 17, 40)...),
			[]string{"twine.conf: partitions must be 0..63: 3, 17 and 40 are missing"}},
		{"many partitions missing", lines("a=data 0 localhost 4200 0", "b=data 20 localhost 4220 0"),
			[]string{"twine.conf: partitions must be 0..20: 1, 2, 3, 4, 5, 6, 7, 8, 9 and 10 are missing (and 9 more)"}},
		{"last partition far away", lines("a=data 16383 localhost 4200 0"),
			[]string{"twine.conf: partitions must be 0..16383: 0, 1, 2, 3, 4, 5, 6, 7, 8 and 9 are missing (and 16373 more)"}},

		// Files that hold no cluster.
		{"empty file", "", []string{noData}},
		{"only comments", lines("# twine.conf", "", "   # nothing yet"), []string{noData}},
		{"only settings", lines("set dir /tmp"), []string{noData}},
		{"only status nodes", lines("s=status localhost 4290 0"), []string{noData}},
		{"NUL bytes", "a=data 0 localhost 4200 0\n\x00\x01\x02\n",
			[]string{"twine.conf: contains NUL bytes: this is not a twine.conf text file"}},
		{"invalid UTF-8", lines(nodeLine, "b=data 1 l\xffcalhost 4201 0"),
			[]string{"twine.conf:2: line is not valid UTF-8 text"}},
		{"invalid UTF-8 in a comment", lines(nodeLine, "# caf\xe9"),
			[]string{"twine.conf:2: line is not valid UTF-8 text"}},

		// Settings.
		{"setting twice", lines("set check-interval 2s", nodeLine, "set check-interval 3s"),
			[]string{"twine.conf:3: check-interval is already set on line 1"}},
		{"setting twice same value", lines("set appendonly yes", "set appendonly yes", nodeLine),
			[]string{"twine.conf:2: appendonly is already set on line 1"}},
		{"set alone", lines(nodeLine, "set"),
			[]string{"twine.conf:2: set needs a setting name and a value"}},
		{"set without value", lines(nodeLine, "set dir # comment"),
			[]string{"twine.conf:2: set dir needs a value"}},
		{"check-timeout above default interval", lines(nodeLine, "set check-timeout 2s"),
			[]string{"twine.conf:2: check-timeout 2s exceeds check-interval 1s"}},
		{"check-timeout above interval", lines("set check-timeout 300ms", nodeLine, "set check-interval 200ms"),
			[]string{"twine.conf:3: check-timeout 300ms exceeds check-interval 200ms"}},
		{"backoff-min above max", lines("set backoff-max 1s", "set backoff-min 2s", nodeLine),
			[]string{"twine.conf:2: backoff-min 2s exceeds backoff-max 1s"}},
		{"backoff-min above default max", lines(nodeLine, "set backoff-min 1m"),
			[]string{"twine.conf:2: backoff-min 1m0s exceeds backoff-max 30s"}},
		{"mail-user without password", lines(nodeLine, "set mail-user ops"),
			[]string{"twine.conf:2: mail-user is set but mail-password-file is not"}},
		{"mail-password-file without user", lines("set mail-password-file smtp.pass", nodeLine),
			[]string{"twine.conf:1: mail-password-file is set but mail-user is not"}},
		{"node on the httpd port", lines(nodeLine, "s4280=status localhost 4280 0"),
			[]string{"twine.conf:2: s4280 listens on localhost:4280, the address of twined's status listener (the default; change it with set httpd HOST:PORT): move one of them"}},
		{"node on a set httpd port", lines("a0=data 0 127.0.0.1 9000 0", "set httpd localhost:9000"),
			[]string{"twine.conf:1: a0 listens on 127.0.0.1:9000, the address of twined's status listener (set httpd localhost:9000): move one of them"}},
		{"node on the port of an all-interfaces httpd", lines("a0=data 0 ::1 9000 0", "set httpd :9000"),
			[]string{"twine.conf:1: a0 listens on [::1]:9000, the address of twined's status listener (set httpd :9000): move one of them"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameStrings(t, "errors", parseErrors(t, tt.text), tt.want)
		})
	}
}

// A node on twined's port of another host does not collide with this one's
// listener, nor does one on another port.
func TestHTTPDPortElsewhere(t *testing.T) {
	mustParse(t, lines("a0=data 0 web1 4280 0", "a1=data 1 localhost 4281 0"))
	mustParse(t, lines("a0=data 0 localhost 4280 0", "set httpd 127.0.0.1:4281"))
}

// Every problem of a file is reported at once, in line order, the problems
// of the file as a whole last.
func TestAllErrorsReported(t *testing.T) {
	text := lines(
		"# a broken file",
		"a0=data 0 localhost 4200 0",
		"a1=data 1 localhost 4200 0",    // 3: duplicate host:port
		"set check-timeout 5s",          // 4: exceeds check-interval (found at the end)
		"a3=data 3 localhost 4203 0",    // partition 2 (of 0..4) is missing
		"set colour blue",               // 6: unknown setting
		"a4=data 4 localhost 4204 0",    //
		"a0=data 5 localhost 4205 0",    // 8: duplicate name
		"b=dat 6 localhost 4206 0",      // 9: unknown node type
		"s4280=status localhost 4280 0", // 10: on the httpd port (found at the end)
	)
	c, err := config.Parse(confName, []byte(text))
	if c != nil {
		t.Errorf("Parse returned a Cluster along with errors")
	}
	want := []string{
		"twine.conf:3: localhost:4200 is already used by a0 on line 2",
		"twine.conf:4: check-timeout 5s exceeds check-interval 1s",
		`twine.conf:6: unknown setting "colour"`,
		"twine.conf:8: node name a0 is already used on line 2",
		`twine.conf:9: unknown node type "dat": want data, status or sentinel (did you mean data?)`,
		"twine.conf:10: s4280 listens on localhost:4280, the address of twined's status listener (the default; change it with set httpd HOST:PORT): move one of them",
		"twine.conf: partitions must be 0..5: 2 is missing",
	}
	sameStrings(t, "errors", errorStrings(err), want)
	if got, wantText := err.Error(), strings.Join(want, "\n"); got != wantText {
		t.Errorf("Error() =\n%s\nwant\n%s", got, wantText)
	}

	list := errorList(t, err)
	for i, e := range list.Errors {
		if e.File != confName {
			t.Errorf("error %d: File = %q, want %q", i, e.File, confName)
		}
		if !errors.Is(e, config.ErrInvalid) {
			t.Errorf("error %d (%v) does not wrap ErrInvalid", i, e)
		}
	}
	if list.Errors[0].Line != 3 || list.Errors[0].Msg != "localhost:4200 is already used by a0 on line 2" {
		t.Errorf("first error = %+v", *list.Errors[0])
	}
	if last := list.Errors[len(list.Errors)-1]; last.Line != 0 {
		t.Errorf("last error = %+v, want the file-wide one (Line 0)", *last)
	}
	var one *config.Error
	if !errors.As(err, &one) || one != list.Errors[0] {
		t.Errorf("errors.As(err, *Error) = %v, want the first error", one)
	}
	if list.Omitted != 0 {
		t.Errorf("Omitted = %d, want 0", list.Omitted)
	}
}

// A setting's error keeps its cause, so errors.Is sees through the list.
func TestErrorCause(t *testing.T) {
	_, err := config.Parse(confName, []byte(lines(nodeLine, "set hash nope")))
	var e *config.Error
	if !errors.As(err, &e) || e.Err == nil {
		t.Fatalf("error %v has no cause", err)
	}
	if !errors.Is(err, config.ErrInvalid) || !errors.Is(err, e.Err) {
		t.Errorf("errors.Is fails on %v", err)
	}
}

func TestTooManyErrors(t *testing.T) {
	var ls []string
	for i := range 73 {
		ls = append(ls, fmt.Sprintf("bad line %d", i))
	}
	_, err := config.Parse(confName, []byte(lines(ls...)))
	list := errorList(t, err)
	if len(list.Errors) != 50 || list.Omitted != 23 {
		t.Fatalf("%d errors listed, %d omitted; want 50 and 23", len(list.Errors), list.Omitted)
	}
	for i, e := range list.Errors {
		if e.Line != i+1 {
			t.Errorf("error %d is on line %d, want %d", i, e.Line, i+1)
		}
	}
	msg := err.Error()
	if got := strings.Count(msg, "\n") + 1; got != 51 {
		t.Errorf("Error() has %d lines, want 51", got)
	}
	if want := "\n... and 23 more errors"; !strings.HasSuffix(msg, want) {
		t.Errorf("Error() ends with %q, want %q", msg[strings.LastIndexByte(msg, '\n'):], want)
	}
}

// A binary file is refused at once, not line by line.
func TestBinaryFile(t *testing.T) {
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i * 7)
	}
	_, err := config.Parse(confName, data)
	sameStrings(t, "errors", errorStrings(err), []string{"twine.conf: contains NUL bytes: this is not a twine.conf text file"})
}

// Long words are shortened in messages at a character boundary.
func TestTruncatedAtCharacter(t *testing.T) {
	name := strings.Repeat("n", 63) + "éx"
	got := parseErrors(t, lines(name+"=data 0 localhost 4200 0"))
	sameStrings(t, "errors", got, []string{`twine.conf:1: node name "` + strings.Repeat("n", 63) + `..." is longer than 64 characters`})
}
