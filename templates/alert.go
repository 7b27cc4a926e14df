package templates

import (
	"embed"
	"text/template"
)

//go:embed alert.txt.tmpl alert-test.txt.tmpl
var alertFiles embed.FS

// AlertText renders the plain-text body of an alert mail from an AlertData.
var AlertText = template.Must(template.ParseFS(alertFiles, "alert.txt.tmpl"))

// AlertTestText renders the body of the mail `twined -test-alert` sends,
// from an AlertTestData.
var AlertTestText = template.Must(template.ParseFS(alertFiles, "alert-test.txt.tmpl"))

// AlertData is what AlertText needs. Every value is already formatted for
// people by the caller: times, durations and lists are strings.
type AlertData struct {
	Host    string // the host twined runs, as named in twine.conf
	Status  string // OK, DEGRADED or HALT, judged on what is alerted
	Summary string // the subject without its "[twine] STATUS on HOST: " prefix
	Time    string // when the mail was composed
	// Health is one line on the host as a whole, e.g. "5 of 8 nodes
	// answer; partitions 4, 9, 17 have no live master".
	Health    string
	Down      []AlertNode // newly alerted: down longer than alert-after, crash loop, or HALT
	Still     []AlertNode // reminders: alerted before and still not up
	Recovered []AlertNode // alerted before, now up (or stopped, or removed)
	Notes     []AlertNote // one-off events: failed AOF rewrites, rejected configs
	// Command is how to look closer, e.g. "twined -status -config /etc/twine/twine.conf".
	Command  string
	Reminder string // the alert-reminder period, "" when reminders are off
	// Note is a line about who mails what, e.g. that the status node does
	// not answer, so this host mails its own alerts; "" for none.
	Note string
}

// AlertNode is one node in an alert mail.
type AlertNode struct {
	Name  string // node name
	Where string // e.g. "partition 4 master, 127.0.0.1:4204"
	State string // e.g. "failed (crash loop)"
	Since string // when the trouble began
	For   string // how long it has lasted (or lasted, for recoveries)
	Error string // the last error twined saw, "" if none
	Doing string // what twined is doing about it
	// Restarts is e.g. "5 since twined started", "" for none.
	Restarts string
	Outcome  string   // for recoveries: how it ended, e.g. "up again"
	LogTail  []string // the last lines of the node's log, if known
}

// AlertNote is a one-off event in an alert mail.
type AlertNote struct {
	Title  string // e.g. "AOF rewrite failed on n3"
	Time   string // when it happened
	Detail []string
}

// AlertTestData is what AlertTestText needs.
type AlertTestData struct {
	Host       string // the host twined serves
	Time       string // when the mail was composed
	MailServer string // HOST:PORT
	TLS        string // the mail-tls mode
	Recipients string // comma-separated
	AlertAfter string // alert-after, formatted
	Reminder   string // alert-reminder, formatted ("off" for 0)
	Group      string // alert-group, formatted
}
