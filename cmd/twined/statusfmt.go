package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twine/twine/supervisor"
)

// statusFormats are the -format values and /status?format= values.
var statusFormats = []string{"summary", "list", "json", "xml"}

// writeStatus renders a snapshot in one of statusFormats.
func writeStatus(w io.Writer, s supervisor.Snapshot, format string) error {
	switch format {
	case "summary":
		writeSummary(w, s)
	case "list":
		writeList(w, s)
	case "json":
		return writeJSON(w, s)
	case "xml":
		return writeXML(w, toXML(s))
	default:
		return fmt.Errorf("unknown status format %q (want %s)", format, strings.Join(statusFormats, ", "))
	}
	return nil
}

// writeJSON writes v as indented JSON, the json format.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeXML writes the XML header and v indented, the xml format.
func writeXML(w io.Writer, v any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// headline is the one-line verdict on a host, e.g.
// "db1 DEGRADED: 63/64 nodes up, 64 partitions, all with a live master".
func headline(s supervisor.Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d/%d nodes up", s.Host, s.Status, s.Up, len(s.Nodes))
	if s.PartitionCount > 0 {
		fmt.Fprintf(&b, ", %d partitions", s.PartitionCount)
		if len(s.Masterless) > 0 {
			fmt.Fprintf(&b, ", %s without a live master", plural(len(s.Masterless), "partition "+joinInts(s.Masterless), "partitions "+joinInts(s.Masterless)))
		}
	}
	return b.String()
}

// writeSummary writes the headline and one line per node that is not up,
// like monit summary but compact at 64+ nodes.
func writeSummary(w io.Writer, s supervisor.Snapshot) {
	fmt.Fprintln(w, headline(s))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, n := range s.Nodes {
		if n.State == supervisor.Up {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", n.Name, partitionText(n), n.State, "since "+ago(n.Since, s.Time), detail(n))
	}
	tw.Flush()
	for _, m := range s.Masters {
		if !m.Confirmed || (m.Sentinels > 0 && m.SentinelsAgree <= m.Sentinels/2) {
			fmt.Fprintf(w, "  %s: %s\n", m.Set, masterText(m))
		}
	}
}

// masterText describes a set's master: "r1 (127.0.0.2:7001), 3/3
// sentinels agree", or why none is confirmed.
func masterText(m supervisor.SetMaster) string {
	var b strings.Builder
	switch {
	case m.Addr == "":
		b.WriteString("no master found")
	case !m.Confirmed:
		fmt.Fprintf(&b, "master %s unconfirmed (it does not answer ROLE as a master)", masterName(m))
	default:
		fmt.Fprintf(&b, "master %s", masterName(m))
	}
	if m.Sentinels > 0 {
		fmt.Fprintf(&b, ", %d/%d sentinels agree", m.SentinelsAgree, m.Sentinels)
	}
	return b.String()
}

func masterName(m supervisor.SetMaster) string {
	if m.Master == "" {
		return m.Addr
	}
	return m.Master + " (" + m.Addr + ")"
}

// writeList writes one aligned line per node.
func writeList(w io.Writer, s supervisor.Snapshot) {
	fmt.Fprintln(w, headline(s))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPART\tROLE\tSTATE\tSINCE\tPID\tPORT\tRESTARTS\tMEMORY\tPING\tDETAIL")
	for _, n := range s.Nodes {
		pid := "-"
		if n.PID > 0 {
			pid = strconv.Itoa(n.PID)
		}
		ping := "-"
		if n.State.Alive() && !n.LastCheck.IsZero() {
			ping = fmt.Sprintf("%.2fms", n.LatencyMS)
		}
		mem := "-"
		if n.UsedMemory > 0 {
			mem = bytesText(n.UsedMemory)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n",
			n.Name, partitionText(n), n.Role, n.State, ago(n.Since, s.Time), pid, n.Port, n.Restarts, mem, ping, detail(n))
	}
	tw.Flush()
	if len(s.Masters) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SET\tMASTER\tADDR\tFROM\tSENTINELS\tCONFIRMED")
	for _, m := range s.Masters {
		sentinels := "-"
		if m.Sentinels > 0 {
			sentinels = fmt.Sprintf("%d/%d", m.SentinelsAgree, m.Sentinels)
		}
		name, addr := m.Master, m.Addr
		if name == "" {
			name = "-"
		}
		if addr == "" {
			addr = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", setShort(m.Partition), name, addr, m.Source, sentinels, yesNo(m.Confirmed))
	}
	tw.Flush()
}

// setShort is "p3", or "status" for the status set.
func setShort(p int) string {
	if p < 0 {
		return "status"
	}
	return "p" + strconv.Itoa(p)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// detail says why a node is in its state, and what comes next.
func detail(n supervisor.NodeStatus) string {
	var parts []string
	if n.Reason != "" {
		parts = append(parts, n.Reason)
	}
	if n.Error != "" {
		parts = append(parts, n.Error)
	}
	if !n.RetryAt.IsZero() && (n.State == supervisor.Backoff || n.State == supervisor.Failed) {
		parts = append(parts, "next start "+n.RetryAt.Local().Format("15:04:05"))
	}
	if n.State == supervisor.Up {
		return ""
	}
	return strings.Join(parts, "; ")
}

func partitionText(n supervisor.NodeStatus) string {
	if n.Partition < 0 {
		return n.Kind // status or sentinel
	}
	return "p" + strconv.Itoa(n.Partition)
}

// ago renders how long ago t was, as "3s", "4m10s", "2h3m" or "5d2h".
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	return shortDuration(d)
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10) + "B"
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func itoa(n int) string { return strconv.Itoa(n) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// xmlStatus is the XML form of a snapshot: the same data as the JSON.
type xmlStatus struct {
	XMLName       xml.Name    `xml:"twine"`
	Host          string      `xml:"host,attr"`
	Status        string      `xml:"status,attr"`
	Time          time.Time   `xml:"time,attr"`
	Up            int         `xml:"up,attr"`
	Total         int         `xml:"nodes,attr"`
	Partitions    int         `xml:"partitions,attr"`
	Masterless    string      `xml:"masterless_partitions,attr,omitempty"`
	EventsDropped uint64      `xml:"events_dropped,attr"`
	Nodes         []xmlNode   `xml:"node"`
	Masters       []xmlMaster `xml:"master"`
}

type xmlMaster struct {
	Partition      int    `xml:"partition,attr"`
	Name           string `xml:"name,attr,omitempty"`
	Node           string `xml:"node,attr,omitempty"`
	Addr           string `xml:"addr,attr,omitempty"`
	Source         string `xml:"source,attr"`
	Confirmed      bool   `xml:"confirmed,attr"`
	SentinelsAgree int    `xml:"sentinels_agree,attr"`
	Sentinels      int    `xml:"sentinels,attr"`
}

type xmlNode struct {
	Name           string    `xml:"name,attr"`
	Kind           string    `xml:"kind"`
	Partition      int       `xml:"partition"`
	Host           string    `xml:"host"`
	Port           int       `xml:"port"`
	Role           string    `xml:"role"`
	State          string    `xml:"state"`
	Since          time.Time `xml:"since"`
	Reason         string    `xml:"reason,omitempty"`
	Error          string    `xml:"error,omitempty"`
	PID            int       `xml:"pid"`
	Adopted        bool      `xml:"adopted"`
	Restarts       int       `xml:"restarts"`
	UptimeSeconds  int64     `xml:"uptime_seconds"`
	UsedMemory     int64     `xml:"used_memory"`
	LatencyMS      float64   `xml:"latency_ms"`
	Checks         uint64    `xml:"checks"`
	FailedChecks   uint64    `xml:"failed_checks"`
	LastSave       time.Time `xml:"last_save"`
	LastSaveStatus string    `xml:"last_save_status,omitempty"`
	AOFEnabled     bool      `xml:"aof_enabled"`
	AOFRewrite     string    `xml:"last_aof_rewrite_status,omitempty"`
}

func toXML(s supervisor.Snapshot) xmlStatus {
	x := xmlStatus{
		Host: s.Host, Status: s.Status.String(), Time: s.Time, Up: s.Up, Total: len(s.Nodes),
		Partitions: s.PartitionCount, Masterless: joinInts(s.Masterless), EventsDropped: s.EventsDropped,
	}
	for _, n := range s.Nodes {
		x.Nodes = append(x.Nodes, xmlNode{
			Name: n.Name, Kind: n.Kind, Partition: n.Partition, Host: n.Host, Port: n.Port, Role: n.Role,
			State: n.State.String(), Since: n.Since, Reason: n.Reason, Error: n.Error, PID: n.PID,
			Adopted: n.Adopted, Restarts: n.Restarts, UptimeSeconds: n.UptimeSeconds, UsedMemory: n.UsedMemory,
			LatencyMS: n.LatencyMS, Checks: n.Checks, FailedChecks: n.FailedChecks, LastSave: n.LastSave,
			LastSaveStatus: n.LastSaveStatus, AOFEnabled: n.AOFEnabled, AOFRewrite: n.LastAOFRewriteStatus,
		})
	}
	for _, m := range s.Masters {
		x.Masters = append(x.Masters, xmlMaster{Partition: m.Partition, Name: m.Name, Node: m.Master, Addr: m.Addr,
			Source: m.Source, Confirmed: m.Confirmed, SentinelsAgree: m.SentinelsAgree, Sentinels: m.Sentinels})
	}
	return x
}
