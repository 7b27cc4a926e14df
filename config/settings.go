package config

import (
	"fmt"
	"net"
	"net/mail"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twine/twine/config/hash"
)

// TLSMode is how twined secures its SMTP connection (`set mail-tls`).
type TLSMode string

// The mail-tls modes.
const (
	TLSOpportunistic TLSMode = "opportunistic" // STARTTLS when the server offers it
	TLSMandatory     TLSMode = "mandatory"     // STARTTLS or fail
	TLSImplicit      TLSMode = "implicit"      // TLS from the first byte (port 465)
	TLSOff           TLSMode = "off"           // plain text
)

// Settings are the `set KEY VALUE` lines of twine.conf, defaults filled in.
// Relative paths have been made absolute against the config's directory.
type Settings struct {
	Dir           string        // set dir: where partitions/ lives
	RedisServer   string        // set redis-server: binary to spawn (bare name = looked up on PATH)
	CheckInterval time.Duration // set check-interval: PING period
	CheckTimeout  time.Duration // set check-timeout: one PING's timeout
	BackoffMin    time.Duration // set backoff-min
	BackoffMax    time.Duration // set backoff-max
	StopTimeout   time.Duration // set stop-timeout: SIGTERM → SIGKILL grace
	AppendOnly    bool          // set appendonly: AOF (everysec) instead of RDB
	AOFRewrite    time.Duration // set aof-rewrite: BGREWRITEAOF period per node, 0 = off
	// AOFRewriteWindow (set aof-rewrite-window): the daily span, in local
	// time, in which scheduled rewrites may start; zero = any time.
	AOFRewriteWindow DailyWindow
	// AOFRewriteConcurrency (set aof-rewrite-concurrency): at most this
	// many nodes of a host rewrite at once; at least 1.
	AOFRewriteConcurrency int
	Hash                  string        // set hash: key hash function spec
	HTTPD                 string        // set httpd: status/control listen address
	HTTPDTokenFile        string        // set httpd-token-file: bearer token required by control requests
	LogLevel              string        // set log-level: trace, debug, info, warn or error; "" = twined's -log-level
	MailServer            string        // set mailserver: SMTP HOST:PORT, "" = no mail
	MailFrom              string        // set mail-from: "" = twine@HOSTNAME
	MailTLS               TLSMode       // set mail-tls
	MailUser              string        // set mail-user
	MailPasswordFile      string        // set mail-password-file
	Alerts                []string      // set alert (repeatable): recipients
	AlertAfter            time.Duration // set alert-after: a node down this long is mailed
	AlertReminder         time.Duration // set alert-reminder: repeat while down, 0 = off
	AlertGroup            time.Duration // set alert-group: alerts falling due this close together go out as one mail
	RedisPasswordFile     string        // set redis-password-file: requirepass/masterauth for every node
	RedisIncludes         []string      // set redis-include (repeatable): files included by every generated redis.conf

	// Replication and fail-over.
	Cluster           string        // set cluster: Sentinel master names are CLUSTER-P and CLUSTER-status
	SentinelDownAfter time.Duration // set sentinel-down-after: Sentinel's down-after-milliseconds
	FailoverTimeout   time.Duration // set failover-timeout: Sentinel's failover-timeout, and how long twined waits for a switch
	SentinelQuorum    int           // set sentinel-quorum: Sentinels that must agree a master is down; 0 = a majority
	// MinReplicasToWrite (set min-replicas-to-write): a master refuses
	// writes unless this many replicas are connected with a lag of at most
	// MinReplicasMaxLag; 0 = off (Redis's default).
	MinReplicasToWrite int
	MinReplicasMaxLag  time.Duration // set min-replicas-max-lag
	// BusyTimeout (set busy-timeout): how long a node may answer BUSY (a
	// script or function running) before twined sends SCRIPT KILL or
	// FUNCTION KILL; 0 = never.
	BusyTimeout time.Duration

	// The cluster view (status nodes).
	HostTTL  time.Duration // set host-ttl: a host whose snapshot on the status node is older is lost
	AlphaTTL time.Duration // set alpha-ttl: the alpha lease's time to live
}

// SetLine is one `set` line as written in the file.
type SetLine struct {
	Name  string
	Value string
	Line  int
}

// DefaultHTTPD is the status listener's default address, the port the
// original Twine's monit httpd used.
const DefaultHTTPD = "127.0.0.1:4280"

// defaults returns the settings of a file with no `set` lines, read from dir.
func defaults(dir string) Settings {
	return Settings{
		Dir:                   dir,
		RedisServer:           "redis-server",
		CheckInterval:         time.Second,
		CheckTimeout:          500 * time.Millisecond,
		BackoffMin:            100 * time.Millisecond,
		BackoffMax:            30 * time.Second,
		StopTimeout:           30 * time.Second,
		AOFRewrite:            time.Hour,
		AOFRewriteConcurrency: 1,
		Hash:                  "crc32",
		HTTPD:                 DefaultHTTPD,
		MailTLS:               TLSOpportunistic,
		AlertAfter:            30 * time.Second,
		AlertReminder:         time.Hour,
		AlertGroup:            10 * time.Second,
		Cluster:               "twine",
		SentinelDownAfter:     5 * time.Second,
		FailoverTimeout:       30 * time.Second,
		MinReplicasMaxLag:     10 * time.Second,
		BusyTimeout:           30 * time.Second,
		HostTTL:               5 * time.Second,
		AlphaTTL:              10 * time.Second,
	}
}

func (s Settings) clone() Settings {
	s.Alerts = slices.Clone(s.Alerts)
	s.RedisIncludes = slices.Clone(s.RedisIncludes)
	return s
}

// setting describes one `set` name: how to apply its value.
type setting struct {
	name   string
	repeat bool // may appear more than once (each adds a value)
	apply  func(s *Settings, v string, base string) error
}

var settingTable = []setting{
	{name: "dir", apply: func(s *Settings, v, base string) error { return parsePath(&s.Dir, v, base) }},
	{name: "redis-server", apply: func(s *Settings, v, base string) error {
		if !strings.ContainsRune(v, '/') {
			s.RedisServer = v // looked up on PATH when twined starts
			return nil
		}
		return parsePath(&s.RedisServer, v, base)
	}},
	{name: "check-interval", apply: durationMin(func(s *Settings) *time.Duration { return &s.CheckInterval }, 10*time.Millisecond)},
	{name: "check-timeout", apply: durationMin(func(s *Settings) *time.Duration { return &s.CheckTimeout }, time.Millisecond)},
	{name: "backoff-min", apply: durationMin(func(s *Settings) *time.Duration { return &s.BackoffMin }, time.Millisecond)},
	{name: "backoff-max", apply: durationMin(func(s *Settings) *time.Duration { return &s.BackoffMax }, time.Millisecond)},
	{name: "stop-timeout", apply: durationMin(func(s *Settings) *time.Duration { return &s.StopTimeout }, time.Millisecond)},
	{name: "appendonly", apply: func(s *Settings, v, _ string) error { return parseBool(&s.AppendOnly, v) }},
	{name: "aof-rewrite", apply: durationMin(func(s *Settings) *time.Duration { return &s.AOFRewrite }, 0)},
	{name: "aof-rewrite-window", apply: func(s *Settings, v, _ string) error { return parseDailyWindow(&s.AOFRewriteWindow, v) }},
	{name: "aof-rewrite-concurrency", apply: func(s *Settings, v, _ string) error { return parseCount(&s.AOFRewriteConcurrency, v, 1) }},
	{name: "hash", apply: func(s *Settings, v, base string) error {
		if p, ok := strings.CutPrefix(v, "exec "); ok {
			var abs string
			if err := parsePath(&abs, strings.TrimSpace(p), base); err != nil {
				return err
			}
			v = "exec " + abs
		}
		if _, err := hash.New(v); err != nil {
			return err
		}
		s.Hash = v
		return nil
	}},
	{name: "httpd", apply: func(s *Settings, v, _ string) error { return parseHostPort(&s.HTTPD, v) }},
	{name: "log-level", apply: func(s *Settings, v, _ string) error {
		switch v {
		case "trace", "debug", "info", "warn", "error":
			s.LogLevel = v
			return nil
		}
		return fmt.Errorf("%q is not a log level (trace, debug, info, warn or error)", v)
	}},
	{name: "httpd-token-file", apply: func(s *Settings, v, base string) error { return parsePath(&s.HTTPDTokenFile, v, base) }},
	{name: "mailserver", apply: func(s *Settings, v, _ string) error { return parseHostPort(&s.MailServer, v) }},
	{name: "mail-from", apply: func(s *Settings, v, _ string) error { return parseMailAddr(&s.MailFrom, v) }},
	{name: "mail-tls", apply: func(s *Settings, v, _ string) error {
		m := TLSMode(v)
		switch m {
		case TLSOpportunistic, TLSMandatory, TLSImplicit, TLSOff:
			s.MailTLS = m
			return nil
		}
		return fmt.Errorf("%q is not a mail-tls mode (opportunistic, mandatory, implicit or off)", v)
	}},
	{name: "mail-user", apply: func(s *Settings, v, _ string) error { s.MailUser = v; return nil }},
	{name: "mail-password-file", apply: func(s *Settings, v, base string) error { return parsePath(&s.MailPasswordFile, v, base) }},
	{name: "alert", repeat: true, apply: func(s *Settings, v, _ string) error {
		var a string
		if err := parseMailAddr(&a, v); err != nil {
			return err
		}
		if slices.Contains(s.Alerts, a) {
			return fmt.Errorf("%s is already an alert recipient", a)
		}
		s.Alerts = append(s.Alerts, a)
		return nil
	}},
	{name: "alert-after", apply: durationMin(func(s *Settings) *time.Duration { return &s.AlertAfter }, 0)},
	{name: "alert-reminder", apply: durationMin(func(s *Settings) *time.Duration { return &s.AlertReminder }, 0)},
	{name: "alert-group", apply: durationMin(func(s *Settings) *time.Duration { return &s.AlertGroup }, 0)},
	{name: "redis-password-file", apply: func(s *Settings, v, base string) error { return parsePath(&s.RedisPasswordFile, v, base) }},
	{name: "redis-include", repeat: true, apply: func(s *Settings, v, base string) error {
		var p string
		if err := parsePath(&p, v, base); err != nil {
			return err
		}
		s.RedisIncludes = append(s.RedisIncludes, p)
		return nil
	}},
	{name: "cluster", apply: func(s *Settings, v, _ string) error {
		if err := checkName(v); err != nil {
			return fmt.Errorf("cluster name %q: letters, digits, '.', '_' and '-' only, starting with a letter or digit", truncate(v, 40))
		}
		s.Cluster = v
		return nil
	}},
	{name: "sentinel-down-after", apply: durationMin(func(s *Settings) *time.Duration { return &s.SentinelDownAfter }, 100*time.Millisecond)},
	{name: "failover-timeout", apply: durationMin(func(s *Settings) *time.Duration { return &s.FailoverTimeout }, time.Second)},
	{name: "sentinel-quorum", apply: func(s *Settings, v, _ string) error { return parseCount(&s.SentinelQuorum, v, 1) }},
	{name: "min-replicas-to-write", apply: func(s *Settings, v, _ string) error { return parseCount(&s.MinReplicasToWrite, v, 0) }},
	{name: "min-replicas-max-lag", apply: durationMin(func(s *Settings) *time.Duration { return &s.MinReplicasMaxLag }, time.Second)},
	{name: "busy-timeout", apply: durationMin(func(s *Settings) *time.Duration { return &s.BusyTimeout }, 0)},
	{name: "host-ttl", apply: durationMin(func(s *Settings) *time.Duration { return &s.HostTTL }, 100*time.Millisecond)},
	{name: "alpha-ttl", apply: durationMin(func(s *Settings) *time.Duration { return &s.AlphaTTL }, 300*time.Millisecond)},
}

// AlphaRenew is how often the alpha renews its lease: a third of
// alpha-ttl, so that a renewal and two retries, each bounded by
// check-timeout, fit in the lease (Patroni's rule: renew interval + 2 ×
// retry timeout ≤ ttl; checked at load).
func (s Settings) AlphaRenew() time.Duration { return s.AlphaTTL / 3 }

func lookupSetting(name string) (setting, bool) {
	for _, st := range settingTable {
		if st.name == name {
			return st, true
		}
	}
	return setting{}, false
}

// SettingNames lists every `set` name twine.conf accepts.
func SettingNames() []string {
	names := make([]string, len(settingTable))
	for i, st := range settingTable {
		names[i] = st.name
	}
	return names
}

func durationMin(field func(*Settings) *time.Duration, lowest time.Duration) func(*Settings, string, string) error {
	return func(s *Settings, v, _ string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (write it as 500ms, 1s, 5m or 1h)", v)
		}
		if d < 0 {
			return fmt.Errorf("%s is negative", v)
		}
		if d < lowest {
			return fmt.Errorf("%s is too short (at least %s)", v, lowest)
		}
		*field(s) = d
		return nil
	}
}

// parseCount reads a whole number of at least lowest.
func parseCount(dst *int, v string, lowest int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		if isDigits(v) {
			return fmt.Errorf("%s is too large", v)
		}
		return fmt.Errorf("%q is not a whole number", v)
	}
	if n < lowest {
		return fmt.Errorf("%d is too small (at least %d)", n, lowest)
	}
	*dst = n
	return nil
}

func parseBool(dst *bool, v string) error {
	switch v {
	case "yes":
		*dst = true
	case "no":
		*dst = false
	default:
		return fmt.Errorf("%q is not yes or no", v)
	}
	return nil
}

func parsePath(dst *string, v, base string) error {
	if strings.ContainsRune(v, 0) {
		return fmt.Errorf("path contains a NUL byte")
	}
	if !filepath.IsAbs(v) {
		v = filepath.Join(base, v)
	}
	*dst = filepath.Clean(v)
	return nil
}

func parseHostPort(dst *string, v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT", v)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q in %q is not a number from 1 to 65535", port, v)
	}
	if host != "" && !validHost(host) {
		return fmt.Errorf("%q is not a host name or IP address", host)
	}
	*dst = v
	return nil
}

func parseMailAddr(dst *string, v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil {
		return fmt.Errorf("%q is not a mail address", v)
	}
	*dst = a.String()
	if a.Name == "" {
		*dst = a.Address
	}
	return nil
}
