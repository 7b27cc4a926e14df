package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twine/twine/config/hash"
)

// MaxPartitions bounds the partition count, as Redis Cluster bounds its slots.
const MaxPartitions = 16384

// MaxDB bounds the db number of a node line.
const MaxDB = 1023

// Load reads and parses the twine.conf at path. An unreadable file returns
// the os error; an invalid one returns an *ErrorList wrapping ErrInvalid.
func Load(path string) (*Cluster, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(abs, data)
}

// Parse parses the contents of a twine.conf. file names it in errors and
// anchors relative paths (its directory is the default data dir); it is made
// absolute but not read.
func Parse(file string, data []byte) (*Cluster, error) {
	p := &parser{
		errs:     errorSink{file: file},
		base:     filepath.Dir(file),
		names:    map[string]int{},
		addrs:    map[string]int{},
		setLines: map[string]int{},
		seen:     map[int]bool{},
	}
	if abs, err := filepath.Abs(file); err == nil {
		file = abs
		p.base = filepath.Dir(abs)
	}
	p.settings = defaults(p.base)
	if bytes.IndexByte(data, 0) >= 0 {
		p.errs.addf(0, "contains NUL bytes: this is not a twine.conf text file")
		return nil, p.errs.err()
	}
	// Editors that save UTF-8 with a byte order mark put it before line 1.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	for i, raw := range strings.Split(string(data), "\n") {
		p.line(i+1, strings.TrimSuffix(raw, "\r"))
	}
	p.finish()
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	h, err := hash.New(p.settings.Hash) // validated once already, but an exec program may have gone since
	if err != nil {
		p.errs.add(p.setLines["hash"], err, "set hash: %v", err)
		return nil, p.errs.err()
	}
	return &Cluster{
		file:       file,
		nodes:      p.nodes,
		partitions: p.partitions,
		hosts:      p.hosts,
		settings:   p.settings,
		set:        p.set,
		hash:       h,
		warnings:   p.warnings,
	}, nil
}

type parser struct {
	errs       errorSink
	base       string
	settings   Settings
	set        []SetLine
	setLines   map[string]int // setting name → line it was last set on
	nodes      []Node
	hosts      []string
	names      map[string]int // node name → line
	addrs      map[string]int // addrKey → index in nodes
	seen       map[int]bool   // partitions named by a line, valid or not
	partitions int
	warnings   []string
}

func (p *parser) line(n int, text string) {
	if !utf8.ValidString(text) {
		p.errs.addf(n, "line is not valid UTF-8 text")
		return
	}
	fields := strings.Fields(stripComment(text))
	if len(fields) == 0 {
		return
	}
	switch {
	case fields[0] == "set":
		p.set1(n, fields[1:])
	case strings.Contains(fields[0], "="):
		p.node(n, fields)
	default:
		if _, ok := lookupSetting(fields[0]); ok {
			p.errs.addf(n, "unknown line %q: settings are written as set %s VALUE", fields[0], fields[0])
			return
		}
		p.errs.addf(n, "unknown line %q: want NAME=data PARTITION HOST PORT DB, NAME=status HOST PORT DB, NAME=sentinel HOST PORT, or set NAME VALUE", truncate(fields[0], 40))
	}
}

// stripComment removes a comment: a '#' that starts the line or a
// whitespace-separated word.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

func (p *parser) set1(n int, args []string) {
	if len(args) == 0 {
		p.errs.addf(n, "set needs a setting name and a value")
		return
	}
	name := args[0]
	st, ok := lookupSetting(name)
	if !ok {
		p.errs.addf(n, "unknown setting %q%s", truncate(name, 40), suggest(name, SettingNames()))
		return
	}
	if len(args) < 2 {
		p.errs.addf(n, "set %s needs a value", name)
		return
	}
	value := strings.Join(args[1:], " ")
	if prev, dup := p.setLines[name]; dup && !st.repeat {
		p.errs.addf(n, "%s is already set on line %d", name, prev)
		return
	}
	if err := st.apply(&p.settings, value, p.base); err != nil {
		p.errs.add(n, err, "set %s: %v", name, err)
		return
	}
	p.setLines[name] = n
	p.set = append(p.set, SetLine{Name: name, Value: value, Line: n})
}

func (p *parser) node(n int, fields []string) {
	name, kind, _ := strings.Cut(fields[0], "=")
	ok := true
	if err := checkName(name); err != nil {
		p.errs.addf(n, "%v", err)
		ok = false
	} else if prev, dup := p.names[name]; dup {
		p.errs.addf(n, "node name %s is already used on line %d", name, prev)
		ok = false
	}
	node := Node{Name: name, Line: n, Partition: -1}
	var args []string
	switch kind {
	case "data":
		if len(fields) != 5 {
			p.errs.addf(n, "data line has %s, want 5: NAME=data PARTITION HOST PORT DB", fieldCount(len(fields)))
			return
		}
		node.Kind = Data
		var good bool
		node.Partition, good = p.number(n, "partition", fields[1], 0, MaxPartitions-1)
		ok = ok && good
		if good {
			p.seen[node.Partition] = true
		}
		args = fields[2:]
	case "status":
		if len(fields) != 4 {
			p.errs.addf(n, "status line has %s, want 4: NAME=status HOST PORT DB", fieldCount(len(fields)))
			return
		}
		node.Kind = Status
		args = fields[1:]
	case "sentinel":
		if len(fields) != 3 {
			p.errs.addf(n, "sentinel line has %s, want 3: NAME=sentinel HOST PORT", fieldCount(len(fields)))
			return
		}
		node.Kind = Sentinel
		args = append(fields[1:], "0")
	default:
		p.errs.addf(n, "unknown node type %q: want data, status or sentinel%s", truncate(kind, 40), suggest(kind, []string{"data", "status", "sentinel"}))
		return
	}
	node.Host = args[0]
	if !validHost(node.Host) {
		p.errs.addf(n, "host %q is not a host name or IP address", truncate(node.Host, 64))
		ok = false
	}
	var goodPort, goodDB bool
	node.Port, goodPort = p.number(n, "port", args[1], 1, 65535)
	node.DB, goodDB = p.number(n, "db", args[2], 0, MaxDB)
	ok = ok && goodPort && goodDB
	if !ok {
		if _, dup := p.names[name]; !dup {
			p.names[name] = n
		}
		return
	}
	if i, dup := p.addrs[addrKey(node)]; dup {
		prev := p.nodes[i]
		as := ""
		if prev.Host != node.Host {
			as = " (as " + prev.Addr() + ")"
		}
		p.errs.addf(n, "%s is already used by %s on line %d%s", node.Addr(), prev.Name, prev.Line, as)
		return
	}
	if node.Kind == Sentinel {
		for _, m := range p.nodes {
			if m.Kind == Sentinel && m.Host == node.Host {
				p.errs.addf(n, "host %s already has sentinel %s on line %d: one Sentinel per host (two on one host die together and count twice in the quorum)", node.Host, m.Name, m.Line)
				return
			}
		}
	}
	if node.Kind == Data || node.Kind == Status {
		for _, m := range p.nodes {
			if m.Kind == node.Kind && m.Partition == node.Partition {
				node.Member++
				if m.Member == 0 && m.DB != node.DB {
					set := fmt.Sprintf("partition %d's master", node.Partition)
					if node.Kind == Status {
						set = "the first status node"
					}
					p.errs.addf(n, "db %d differs from db %d of %s %s on line %d: a replica set shares one db", node.DB, m.DB, set, m.Name, m.Line)
					return
				}
			}
		}
	}
	p.names[name] = n
	p.addrs[addrKey(node)] = len(p.nodes)
	p.nodes = append(p.nodes, node)
	if !slices.Contains(p.hosts, node.Host) {
		p.hosts = append(p.hosts, node.Host)
	}
}

// number parses a decimal field within [lo, hi]; it returns the value and
// whether it was valid, reporting the problem otherwise.
func (p *parser) number(line int, what, s string, lo, hi int) (int, bool) {
	v, err := strconv.Atoi(s)
	switch {
	case err != nil && strings.HasPrefix(s, "-") && isDigits(s[1:]):
		p.errs.addf(line, "%s %s is negative", what, truncate(s, 20))
	case err != nil && isDigits(s):
		p.errs.addf(line, "%s %s is out of range %d-%d", what, truncate(s, 20), lo, hi)
	case err != nil:
		p.errs.addf(line, "%s %q is not a number", what, truncate(s, 20))
	case v < lo || v > hi:
		if v < 0 {
			p.errs.addf(line, "%s %d is negative", what, v)
		} else {
			p.errs.addf(line, "%s %d is out of range %d-%d", what, v, lo, hi)
		}
	default:
		return v, true
	}
	return 0, false
}

// finish runs the checks that need the whole file.
func (p *parser) finish() {
	maxP := -1
	for part := range p.seen {
		maxP = max(maxP, part)
	}
	if maxP < 0 && len(p.errs.list.Errors) == 0 {
		p.errs.addf(0, "no data nodes: add lines like a4200=data 0 127.0.0.1 4200 0")
	}
	var missing []string
	for i := 0; i <= maxP; i++ {
		if !p.seen[i] {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	if len(missing) > 0 {
		p.errs.addf(0, "partitions must be 0..%d: %s", maxP, listMissing(missing))
	}
	p.partitions = maxP + 1
	p.checkSettings()
	p.checkHTTPD()
	p.checkSentinels()
}

func listMissing(m []string) string {
	const show = 10
	more := ""
	if len(m) > show {
		more = fmt.Sprintf(" (and %d more)", len(m)-show)
		m = m[:show]
	}
	if len(m) == 1 {
		return m[0] + " is missing"
	}
	return strings.Join(m[:len(m)-1], ", ") + " and " + m[len(m)-1] + " are missing" + more
}

func (p *parser) checkSettings() {
	s := p.settings
	later := func(a, b string) int { return max(p.setLines[a], p.setLines[b]) }
	if s.CheckTimeout > s.CheckInterval {
		p.errs.addf(later("check-timeout", "check-interval"), "check-timeout %s exceeds check-interval %s", s.CheckTimeout, s.CheckInterval)
	}
	if s.BackoffMin > s.BackoffMax {
		p.errs.addf(later("backoff-min", "backoff-max"), "backoff-min %s exceeds backoff-max %s", s.BackoffMin, s.BackoffMax)
	}
	hasStatus := slices.ContainsFunc(p.nodes, func(n Node) bool { return n.Kind == Status })
	if hasStatus && s.CheckTimeout <= s.CheckInterval && s.AlphaRenew()+2*s.CheckTimeout > s.AlphaTTL {
		p.errs.addf(later("alpha-ttl", "check-timeout"), "alpha-ttl %s is too short for check-timeout %s: the alpha renews its lease every alpha-ttl/3 (%s), and a renewal plus two retries of check-timeout each must fit in the lease; make alpha-ttl at least %s",
			s.AlphaTTL, s.CheckTimeout, s.AlphaRenew(), 3*s.CheckTimeout)
	}
	if hasStatus && s.HostTTL < 2*s.CheckInterval {
		p.errs.addf(later("host-ttl", "check-interval"), "host-ttl %s is shorter than two check-intervals (%s): a host publishes its snapshot every check-interval, so one late publication would make it lost; make host-ttl at least %s",
			s.HostTTL, 2*s.CheckInterval, 2*s.CheckInterval)
	}
	if (s.MailUser == "") != (s.MailPasswordFile == "") {
		if s.MailUser == "" {
			p.errs.addf(p.setLines["mail-password-file"], "mail-password-file is set but mail-user is not")
		} else {
			p.errs.addf(p.setLines["mail-user"], "mail-user is set but mail-password-file is not")
		}
	}
}

// checkHTTPD reports a node listening on twined's own status port.
func (p *parser) checkHTTPD() {
	host, port, err := splitHTTPD(p.settings.HTTPD)
	if err != nil {
		return
	}
	for _, n := range p.nodes {
		if n.Port == port && (n.Host == host || socketHost(n.Host) == socketHost(host)) {
			where := "set httpd " + p.settings.HTTPD
			if p.setLines["httpd"] == 0 {
				where = "the default; change it with set httpd HOST:PORT"
			}
			p.errs.addf(n.Line, "%s listens on %s, the address of twined's status listener (%s): move one of them", n.Name, n.Addr(), where)
		}
	}
}

// addrKey identifies the socket a node listens on: the default loopback
// names (localhost, 127.0.0.1, ::1) are this machine, so they share one key.
func addrKey(n Node) string {
	return socketHost(n.Host) + ":" + strconv.Itoa(n.Port)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// truncate shortens s to at most n bytes, cut at a character boundary, and
// marks the cut with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func fieldCount(n int) string {
	if n == 1 {
		return "1 field"
	}
	return strconv.Itoa(n) + " fields"
}
