package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/config/hash"
)

// nodeLine is a valid data line that the settings tests add to their `set`
// lines.
const nodeLine = "a0=data 0 localhost 4200 0"

// TestSettingValid applies a valid value of every setting of the table.
func TestSettingValid(t *testing.T) {
	type check func(t *testing.T, dir string, s config.Settings)
	durationIs := func(field func(config.Settings) time.Duration, want time.Duration) check {
		return func(t *testing.T, _ string, s config.Settings) {
			if got := field(s); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		}
	}
	stringIs := func(field func(config.Settings) string, want func(dir string) string) check {
		return func(t *testing.T, dir string, s config.Settings) {
			if got, want := field(s), want(dir); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		}
	}
	in := func(parts ...string) func(string) string {
		return func(dir string) string { return filepath.Join(append([]string{dir}, parts...)...) }
	}
	is := func(s string) func(string) string { return func(string) string { return s } }
	windowIs := func(start, end time.Duration) check {
		return func(t *testing.T, _ string, s config.Settings) {
			if want := (config.DailyWindow{Start: start, End: end}); s.AOFRewriteWindow != want {
				t.Errorf("AOFRewriteWindow = %+v, want %+v", s.AOFRewriteWindow, want)
			}
		}
	}
	dirOf := func(s config.Settings) string { return s.Dir }
	redisServer := func(s config.Settings) string { return s.RedisServer }
	hashOf := func(s config.Settings) string { return s.Hash }
	httpd := func(s config.Settings) string { return s.HTTPD }
	mailServer := func(s config.Settings) string { return s.MailServer }
	mailFrom := func(s config.Settings) string { return s.MailFrom }
	mailTLS := func(s config.Settings) string { return string(s.MailTLS) }
	redisPassword := func(s config.Settings) string { return s.RedisPasswordFile }

	tests := []struct {
		setting string
		name    string
		lines   []string
		check   check
	}{
		{"dir", "relative", []string{"set dir data"}, stringIs(dirOf, in("data"))},
		{"dir", "relative dotted", []string{"set dir ./x/../data/"}, stringIs(dirOf, in("data"))},
		{"dir", "absolute", []string{"set dir /var/lib/twine"}, stringIs(dirOf, is("/var/lib/twine"))},
		{"dir", "parent", []string{"set dir .."}, func(t *testing.T, dir string, s config.Settings) {
			if want := filepath.Dir(dir); s.Dir != want {
				t.Errorf("got %q, want %q", s.Dir, want)
			}
		}},
		{"redis-server", "bare name stays a name", []string{"set redis-server redis-server"}, stringIs(redisServer, is("redis-server"))},
		{"redis-server", "other bare name", []string{"set redis-server redis-server-7.2"}, stringIs(redisServer, is("redis-server-7.2"))},
		{"redis-server", "relative path", []string{"set redis-server ./bin/redis-server"}, stringIs(redisServer, in("bin", "redis-server"))},
		{"redis-server", "absolute path", []string{"set redis-server /usr/bin/redis-server"}, stringIs(redisServer, is("/usr/bin/redis-server"))},
		{"check-interval", "", []string{"set check-interval 2s"}, durationIs(func(s config.Settings) time.Duration { return s.CheckInterval }, 2*time.Second)},
		{"check-interval", "lowest", []string{"set check-timeout 10ms", "set check-interval 10ms"}, durationIs(func(s config.Settings) time.Duration { return s.CheckInterval }, 10*time.Millisecond)},
		{"check-timeout", "", []string{"set check-timeout 250ms"}, durationIs(func(s config.Settings) time.Duration { return s.CheckTimeout }, 250*time.Millisecond)},
		{"check-timeout", "equal to interval", []string{"set check-timeout 1s"}, durationIs(func(s config.Settings) time.Duration { return s.CheckTimeout }, time.Second)},
		{"backoff-min", "", []string{"set backoff-min 1s"}, durationIs(func(s config.Settings) time.Duration { return s.BackoffMin }, time.Second)},
		{"backoff-max", "", []string{"set backoff-max 2m"}, durationIs(func(s config.Settings) time.Duration { return s.BackoffMax }, 2*time.Minute)},
		{"backoff-max", "equal to min", []string{"set backoff-max 100ms"}, durationIs(func(s config.Settings) time.Duration { return s.BackoffMax }, 100*time.Millisecond)},
		{"stop-timeout", "", []string{"set stop-timeout 1m30s"}, durationIs(func(s config.Settings) time.Duration { return s.StopTimeout }, 90*time.Second)},
		{"appendonly", "yes", []string{"set appendonly yes"}, func(t *testing.T, _ string, s config.Settings) {
			if !s.AppendOnly {
				t.Error("AppendOnly = false, want true")
			}
		}},
		{"appendonly", "no", []string{"set appendonly no"}, func(t *testing.T, _ string, s config.Settings) {
			if s.AppendOnly {
				t.Error("AppendOnly = true, want false")
			}
		}},
		{"aof-rewrite", "", []string{"set aof-rewrite 30m"}, durationIs(func(s config.Settings) time.Duration { return s.AOFRewrite }, 30*time.Minute)},
		{"aof-rewrite", "off", []string{"set aof-rewrite 0"}, durationIs(func(s config.Settings) time.Duration { return s.AOFRewrite }, 0)},
		{"aof-rewrite-window", "", []string{"set aof-rewrite-window 02:00-05:00"}, windowIs(2*time.Hour, 5*time.Hour)},
		{"aof-rewrite-window", "across midnight", []string{"set aof-rewrite-window 22:00-02:30"}, windowIs(22*time.Hour, 2*time.Hour+30*time.Minute)},
		{"aof-rewrite-window", "one-digit hour", []string{"set aof-rewrite-window 2:00-5:45"}, windowIs(2*time.Hour, 5*time.Hour+45*time.Minute)},
		{"aof-rewrite-window", "to midnight", []string{"set aof-rewrite-window 23:00-24:00"}, windowIs(23*time.Hour, 24*time.Hour)},
		{"aof-rewrite-window", "from midnight", []string{"set aof-rewrite-window 00:00-01:00"}, windowIs(0, time.Hour)},
		{"aof-rewrite-window", "whole day", []string{"set aof-rewrite-window 00:00-24:00"}, windowIs(0, 0)},
		{"aof-rewrite-concurrency", "", []string{"set aof-rewrite-concurrency 3"}, func(t *testing.T, _ string, s config.Settings) {
			if s.AOFRewriteConcurrency != 3 {
				t.Errorf("AOFRewriteConcurrency = %d, want 3", s.AOFRewriteConcurrency)
			}
		}},
		{"aof-rewrite-concurrency", "lowest", []string{"set aof-rewrite-concurrency 1"}, func(t *testing.T, _ string, s config.Settings) {
			if s.AOFRewriteConcurrency != 1 {
				t.Errorf("AOFRewriteConcurrency = %d, want 1", s.AOFRewriteConcurrency)
			}
		}},
		{"hash", "builtin", []string{"set hash crc16"}, stringIs(hashOf, is("crc16"))},
		{"hash", "default name", []string{"set hash crc32"}, stringIs(hashOf, is("crc32"))},
		{"httpd", "", []string{"set httpd 127.0.0.1:9000"}, stringIs(httpd, is("127.0.0.1:9000"))},
		{"httpd", "all interfaces", []string{"set httpd :9000"}, stringIs(httpd, is(":9000"))},
		{"httpd", "IPv6", []string{"set httpd [::1]:9000"}, stringIs(httpd, is("[::1]:9000"))},
		{"mailserver", "", []string{"set mailserver smtp.example.com:587"}, stringIs(mailServer, is("smtp.example.com:587"))},
		{"mail-from", "address", []string{"set mail-from twine@example.com"}, stringIs(mailFrom, is("twine@example.com"))},
		{"mail-from", "angle brackets", []string{"set mail-from <twine@example.com>"}, stringIs(mailFrom, is("twine@example.com"))},
		{"mail-from", "with a name", []string{"set mail-from Twine Cluster <twine@example.com>"}, stringIs(mailFrom, is(`"Twine Cluster" <twine@example.com>`))},
		{"mail-tls", "opportunistic", []string{"set mail-tls opportunistic"}, stringIs(mailTLS, is(string(config.TLSOpportunistic)))},
		{"mail-tls", "mandatory", []string{"set mail-tls mandatory"}, stringIs(mailTLS, is(string(config.TLSMandatory)))},
		{"mail-tls", "implicit", []string{"set mail-tls implicit"}, stringIs(mailTLS, is(string(config.TLSImplicit)))},
		{"mail-tls", "off", []string{"set mail-tls off"}, stringIs(mailTLS, is(string(config.TLSOff)))},
		{"mail-user", "", []string{"set mail-user ops", "set mail-password-file secrets/smtp"}, func(t *testing.T, dir string, s config.Settings) {
			if s.MailUser != "ops" {
				t.Errorf("MailUser = %q, want ops", s.MailUser)
			}
		}},
		{"log-level", "", []string{"set log-level debug"}, stringIs(func(s config.Settings) string { return s.LogLevel }, is("debug"))},
		{"httpd-token-file", "relative", []string{"set httpd-token-file secrets/token"}, stringIs(func(s config.Settings) string { return s.HTTPDTokenFile }, in("secrets", "token"))},
		{"mail-password-file", "relative", []string{"set mail-password-file secrets/smtp", "set mail-user ops"}, stringIs(func(s config.Settings) string { return s.MailPasswordFile }, in("secrets", "smtp"))},
		{"mail-password-file", "absolute", []string{"set mail-password-file /etc/twine/smtp", "set mail-user ops"}, stringIs(func(s config.Settings) string { return s.MailPasswordFile }, is("/etc/twine/smtp"))},
		{"alert", "repeatable", []string{"set alert ops@example.com", "set alert On Call <oncall@example.com>"}, func(t *testing.T, _ string, s config.Settings) {
			if want := []string{"ops@example.com", `"On Call" <oncall@example.com>`}; !slices.Equal(s.Alerts, want) {
				t.Errorf("Alerts = %q, want %q", s.Alerts, want)
			}
		}},
		{"alert-after", "", []string{"set alert-after 2m"}, durationIs(func(s config.Settings) time.Duration { return s.AlertAfter }, 2*time.Minute)},
		{"alert-after", "at once", []string{"set alert-after 0s"}, durationIs(func(s config.Settings) time.Duration { return s.AlertAfter }, 0)},
		{"alert-reminder", "", []string{"set alert-reminder 4h"}, durationIs(func(s config.Settings) time.Duration { return s.AlertReminder }, 4*time.Hour)},
		{"alert-reminder", "off", []string{"set alert-reminder 0"}, durationIs(func(s config.Settings) time.Duration { return s.AlertReminder }, 0)},
		{"alert-group", "", []string{"set alert-group 30s"}, durationIs(func(s config.Settings) time.Duration { return s.AlertGroup }, 30*time.Second)},
		{"alert-group", "off", []string{"set alert-group 0"}, durationIs(func(s config.Settings) time.Duration { return s.AlertGroup }, 0)},
		{"redis-password-file", "relative", []string{"set redis-password-file redis.pass"}, stringIs(redisPassword, in("redis.pass"))},
		{"redis-password-file", "absolute", []string{"set redis-password-file /etc/twine/redis.pass"}, stringIs(redisPassword, is("/etc/twine/redis.pass"))},
		{"cluster", "", []string{"set cluster shop.eu-1"}, stringIs(func(s config.Settings) string { return s.Cluster }, is("shop.eu-1"))},
		{"sentinel-down-after", "", []string{"set sentinel-down-after 2s"}, durationIs(func(s config.Settings) time.Duration { return s.SentinelDownAfter }, 2*time.Second)},
		{"failover-timeout", "", []string{"set failover-timeout 1m"}, durationIs(func(s config.Settings) time.Duration { return s.FailoverTimeout }, time.Minute)},
		{"sentinel-quorum", "", []string{"set sentinel-quorum 2"}, func(t *testing.T, _ string, s config.Settings) {
			if s.SentinelQuorum != 2 {
				t.Errorf("SentinelQuorum = %d, want 2", s.SentinelQuorum)
			}
		}},
		{"min-replicas-to-write", "", []string{"set min-replicas-to-write 1"}, func(t *testing.T, _ string, s config.Settings) {
			if s.MinReplicasToWrite != 1 {
				t.Errorf("MinReplicasToWrite = %d, want 1", s.MinReplicasToWrite)
			}
		}},
		{"min-replicas-max-lag", "", []string{"set min-replicas-max-lag 5s"}, durationIs(func(s config.Settings) time.Duration { return s.MinReplicasMaxLag }, 5*time.Second)},
		{"busy-timeout", "", []string{"set busy-timeout 1m"}, durationIs(func(s config.Settings) time.Duration { return s.BusyTimeout }, time.Minute)},
		{"busy-timeout", "off", []string{"set busy-timeout 0"}, durationIs(func(s config.Settings) time.Duration { return s.BusyTimeout }, 0)},
		{"host-ttl", "", []string{"set host-ttl 10s"}, durationIs(func(s config.Settings) time.Duration { return s.HostTTL }, 10*time.Second)},
		{"alpha-ttl", "", []string{"set alpha-ttl 30s"}, durationIs(func(s config.Settings) time.Duration { return s.AlphaTTL }, 30*time.Second)},
		{"redis-include", "repeatable", []string{"set redis-include common.conf", "set redis-include /etc/redis/extra.conf"}, func(t *testing.T, dir string, s config.Settings) {
			if want := []string{filepath.Join(dir, "common.conf"), "/etc/redis/extra.conf"}; !slices.Equal(s.RedisIncludes, want) {
				t.Errorf("RedisIncludes = %q, want %q", s.RedisIncludes, want)
			}
		}},
	}
	covered := map[string]bool{"hash": true} // hash exec: TestSettingHashExec
	for _, tt := range tests {
		covered[tt.setting] = true
		t.Run(tt.setting+"/"+tt.name, func(t *testing.T) {
			text := lines(append(append([]string{}, tt.lines...), nodeLine)...)
			c, dir := mustParseIn(t, text)
			tt.check(t, dir, c.Settings())
			got := c.SetLines()
			if len(got) != len(tt.lines) {
				t.Fatalf("SetLines() = %+v, want %d lines", got, len(tt.lines))
			}
			for i, l := range got {
				if want := strings.TrimPrefix(tt.lines[i], "set "+l.Name+" "); l.Line != i+1 || l.Value != want {
					t.Errorf("SetLines()[%d] = %+v, want value %q on line %d", i, l, want, i+1)
				}
			}
		})
	}
	for _, name := range config.SettingNames() {
		if !covered[name] {
			t.Errorf("setting %s has no valid-value case", name)
		}
	}
}

// `set hash exec PATH` makes PATH absolute against the config's directory
// (not the working directory), and package hash requires an executable file
// there.
func TestSettingHashExec(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	prog := writeFile(t, dir, filepath.Join("bin", "h"), "#!/bin/sh\necho 0\n", 0o755)
	for _, spec := range []string{"exec ./bin/h", "exec bin/h", "exec " + prog} {
		t.Run(spec, func(t *testing.T) {
			c, err := config.Parse(filepath.Join(dir, confName), []byte(lines(nodeLine, "set hash "+spec)))
			if err != nil {
				t.Fatal(err)
			}
			want := "exec " + prog
			if got := c.Settings().Hash; got != want {
				t.Errorf("Settings().Hash = %q, want %q", got, want)
			}
			if got := c.Hash().Name(); got != want {
				t.Errorf("Hash().Name() = %q, want %q", got, want)
			}
			if got := c.SetLines(); len(got) != 1 || got[0].Value != spec || got[0].Line != 2 {
				t.Errorf("SetLines() = %+v, want the value as written, %q on line 2", got, spec)
			}
		})
	}
}

func TestSettingInvalid(t *testing.T) {
	tests := []struct {
		setting string
		value   string
		want    string // the message after "twine.conf:1: "
	}{
		// Paths and names accept any text; only a missing value is wrong.
		{"dir", "", "set dir needs a value"},
		{"redis-server", "", "set redis-server needs a value"},
		{"mail-user", "", "set mail-user needs a value"},
		{"mail-password-file", "", "set mail-password-file needs a value"},
		{"httpd-token-file", "", "set httpd-token-file needs a value"},
		{"log-level", "loud", `set log-level: "loud" is not a log level (trace, debug, info, warn or error)`},
		{"redis-password-file", "", "set redis-password-file needs a value"},
		{"redis-include", "", "set redis-include needs a value"},

		{"check-interval", "2", `set check-interval: "2" is not a duration (write it as 500ms, 1s, 5m or 1h)`},
		{"check-interval", "5ms", "set check-interval: 5ms is too short (at least 10ms)"},
		{"check-interval", "-1s", "set check-interval: -1s is negative"},
		{"check-interval", "0", "set check-interval: 0 is too short (at least 10ms)"},
		{"check-timeout", "0", "set check-timeout: 0 is too short (at least 1ms)"},
		{"check-timeout", "fast", `set check-timeout: "fast" is not a duration (write it as 500ms, 1s, 5m or 1h)`},
		{"backoff-min", "0s", "set backoff-min: 0s is too short (at least 1ms)"},
		{"backoff-min", "-5ms", "set backoff-min: -5ms is negative"},
		{"backoff-max", "1d", `set backoff-max: "1d" is not a duration (write it as 500ms, 1s, 5m or 1h)`},
		{"stop-timeout", "0", "set stop-timeout: 0 is too short (at least 1ms)"},
		{"stop-timeout", "30 s", `set stop-timeout: "30 s" is not a duration (write it as 500ms, 1s, 5m or 1h)`},
		{"appendonly", "true", `set appendonly: "true" is not yes or no`},
		{"appendonly", "YES", `set appendonly: "YES" is not yes or no`},
		{"aof-rewrite", "never", `set aof-rewrite: "never" is not a duration (write it as 500ms, 1s, 5m or 1h)`},
		{"aof-rewrite", "-1h", "set aof-rewrite: -1h is negative"},
		{"aof-rewrite-window", "02:00", `set aof-rewrite-window: "02:00" is not a daily window HH:MM-HH:MM (e.g. 02:00-05:00, or 22:00-02:00 across midnight)`},
		{"aof-rewrite-window", "2am-5am", `set aof-rewrite-window: window "2am-5am": start "2am" is not a time of day HH:MM`},
		{"aof-rewrite-window", "02:00-05", `set aof-rewrite-window: window "02:00-05": end "05" is not a time of day HH:MM`},
		{"aof-rewrite-window", "02:0-05:00", `set aof-rewrite-window: window "02:0-05:00": start "02:0" is not a time of day HH:MM`},
		{"aof-rewrite-window", "25:00-02:00", `set aof-rewrite-window: window "25:00-02:00": start "25:00": hour 25 is not 00-23`},
		{"aof-rewrite-window", "24:00-02:00", `set aof-rewrite-window: window "24:00-02:00": start "24:00": hour 24 is not 00-23`},
		{"aof-rewrite-window", "02:00-24:30", `set aof-rewrite-window: window "02:00-24:30": end "24:30": hour 24 is not 00-23`},
		{"aof-rewrite-window", "02:60-05:00", `set aof-rewrite-window: window "02:60-05:00": start "02:60": minute 60 is not 00-59`},
		{"aof-rewrite-window", "-1:00-05:00", `set aof-rewrite-window: window "-1:00-05:00": start "" is not a time of day HH:MM`},
		{"aof-rewrite-window", "03:00-03:00", `set aof-rewrite-window: window "03:00-03:00" is empty: start and end are the same time (leave the setting out to allow any time)`},
		{"aof-rewrite-concurrency", "0", "set aof-rewrite-concurrency: 0 is too small (at least 1)"},
		{"aof-rewrite-concurrency", "-2", "set aof-rewrite-concurrency: -2 is too small (at least 1)"},
		{"aof-rewrite-concurrency", "two", `set aof-rewrite-concurrency: "two" is not a whole number`},
		{"aof-rewrite-concurrency", "1.5", `set aof-rewrite-concurrency: "1.5" is not a whole number`},
		{"aof-rewrite-concurrency", "99999999999999999999", "set aof-rewrite-concurrency: 99999999999999999999 is too large"},
		{"httpd", "localhost", `set httpd: "localhost" is not HOST:PORT`},
		{"httpd", "localhost:0", `set httpd: port "0" in "localhost:0" is not a number from 1 to 65535`},
		{"httpd", "localhost:http", `set httpd: port "http" in "localhost:http" is not a number from 1 to 65535`},
		{"httpd", "bad_host!:80", `set httpd: "bad_host!" is not a host name or IP address`},
		{"mailserver", "smtp.example.com", `set mailserver: "smtp.example.com" is not HOST:PORT`},
		{"mailserver", "smtp.example.com:65536", `set mailserver: port "65536" in "smtp.example.com:65536" is not a number from 1 to 65535`},
		{"mail-from", "twine", `set mail-from: "twine" is not a mail address`},
		{"mail-from", "twine@", `set mail-from: "twine@" is not a mail address`},
		{"mail-tls", "starttls", `set mail-tls: "starttls" is not a mail-tls mode (opportunistic, mandatory, implicit or off)`},
		{"alert", "ops", `set alert: "ops" is not a mail address`},
		{"alert-after", "soon", `set alert-after: "soon" is not a duration (write it as 500ms, 1s, 5m or 1h)`},
		{"alert-after", "-30s", "set alert-after: -30s is negative"},
		{"alert-reminder", "1 hour", `set alert-reminder: "1 hour" is not a duration (write it as 500ms, 1s, 5m or 1h)`},
		{"alert-group", "-10s", "set alert-group: -10s is negative"},
		{"hash", "", "set hash needs a value"},
		{"cluster", "shop/eu", `set cluster: cluster name "shop/eu": letters, digits, '.', '_' and '-' only, starting with a letter or digit`},
		{"sentinel-down-after", "10ms", "set sentinel-down-after: 10ms is too short (at least 100ms)"},
		{"failover-timeout", "500ms", "set failover-timeout: 500ms is too short (at least 1s)"},
		{"sentinel-quorum", "0", "set sentinel-quorum: 0 is too small (at least 1)"},
		{"min-replicas-to-write", "-1", "set min-replicas-to-write: -1 is too small (at least 0)"},
		{"min-replicas-max-lag", "0", "set min-replicas-max-lag: 0 is too short (at least 1s)"},
		{"busy-timeout", "-1s", "set busy-timeout: -1s is negative"},
		{"host-ttl", "50ms", "set host-ttl: 50ms is too short (at least 100ms)"},
		{"alpha-ttl", "100ms", "set alpha-ttl: 100ms is too short (at least 300ms)"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.setting] = true
		t.Run(tt.setting+"/"+tt.value, func(t *testing.T) {
			line := strings.TrimSpace("set " + tt.setting + " " + tt.value)
			got := parseErrors(t, lines(line, nodeLine))
			sameStrings(t, "errors", got, []string{"twine.conf:1: " + tt.want})
		})
	}
	for _, name := range config.SettingNames() {
		if !covered[name] {
			t.Errorf("setting %s has no invalid-value case", name)
		}
	}
}

// An alert recipient listed twice is a mistake, not a second mail.
func TestSettingAlertTwice(t *testing.T) {
	got := parseErrors(t, lines("set alert ops@example.com", nodeLine, "set alert <ops@example.com>"))
	sameStrings(t, "errors", got, []string{"twine.conf:3: set alert: ops@example.com is already an alert recipient"})
}

// The hash errors come from package hash; their text is its business, so
// these cases check the line, the prefix and the wrapped cause.
func TestSettingHashInvalid(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "not-exec", "#!/bin/sh\necho 0\n", 0o644)
	tests := []struct {
		value string
		cause error
	}{
		{"crc33", hash.ErrUnknown},
		{"sha1", hash.ErrUnknown},
		{"exec ./missing", fs.ErrNotExist},
		{"exec ./not-exec", nil},
		{"exec", nil},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			_, err := config.Parse(filepath.Join(dir, confName), []byte(lines(nodeLine, "set hash "+tt.value)))
			if err == nil {
				t.Fatalf("set hash %s accepted", tt.value)
			}
			list := errorList(t, err)
			if len(list.Errors) != 1 {
				t.Fatalf("errors = %v, want one", err)
			}
			e := list.Errors[0]
			if e.Line != 2 || !strings.HasPrefix(e.Msg, "set hash: ") {
				t.Errorf("error = %q, want line 2 and a message starting with \"set hash: \"", e)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error %q does not wrap %v", e, tt.cause)
			}
			if strings.HasPrefix(tt.value, "exec ./") && !strings.Contains(e.Msg, filepath.Join(dir, strings.TrimPrefix(tt.value, "exec ./"))) {
				t.Errorf("error %q does not name the program by its absolute path", e)
			}
		})
	}
}
