package alert

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
	"github.com/twine/twine/templates"
)

// timeLayout is how times appear in mails.
const timeLayout = "2006-01-02 15:04:05 MST"

// composer turns a batch into a mail: subject and text.
type composer struct {
	host     string
	settings config.Settings
	command  string // how to look closer
}

func newComposer(s config.Settings, host, configFile string) composer {
	cmd := "twined -status"
	if configFile != "" {
		cmd += " -config " + configFile
	}
	return composer{host: host, settings: s, command: cmd}
}

// compose renders b. The batch must not be empty.
func (c composer) compose(b batch) (*message, error) {
	status := "OK"
	switch {
	case len(b.health.lost) > 0:
		status = "HALT"
	case b.health.troubled > 0:
		status = "DEGRADED"
	}
	summary := c.summary(b)
	data := templates.AlertData{
		Host:    c.host,
		Status:  status,
		Summary: summary,
		Time:    b.at.Format(timeLayout),
		Health:  healthLine(b.health),
		Command: c.command,
		Note:    b.note,
	}
	if c.settings.AlertReminder > 0 {
		data.Reminder = shortDuration(c.settings.AlertReminder)
	}
	for _, a := range b.down {
		data.Down = append(data.Down, c.node(a, b.at))
	}
	for _, a := range b.still {
		data.Still = append(data.Still, c.node(a, b.at))
	}
	for _, n := range b.resolved {
		data.Recovered = append(data.Recovered, resolvedNode(n))
	}
	for _, n := range b.notes {
		data.Notes = append(data.Notes, note(n))
	}
	var text bytes.Buffer
	if err := templates.AlertText.Execute(&text, data); err != nil {
		return nil, fmt.Errorf("render alert mail: %w", err)
	}
	return &message{
		Created:   b.at,
		MessageID: newMessageID(c.host, b.at),
		Host:      c.host,
		Subject:   fmt.Sprintf("[twine] %s on %s: %s", status, c.host, summary),
		Text:      text.String(),
	}, nil
}

// summary is the subject after "[twine] STATUS on HOST: ", e.g. "3 nodes
// down (partitions 4, 9, 17)".
func (c composer) summary(b batch) string {
	var parts []string
	if len(b.down) > 0 {
		parts = append(parts, countNodes(len(b.down))+" down"+where(alertStatuses(b.down)))
	}
	if len(b.still) > 0 {
		parts = append(parts, countNodes(len(b.still))+" still down"+where(alertStatuses(b.still)))
	}
	byKind := map[noticeKind][]supervisor.NodeStatus{}
	for _, n := range b.resolved {
		byKind[n.kind] = append(byKind[n.kind], n.node)
	}
	for _, k := range []struct {
		kind noticeKind
		verb string
	}{{resolvedUp, " up again"}, {resolvedStopped, " stopped, no longer alerted"}, {resolvedRemoved, " removed from twine.conf"}} {
		if ns := byKind[k.kind]; len(ns) > 0 {
			parts = append(parts, countNodes(len(ns))+k.verb+where(ns))
		}
	}
	var aof, moved, stuck, busy []string
	invalid := false
	for _, n := range b.notes {
		switch n.kind {
		case aofFailed:
			aof = append(aof, n.node.Name)
		case scriptUnkillable:
			busy = append(busy, n.node.Name)
		case failedOver:
			moved = append(moved, failoverSet(n))
		case failoverFailed:
			stuck = append(stuck, failoverSet(n))
		default:
			invalid = true
		}
	}
	if len(moved) > 0 {
		parts = append(parts, "fail-over of "+strings.Join(moved, ", "))
	}
	if len(stuck) > 0 {
		parts = append(parts, "no replica took over "+strings.Join(stuck, ", "))
	}
	if len(aof) > 0 {
		parts = append(parts, "AOF rewrite failed on "+strings.Join(aof, ", "))
	}
	if len(busy) > 0 {
		parts = append(parts, "unkillable script on "+strings.Join(busy, ", "))
	}
	if invalid {
		parts = append(parts, "twine.conf reload rejected")
	}
	return strings.Join(parts, "; ")
}

func countNodes(n int) string {
	if n == 1 {
		return "1 node"
	}
	return strconv.Itoa(n) + " nodes"
}

func alertStatuses(as []nodeAlert) []supervisor.NodeStatus {
	out := make([]supervisor.NodeStatus, len(as))
	for i, a := range as {
		out[i] = a.status
	}
	return out
}

// where names the partitions of data nodes and the names of status nodes:
// " (partitions 4, 9, 17)", " (partition 4; status node s1)".
func where(ns []supervisor.NodeStatus) string {
	var parts, others, hosts []string
	seen := map[int]bool{}
	for _, n := range ns {
		switch {
		case n.Kind == "host":
			hosts = append(hosts, n.Host)
		case n.Kind == config.Status.String() || n.Partition < 0:
			others = append(others, n.Name)
		case !seen[n.Partition]:
			seen[n.Partition] = true
			parts = append(parts, strconv.Itoa(n.Partition))
		}
	}
	var out []string
	for _, l := range []struct {
		one   string
		names []string
	}{{"partition", parts}, {"status node", others}, {"host", hosts}} {
		switch len(l.names) {
		case 0:
		case 1:
			out = append(out, l.one+" "+l.names[0])
		default:
			out = append(out, l.one+"s "+strings.Join(l.names, ", "))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, "; ") + ")"
}

func healthLine(h health) string {
	s := fmt.Sprintf("%d of %d nodes answer", h.up, h.total)
	switch len(h.lost) {
	case 0:
	case 1:
		s += fmt.Sprintf("; partition %d has no live master", h.lost[0])
	default:
		ps := make([]string, len(h.lost))
		for i, p := range h.lost {
			ps[i] = strconv.Itoa(p)
		}
		s += "; partitions " + strings.Join(ps, ", ") + " have no live master"
	}
	return s
}

// node describes a node in trouble.
func (c composer) node(a nodeAlert, now time.Time) templates.AlertNode {
	n := a.status
	errStr := a.inc.err
	if n.Error != "" {
		errStr = n.Error
	}
	return templates.AlertNode{
		Name:     n.Name,
		Where:    placeOf(n),
		State:    stateText(n.State),
		Since:    a.inc.start.Format(timeLayout),
		For:      roundDuration(now.Sub(a.inc.start)),
		Error:    errStr,
		Doing:    c.doing(n, now),
		Restarts: restarts(n.Restarts),
		LogTail:  a.inc.tail,
	}
}

// placeOf is e.g. "partition 4 master, 127.0.0.1:4204".
func placeOf(n supervisor.NodeStatus) string {
	addr := n.Host + ":" + strconv.Itoa(n.Port)
	if n.Port == 0 {
		addr = "port unknown"
	}
	switch {
	case n.Kind == "host":
		return "host " + n.Host
	case n.Kind == "split":
		return fmt.Sprintf("partition %d", n.Partition)
	case n.Kind == config.Status.String():
		return "status node, " + addr
	case n.Partition < 0:
		return addr
	case n.Role != "":
		return fmt.Sprintf("partition %d %s, %s", n.Partition, n.Role, addr)
	default:
		return fmt.Sprintf("partition %d, %s", n.Partition, addr)
	}
}

func stateText(s supervisor.State) string {
	switch s {
	case supervisor.Failed:
		return "failed (crash loop)"
	case supervisor.Backoff:
		return "backoff (exited soon after its start)"
	case supervisor.Hung:
		return "hung (not answering PING)"
	case supervisor.Down:
		return "down (exited)"
	case supervisor.Starting:
		return "starting (restarted, not answering yet)"
	case supervisor.Held:
		return "held down (a master not restarted yet, to protect its set's data)"
	case supervisor.Busy:
		return "busy (running a script or function, answering BUSY)"
	}
	return s.String()
}

// doing says what twined is doing about a node in trouble.
func (c composer) doing(n supervisor.NodeStatus, now time.Time) string {
	next := ""
	if n.RetryAt.After(now) {
		next = ", next at " + n.RetryAt.Format("15:04:05") + " (in " + roundDuration(n.RetryAt.Sub(now)) + ")"
	}
	switch n.State {
	case supervisor.Failed:
		return "gave up retrying fast: starts it again every " + shortDuration(c.settings.BackoffMax) + next + "; it needs a look"
	case supervisor.Backoff:
		return "restarting it with backoff" + next
	case supervisor.Hung:
		return "killing it to restart it"
	case supervisor.Down:
		return "restarting it now"
	case supervisor.Starting:
		return "started it again; waiting for it to answer PING"
	}
	return n.Reason
}

func restarts(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n) + " since twined started"
}

// resolvedNode describes the end of an alerted incident.
func resolvedNode(n notice) templates.AlertNode {
	lasted := roundDuration(n.at.Sub(n.start))
	out := templates.AlertNode{
		Name:  n.node.Name,
		Where: placeOf(n.node),
		Since: n.start.Format(timeLayout),
		For:   lasted,
	}
	at := n.at.Format(timeLayout)
	switch n.kind {
	case resolvedUp:
		out.Outcome = fmt.Sprintf("up again at %s, after %s down (since %s)", at, lasted, out.Since)
	case resolvedStopped:
		out.Outcome = fmt.Sprintf("stopped at %s (%s), after %s down (since %s); no longer alerted", at, n.reason, lasted, out.Since)
	case resolvedRemoved:
		out.Outcome = fmt.Sprintf("removed from twine.conf at %s, after %s down (since %s)", at, lasted, out.Since)
	}
	return out
}

func note(n notice) templates.AlertNote {
	out := templates.AlertNote{Time: n.at.Format(timeLayout)}
	switch n.kind {
	case aofFailed:
		out.Title = "AOF rewrite failed on " + n.node.Name
		if n.node.Port != 0 {
			out.Title += " (" + placeOf(n.node) + ")"
		}
	case configInvalid:
		out.Title = "twine.conf reload rejected; the running cluster is unchanged"
	case failedOver:
		out.Title = "Fail-over of " + failoverSet(n)
		if fo := n.fo; fo != nil {
			out.Title += fmt.Sprintf(": %s replaced %s; writes refused for %s", fo.New, fo.Old, fo.Refused.Round(10*time.Millisecond))
		}
	case scriptUnkillable:
		out.Title = "A script keeps " + n.node.Name + " busy and Redis will not kill it"
		if n.node.Port != 0 {
			out.Title += " (" + placeOf(n.node) + ")"
		}
	case failoverFailed:
		out.Title = "No replica took over " + failoverSet(n)
		if n.fo != nil {
			out.Title += " from " + n.fo.Old
		}
	}
	for _, s := range []string{n.reason, n.err} {
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out.Detail = append(out.Detail, l)
			}
		}
	}
	return out
}

// failoverSet names the replica set of a fail-over notice.
func failoverSet(n notice) string {
	if n.fo != nil {
		return n.fo.Set
	}
	return n.node.Name + "'s set"
}

// roundDuration renders d for people: whole seconds from a second up,
// milliseconds below; "1h0m0s" is "1h", "5m0s" is "5m".
func roundDuration(d time.Duration) string {
	if d >= time.Second {
		d = d.Round(time.Second)
	} else {
		d = d.Round(time.Millisecond)
	}
	return shortDuration(d)
}

// shortDuration is d.String() without zero minutes and seconds after a
// larger unit: "1h", "1h30m", "2m", "1m5s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
