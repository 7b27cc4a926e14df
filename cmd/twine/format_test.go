package main

import (
	"strings"
	"testing"

	"github.com/twine/twine/config/route"
)

// Expected strings are what redis-cli 7.0 prints for the same replies.
func TestFormatTTY(t *testing.T) {
	nums := make([]route.Reply, 10)
	for i := range nums {
		nums[i] = route.IntReply(int64(i + 1))
	}
	tests := []struct {
		name string
		r    route.Reply
		want string
	}{
		{"status", route.StatusReply("OK"), "OK\n"},
		{"bulk", route.BulkReply("bar"), `"bar"` + "\n"},
		{"bulk that reads OK", route.BulkReply("OK"), `"OK"` + "\n"},
		{"empty bulk", route.BulkReply(""), `""` + "\n"},
		{"escapes", route.BulkReply("a\"b\\c\n\r\t\a\b\x00\x7f\xc3\xa9 ~"), `"a\"b\\c\n\r\t\a\b\x00\x7f\xc3\xa9 ~"` + "\n"},
		{"integer", route.IntReply(-12), "(integer) -12\n"},
		{"nil", route.Reply{Kind: route.Nil}, "(nil)\n"},
		{"error", route.ErrorReply("ERR boom"), "(error) ERR boom\n"},
		{"empty array", route.ArrayReply(), "(empty array)\n"},
		{"array", route.ArrayReply(route.BulkReply("a"), route.Reply{Kind: route.Nil}, route.IntReply(3)),
			"1) \"a\"\n2) (nil)\n3) (integer) 3\n"},
		{"ten elements align", route.ArrayReply(nums...),
			" 1) (integer) 1\n 2) (integer) 2\n 3) (integer) 3\n 4) (integer) 4\n 5) (integer) 5\n" +
				" 6) (integer) 6\n 7) (integer) 7\n 8) (integer) 8\n 9) (integer) 9\n10) (integer) 10\n"},
		{"nested", route.ArrayReply(
			route.ArrayReply(route.BulkReply("a"), route.BulkReply("b")),
			route.ArrayReply(),
			route.StatusReply("c"),
		), "1) 1) \"a\"\n   2) \"b\"\n2) (empty array)\n3) c\n"},
		{"nested under ten", route.ArrayReply(append(nums[:9:9], route.ArrayReply(route.IntReply(1), route.ArrayReply(route.BulkReply("x"), route.BulkReply("y"))))...),
			" 1) (integer) 1\n 2) (integer) 2\n 3) (integer) 3\n 4) (integer) 4\n 5) (integer) 5\n" +
				" 6) (integer) 6\n 7) (integer) 7\n 8) (integer) 8\n 9) (integer) 9\n" +
				"10) 1) (integer) 1\n    2) 1) \"x\"\n       2) \"y\"\n"},
		{"error in array", route.ArrayReply(route.IntReply(1), route.ErrorReply("ERR x")), "1) (integer) 1\n2) (error) ERR x\n"},
		{"double", route.Reply{Kind: route.Double, Str: []byte("1.5")}, "(double) 1.5\n"},
		{"bool", route.Reply{Kind: route.Bool, Int: 1}, "(true)\n"},
		{"map", route.Reply{Kind: route.Map, Elems: []route.Reply{route.BulkReply("k"), route.IntReply(1), route.BulkReply("l"), route.BulkReply("x")}},
			"1# \"k\" => (integer) 1\n2# \"l\" => \"x\"\n"},
		{"set", route.Reply{Kind: route.Set, Elems: []route.Reply{route.BulkReply("m")}}, "1~ \"m\"\n"},
		{"empty set", route.Reply{Kind: route.Set}, "(empty set)\n"},
	}
	for _, tt := range tests {
		if got := string(formatReply(tt.r, false)); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestFormatRaw(t *testing.T) {
	tests := []struct {
		name string
		r    route.Reply
		want string
	}{
		{"status", route.StatusReply("OK"), "OK\n"},
		{"bulk", route.BulkReply("a b\nc"), "a b\nc\n"},
		{"integer", route.IntReply(7), "7\n"},
		{"nil", route.Reply{Kind: route.Nil}, "\n"},
		{"empty array", route.ArrayReply(), "\n"},
		{"array", route.ArrayReply(route.BulkReply("a"), route.Reply{Kind: route.Nil}, route.IntReply(3)), "a\n\n3\n"},
		{"nested", route.ArrayReply(route.ArrayReply(route.BulkReply("a"), route.BulkReply("b")), route.BulkReply("c")), "a\nb\nc\n"},
		{"binary", route.BulkReply("\x00\xff"), "\x00\xff\n"},
	}
	for _, tt := range tests {
		if got := string(formatReply(tt.r, true)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestAlwaysRaw(t *testing.T) {
	for cmd, want := range map[string]bool{
		"INFO": true, "info server": true, "CLIENT LIST": true, "client info": true,
		"LATENCY DOCTOR": true, "GET foo": false, "CLIENT GETNAME": false, "": false,
	} {
		var args [][]byte
		for _, f := range strings.Fields(cmd) {
			args = append(args, []byte(f))
		}
		if got := alwaysRaw(args); got != want {
			t.Errorf("alwaysRaw(%q) = %v, want %v", cmd, got, want)
		}
	}
}
