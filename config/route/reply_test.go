package route

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseReply(t *testing.T) {
	tests := []struct {
		raw  string
		want Reply
	}{
		{"+OK\r\n", StatusReply("OK")},
		{"-ERR boom\r\n", ErrorReply("ERR boom")},
		{":42\r\n", IntReply(42)},
		{":-7\r\n", IntReply(-7)},
		{"$3\r\nbar\r\n", BulkReply("bar")},
		{"$0\r\n\r\n", Reply{Kind: Bulk}},
		{"$4\r\na\r\nb\r\n", BulkReply("a\r\nb")},
		{"$-1\r\n", Reply{Kind: Nil}},
		{"*-1\r\n", Reply{Kind: Nil}},
		{"*0\r\n", Reply{Kind: Array, Elems: []Reply{}}},
		{"*3\r\n:1\r\n$1\r\na\r\n-ERR x\r\n", ArrayReply(IntReply(1), BulkReply("a"), ErrorReply("ERR x"))},
		{"*2\r\n*1\r\n+a\r\n$-1\r\n", ArrayReply(ArrayReply(StatusReply("a")), Reply{Kind: Nil})},
		{"_\r\n", Reply{Kind: Nil}},
		{",3.14\r\n", Reply{Kind: Double, Str: []byte("3.14")}},
		{"#t\r\n", Reply{Kind: Bool, Int: 1}},
		{"#f\r\n", Reply{Kind: Bool}},
		{"(12345678901234567890\r\n", Reply{Kind: BigNum, Str: []byte("12345678901234567890")}},
		{"=7\r\ntxt:abc\r\n", Reply{Kind: Verbatim, Str: []byte("abc")}},
		{"!5\r\nERR x\r\n", ErrorReply("ERR x")},
		{"%1\r\n+k\r\n:1\r\n", Reply{Kind: Map, Elems: []Reply{StatusReply("k"), IntReply(1)}}},
		{"~1\r\n:1\r\n", Reply{Kind: Set, Elems: []Reply{IntReply(1)}}},
		{">1\r\n+x\r\n", Reply{Kind: Push, Elems: []Reply{StatusReply("x")}}},
		{"|1\r\n+a\r\n+b\r\n:5\r\n", IntReply(5)},
	}
	for _, tt := range tests {
		got, err := ParseReply([]byte(tt.raw))
		if err != nil {
			t.Errorf("ParseReply(%q): %v", tt.raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseReply(%q) = %#v, want %#v", tt.raw, got, tt.want)
		}
	}
}

func TestParseReplyBad(t *testing.T) {
	for _, raw := range []string{
		"", "+OK", "\r\n", "?x\r\n", ":x\r\n", "$5\r\nab\r\n", "$2\r\nabcd", "$-2\r\n",
		"*2\r\n:1\r\n", "*99999999\r\n", "#x\r\n", "+OK\r\n+extra\r\n",
	} {
		if r, err := ParseReply([]byte(raw)); !errors.Is(err, ErrProtocol) {
			t.Errorf("ParseReply(%q) = %v, %v; want ErrProtocol", raw, r, err)
		}
	}
}

func TestParseReplyDepth(t *testing.T) {
	var raw []byte
	for range maxDepth + 2 {
		raw = append(raw, "*1\r\n"...)
	}
	raw = append(raw, ":1\r\n"...)
	if _, err := ParseReply(raw); !errors.Is(err, ErrProtocol) {
		t.Errorf("deep nesting: err = %v, want ErrProtocol", err)
	}
}

func TestParseReplyDoesNotAlias(t *testing.T) {
	raw := []byte("*1\r\n$3\r\nabc\r\n")
	r, err := ParseReply(raw)
	if err != nil {
		t.Fatal(err)
	}
	copy(raw, "xxxxxxxxxxxxxx")
	if string(r.Elems[0].Str) != "abc" {
		t.Errorf("reply changed with its input: %q", r.Elems[0].Str)
	}
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "*2\r\n:1\r\n$1\r\na\r\n", "%1\r\n+k\r\n:1\r\n", "$-1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := ParseReply(raw)
		if err != nil {
			return
		}
		_ = r.String()
	})
}
