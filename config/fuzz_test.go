package config_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/twine/twine/config"
)

// validName is what a node name must look like: it becomes a directory.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// FuzzParse feeds Parse arbitrary files. It must never panic; a Cluster it
// returns must hold only valid nodes and partitions 0..N-1 with none
// missing; an error must be a bounded *ErrorList whose every entry names
// the file.
func FuzzParse(f *testing.F) {
	f.Add(readFixture(f))
	for _, seed := range []string{
		"",
		"a0=data 0 localhost 4200 0\n",
		"# comment\r\na0=data 0 localhost 4200 0 # trailing\r\ns=status localhost 4290 0\r\n",
		lines("m=data 0 web1 4200 1", "r=data 0 web2 4200 1", "p=data 1 web1 4201 1", "set hash crc16"),
		lines("set dir data", "set check-interval 2s", "set alert ops@example.com", "set alert b@example.com",
			"a0=data 0 ::1 4200 0", "set mail-user u", "set mail-password-file p", "set httpd :9000"),
		"\ufeffa0=data 0 127.0.0.1 4200 0\n",
		lines("a0=data 0 localhost 4200 0", "a0=data 2 localhost 4200 5", "set hash crc33", "x=dta", "set"),
		lines("a=data 16383 h 1 0"),
		lines("=data", "..=status a 1 1", "set dir", "set check-timeout 5s", "set backoff-min 1h"),
		"a0=data 0 localhost 4200 0\x00",
		"a0=data 0 l\xffcalhost 4200 0",
		strings.Repeat("junk\n", 80),
		lines("a=data 0 localhost 7 0", "b=data 1 127.0.0.2 7 0", "c=data 2 LOCALHOST 7 0"),
		lines("s4280=status localhost 4280 0", "a=data 0 127.0.0.1 9 0", "set httpd 127.0.0.1:9"),
	} {
		f.Add([]byte(seed))
	}
	file := filepath.Join("testdata", "fuzz.twine.conf")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(file, data)
		nlines := bytes.Count(data, []byte("\n")) + 1
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a Cluster and an error: %v", err)
			}
			checkErrorList(t, err, file, nlines)
			return
		}
		if c == nil {
			t.Fatal("Parse returned neither a Cluster nor an error")
		}
		checkCluster(t, c, nlines, data)
	})
}

func checkErrorList(t *testing.T, err error, file string, nlines int) {
	t.Helper()
	list, ok := err.(*config.ErrorList)
	if !ok {
		t.Fatalf("error is %T, want *config.ErrorList: %v", err, err)
	}
	if !errors.Is(err, config.ErrInvalid) {
		t.Errorf("error does not wrap ErrInvalid: %v", err)
	}
	if n := len(list.Errors); n == 0 || n > 50 {
		t.Fatalf("ErrorList lists %d errors, want 1 to 50", n)
	}
	if list.Omitted < 0 || list.Omitted > 0 && len(list.Errors) != 50 {
		t.Errorf("ErrorList lists %d errors and omits %d", len(list.Errors), list.Omitted)
	}
	prev := 0
	for _, e := range list.Errors {
		if e == nil {
			t.Fatal("nil *Error in the list")
		}
		if e.File != file {
			t.Errorf("error %q: File = %q, want %q", e, e.File, file)
		}
		if e.Line < 0 || e.Line > nlines {
			t.Errorf("error %q: Line %d outside 0..%d", e, e.Line, nlines)
		}
		if e.Msg == "" {
			t.Errorf("error on line %d has no message", e.Line)
		}
		key := e.Line
		if key == 0 {
			key = nlines + 1
		}
		if key < prev {
			t.Errorf("error %q out of line order", e)
		}
		prev = key
	}
}

func checkCluster(t *testing.T, c *config.Cluster, nlines int, data []byte) {
	t.Helper()
	n := c.Partitions()
	if n < 1 || n > config.MaxPartitions {
		t.Fatalf("Partitions() = %d", n)
	}
	nodes := c.Nodes()
	names := map[string]bool{}
	addrs := map[string]bool{}
	var hosts []string
	s := c.Settings()
	for _, node := range nodes {
		if !validName.MatchString(node.Name) || node.Name == "." || node.Name == ".." {
			t.Errorf("node name %q accepted", node.Name)
		}
		if names[node.Name] {
			t.Errorf("node name %q used twice", node.Name)
		}
		names[node.Name] = true
		// The default loopback names share a socket; 127.0.0.2 and the
		// like are hosts of their own; names are case-insensitive.
		host := strings.ToLower(node.Host)
		if ip := net.ParseIP(host); ip != nil {
			host = ip.String()
		}
		switch host {
		case "localhost", "127.0.0.1", "::1", "0.0.0.0", "::":
			host = "loopback"
		}
		addr := fmt.Sprintf("%s:%d", host, node.Port)
		if addrs[addr] {
			t.Errorf("address %s used twice", addr)
		}
		addrs[addr] = true
		if node.Port < 1 || node.Port > 65535 {
			t.Errorf("%s: port %d", node.Name, node.Port)
		}
		if node.DB < 0 || node.DB > config.MaxDB {
			t.Errorf("%s: db %d", node.Name, node.DB)
		}
		if node.Host == "" || strings.ContainsAny(node.Host, "/\\ \t") || node.Host == "." || node.Host == ".." {
			t.Errorf("%s: host %q", node.Name, node.Host)
		}
		if node.Line < 1 || node.Line > nlines {
			t.Errorf("%s: line %d outside 1..%d", node.Name, node.Line, nlines)
		}
		switch node.Kind {
		case config.Data:
			if node.Partition < 0 || node.Partition >= n {
				t.Errorf("%s: partition %d outside 0..%d", node.Name, node.Partition, n-1)
			}
		case config.Status:
			if node.Partition != -1 || node.Member != 0 {
				t.Errorf("status node %s: partition %d, member %d", node.Name, node.Partition, node.Member)
			}
		default:
			t.Errorf("%s: kind %d", node.Name, node.Kind)
		}
		if !slices.Contains(hosts, node.Host) {
			hosts = append(hosts, node.Host)
		}
		rel, err := filepath.Rel(s.Dir, c.Files(node).Dir)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if err != nil || len(parts) != 3 || parts[0] != "partitions" || slices.Contains(parts, "..") || parts[2] != node.Name {
			t.Errorf("%s: node dir %q is not under %s/partitions", node.Name, c.Files(node).Dir, s.Dir)
		}
	}
	if !slices.Equal(c.Hosts(), hosts) {
		t.Errorf("Hosts() = %q, want %q", c.Hosts(), hosts)
	}
	for p := range n {
		rs := c.ReplicaSet(p)
		if len(rs) == 0 {
			t.Fatalf("partition %d of 0..%d has no node", p, n-1)
		}
		for i, node := range rs {
			if node.Member != i || node.DB != rs[0].DB {
				t.Errorf("partition %d: %s is member %d with db %d, want member %d with db %d", p, node.Name, node.Member, node.DB, i, rs[0].DB)
			}
		}
		if m, ok := c.InitialMaster(p); !ok || m != rs[0] {
			t.Errorf("InitialMaster(%d) = %+v, %v; want %+v", p, m, ok, rs[0])
		}
	}
	if s.CheckTimeout > s.CheckInterval || s.BackoffMin > s.BackoffMax || (s.MailUser == "") != (s.MailPasswordFile == "") {
		t.Errorf("inconsistent settings accepted: %+v", s)
	}
	if !filepath.IsAbs(s.Dir) {
		t.Errorf("Settings().Dir = %q is not absolute", s.Dir)
	}
	// An "exec" hash runs a program named by the input: never run it here.
	if strings.HasPrefix(c.Hash().Name(), "exec") {
		return
	}
	for _, key := range [][]byte{nil, []byte("k"), []byte("{tag}x"), data} {
		p, err := c.Partition(key)
		if err != nil || p < 0 || p >= n {
			t.Errorf("Partition(%q) = %d, %v; want a partition in [0,%d)", key, p, err, n)
		}
	}
}
