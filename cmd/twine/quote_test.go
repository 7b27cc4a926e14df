package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"", nil},
		{"   \t ", nil},
		{"SET foo bar", []string{"SET", "foo", "bar"}},
		{"  SET\tfoo   bar \r\n", []string{"SET", "foo", "bar"}},
		{`SET k "hello world"`, []string{"SET", "k", "hello world"}},
		{`SET k ""`, []string{"SET", "k", ""}},
		{`SET k ''`, []string{"SET", "k", ""}},
		{`SET k "a\nb\tc\r\\\"\a\b\q"`, []string{"SET", "k", "a\nb\tc\r\\\"\a\bq"}},
		{`SET k "\x41\x7a\xff\x00"`, []string{"SET", "k", "Az\xff\x00"}},
		{`SET k "\x4"`, []string{"SET", "k", "x4"}},
		{`SET k "\xZZ"`, []string{"SET", "k", "xZZ"}},
		{`SET k 'it\'s \n raw'`, []string{"SET", "k", `it's \n raw`}},
		{`SET k 'say "hi"'`, []string{"SET", "k", `say "hi"`}},
		{`SET k a"b c"`, []string{"SET", "k", "ab c"}},
		{`SET k a'b c'`, []string{"SET", "k", "ab c"}},
		{"SET k é", []string{"SET", "k", "é"}},
		{"SET k a\vb", []string{"SET", "k", "a\vb"}},
	}
	for _, tt := range tests {
		got, err := splitArgs([]byte(tt.line))
		if err != nil {
			t.Errorf("splitArgs(%q): %v", tt.line, err)
			continue
		}
		var strs []string
		for _, a := range got {
			strs = append(strs, string(a))
		}
		if !reflect.DeepEqual(strs, tt.want) {
			t.Errorf("splitArgs(%q) = %q, want %q", tt.line, strs, tt.want)
		}
	}
}

func TestSplitArgsErrors(t *testing.T) {
	for line, want := range map[string]error{
		`SET k "open`:   errUnbalanced,
		`SET k 'open`:   errUnbalanced,
		`SET k "end\`:   errUnbalanced,
		`SET k "a"b`:    errAfterQuote,
		`SET k 'a'b`:    errAfterQuote,
		`SET k "a""b"`:  errAfterQuote,
		`SET k a"b c"d`: errAfterQuote,
		`SET k "\x41`:   errUnbalanced,
	} {
		if args, err := splitArgs([]byte(line)); !errors.Is(err, want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %v", line, args, err, want)
		}
	}
}

func TestSplitArgsDoesNotAlias(t *testing.T) {
	line := []byte("SET key value")
	args, err := splitArgs(line)
	if err != nil {
		t.Fatal(err)
	}
	copy(line, "XXXXXXXXXXXXX")
	if string(args[1]) != "key" || string(args[2]) != "value" {
		t.Errorf("arguments changed with the line: %q", args)
	}
	// Appending to one argument must not overwrite the next.
	_ = append(args[1], "zzzz"...)
	if string(args[2]) != "value" {
		t.Errorf("append to an argument changed the next: %q", args[2])
	}
}

func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{`SET k "a\x41"`, `'a\'b'`, `a"b c"`, "x\ty"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		args, err := splitArgs(line)
		if err != nil {
			return
		}
		n := 0
		for _, a := range args {
			n += len(a)
		}
		if n > len(line) {
			t.Errorf("arguments hold %d bytes, the line %d", n, len(line))
		}
	})
}

func TestArgParserReusesItsBuffers(t *testing.T) {
	var p argParser
	for _, line := range []string{`SET "a b" c`, "GET " + strings.Repeat("k", 10000), `SET 'x' y`} {
		args, err := p.split([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		fresh, _ := splitArgs([]byte(line))
		if !reflect.DeepEqual(args, fresh) {
			t.Errorf("%.20q: reused parser %q, fresh %q", line, args, fresh)
		}
	}
	if _, err := p.split([]byte(`SET "broken`)); err == nil {
		t.Fatal("unbalanced quotes parsed")
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := p.split([]byte("SET key:12345 value:12345")); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("split allocates %.2f times per line", allocs)
	}
}
