package main

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// resp encodes args as a RESP array of bulk strings, as the Redis
// mass-insertion docs' gen_redis_proto does.
func resp(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// readAll reads every command of input: each as "LINE: arg arg..." (the
// arguments quoted), or "LINE: error: ..." for one that does not parse.
// It reads the input twice, with a read buffer that holds it all (most
// commands parsed in one pass) and with one of 16 bytes (line by line),
// and fails the test unless both give the same.
func readAll(t *testing.T, input string) []string {
	t.Helper()
	out, err := readAllSize(input, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	small, err := readAllSize(input, 16)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, small) {
		t.Errorf("a 16-byte buffer reads %q\na large one %q", small, out)
	}
	return out
}

// readAllSize is readAll with a read buffer of size bytes.
func readAllSize(input string, size int) ([]string, error) {
	in := newInputReaderSize(strings.NewReader(input), size)
	var out []string
	for range len(input) + 1 {
		args, line, err := in.next()
		switch {
		case err == io.EOF:
			return out, nil
		case err != nil:
			var bad *inputError
			if !errors.As(err, &bad) {
				return out, fmt.Errorf("line %d: not an input error: %v", line, err)
			}
			out = append(out, fmt.Sprintf("%d: error: %v", line, err))
			continue
		}
		out = append(out, fmt.Sprintf("%d: %q", line, args))
	}
	return out, errors.New("the reader does not end")
}

func TestInputRESP(t *testing.T) {
	input := resp("SET", "k", "v") + resp("SET", "a\r\nb", "") + resp("GET", "k")
	want := []string{
		`1: ["SET" "k" "v"]`,
		`8: ["SET" "a\r\nb" ""]`,
		`16: ["GET" "k"]`,
	}
	if got := readAll(t, input); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestInputMixed(t *testing.T) {
	input := "SET a 1\n" + // 1
		resp("SET", "b", "2") + // 2-8
		"\n" + // 9: blank
		`SET c "x y"` + "\r\n" + // 10
		"*0\r\n" + // 11: empty, skipped
		"*2\n$3\nGET\n$1\nc\n" + // 12-16: LF only
		"GET a" // 17, no final newline
	want := []string{
		`1: ["SET" "a" "1"]`,
		`2: ["SET" "b" "2"]`,
		`10: ["SET" "c" "x y"]`,
		`12: ["GET" "c"]`,
		`17: ["GET" "a"]`,
	}
	if got := readAll(t, input); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestInputBadRESP(t *testing.T) {
	tests := []struct {
		name, input string
		want        []string
	}{
		{"bad header", "*x\r\n$3\r\nGET\r\n" + resp("GET", "k") + "GET z\n", []string{
			`1: error: bad RESP command at byte offset 0: header "*x": want *<count>; lines 2 to 3 skipped`,
			`4: ["GET" "k"]`,
			`9: ["GET" "z"]`,
		}},
		{"count too high", "GET a\n*3\r\n$3\r\nGET\r\n$1\r\nk\r\n" + resp("GET", "j"), []string{
			`1: ["GET" "a"]`,
			`2: error: bad RESP command at byte offset 6: argument 3 of 3: want $<length>, got the next command's header "*2"`,
			`7: ["GET" "j"]`,
		}},
		{"not a length", "*2\r\n$3\r\nGET\r\nkey\r\nSET x 1\r\n" + resp("GET", "j"), []string{
			`1: error: bad RESP command at byte offset 0: argument 2 of 2: want $<length>, got "key"; line 5 skipped`,
			`6: ["GET" "j"]`,
		}},
		{"length too short", "*2\r\n$3\r\nGET\r\n$1\r\nkey\r\n" + resp("GET", "j"), []string{
			`1: error: bad RESP command at byte offset 0: argument 2 of 2: its 1 bytes are not followed by CRLF; line 5 skipped`,
			`6: ["GET" "j"]`,
		}},
		{"length too long", "*2\r\n$3\r\nGET\r\n$9\r\nkey\r\n$1\r\nx\r\n" + resp("GET", "j"), []string{
			`1: error: bad RESP command at byte offset 0: argument 2 of 2: its 9 bytes are not followed by CRLF; line 7 skipped`,
			`8: ["GET" "j"]`,
		}},
		{"negative length", "*1\r\n$-1\r\n" + resp("PING"), []string{
			`1: error: bad RESP command at byte offset 0: argument 1 of 1: want $<length>, got "$-1"`,
			`3: ["PING"]`,
		}},
		{"huge length", "*1\r\n$999999999999\r\n", []string{
			`1: error: bad RESP command at byte offset 0: argument 1 of 1: length 999999999999 is over the limit of 536870912`,
		}},
		{"truncated in a header", "GET a\n*3\r\n$3\r\nSET\r\n", []string{
			`1: ["GET" "a"]`,
			`2: error: truncated RESP command at byte offset 6: the input ends before argument 2 of 3`,
		}},
		{"truncated in data", "*2\r\n$3\r\nGET\r\n$10\r\nabc", []string{
			`1: error: truncated RESP command at byte offset 0: the input ends in argument 2 of 2 (3 of its 10 bytes)`,
		}},
		{"no final CRLF", "*1\r\n$4\r\nPING", []string{
			`1: error: truncated RESP command at byte offset 0: the input ends after the 4 bytes of argument 1 of 1, before their CRLF`,
		}},
		{"half a final CRLF", "*1\r\n$4\r\nPING\r", []string{
			`1: error: truncated RESP command at byte offset 0: the input ends after the 4 bytes of argument 1 of 1, before their CRLF`,
		}},
		{"inline quoting", `SET k "open` + "\n" + resp("PING"), []string{
			`1: error: unbalanced quotes`,
			`2: ["PING"]`,
		}},
	}
	for _, tt := range tests {
		if got := readAll(t, tt.input); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
	// The errors match their sentinels.
	_, _, err := newInputReader(strings.NewReader("*1\r\nx\r\n")).next()
	if !errors.Is(err, errBadRESP) {
		t.Errorf("bad RESP: %v does not match errBadRESP", err)
	}
	_, _, err = newInputReader(strings.NewReader("*2\r\n")).next()
	if !errors.Is(err, errTruncatedRESP) {
		t.Errorf("truncated RESP: %v does not match errTruncatedRESP", err)
	}
}

func TestInputLongRESPArgument(t *testing.T) {
	big := strings.Repeat("x", 3<<20) // longer than the reader's buffer
	got := readAll(t, resp("SET", "big", big)+"GET big\n")
	if len(got) != 2 || len(got[0]) != len(big)+len(`1: ["SET" "big" ""]`) || got[1] != `8: ["GET" "big"]` {
		t.Errorf("got %.60q...", got)
	}
}

func TestInputReusesItsBuffers(t *testing.T) {
	one := resp("SET", "key:12345", "value:12345") + "SET key:12345 value:12345\n"
	input := strings.Repeat(one, 2000)
	in := newInputReader(strings.NewReader(input))
	for range 10 { // warm up the buffers
		if _, _, err := in.next(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		args, _, err := in.next()
		if err != nil || len(args) != 3 || string(args[2]) != "value:12345" {
			t.Fatalf("%q, %v", args, err)
		}
	})
	if allocs != 0 {
		t.Errorf("next allocates %.2f times per command", allocs)
	}
}

func FuzzInput(f *testing.F) {
	for _, s := range []string{resp("SET", "k", "v"), "*2\r\n$3\r\nGET\r\n$1\r\nk", "SET a b\n*1\r\n$4\r\nPING\r\n", "*x\r\n*1\r\n$-1\r\n",
		resp("SET", "a\nb", "") + "*2\n$3\nGET\n$1\nk\n", "*1\r\n$3\r\nabcd\r\n*1\r\n$1\r\nx\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		// The one-pass parse of buffered commands and the line-by-line one
		// agree, command for command and error for error.
		out, err := readAllSize(string(input), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		small, err := readAllSize(string(input), 16)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, small) {
			t.Fatalf("a 16-byte buffer reads %q\na large one %q", small, out)
		}
		in := newInputReader(strings.NewReader(string(input)))
		last := int64(0)
		for {
			args, line, err := in.next()
			if err == io.EOF {
				break
			}
			if line < last || line < 1 {
				t.Fatalf("line %d after line %d", line, last)
			}
			last = line
			n := 0
			for _, a := range args {
				n += len(a)
			}
			if n > len(input) {
				t.Fatalf("arguments hold %d bytes, the input %d", n, len(input))
			}
		}
	})
}
