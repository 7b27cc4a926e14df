package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twine/twine/cmd/internal/mainutil"
	"github.com/twine/twine/supervisor"
	"github.com/twine/twine/supervisor/cluster"
	"github.com/twine/twine/templates"
)

// runClusterStatus is `twined -status -cluster`: it reads the cluster
// view from the status node directly, so it works from any machine that
// holds twine.conf, with no twined running there. Exit codes as -status:
// 0 OK, 1 DEGRADED, 2 HALT, 3 UNKNOWN (no status node, no alpha).
func runClusterStatus(ctx context.Context, o options, stdout io.Writer) error {
	c, _, err := loadConfig(o.config)
	if err != nil {
		return &mainutil.ExitError{Code: exitUnknown, Err: err}
	}
	password, err := c.Settings().RedisPassword()
	if err != nil {
		return &mainutil.ExitError{Code: exitUnknown, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, statusRequestTimeout)
	defer cancel()
	v, err := cluster.Read(ctx, c, password)
	if err != nil {
		v = cluster.View{Cluster: c.Settings().Cluster, Status: cluster.StatusUnknown, Reason: err.Error(), Time: time.Now()}
	}
	if err := writeClusterStatus(stdout, v, o.format); err != nil {
		return &mainutil.ExitError{Code: exitUnknown, Err: err}
	}
	return clusterExit(v.Status)
}

// clusterExit maps a cluster status to -status's Nagios exit codes.
func clusterExit(status string) error {
	switch status {
	case cluster.StatusOK:
		return nil
	case cluster.StatusDegraded:
		return &mainutil.ExitError{Code: exitDegraded}
	case cluster.StatusHalt:
		return &mainutil.ExitError{Code: exitHalt}
	}
	return &mainutil.ExitError{Code: exitUnknown}
}

// writeClusterStatus renders a cluster view in one of statusFormats (html
// is the page's).
func writeClusterStatus(w io.Writer, v cluster.View, format string) error {
	switch format {
	case "summary":
		writeClusterSummary(w, v)
	case "list":
		writeClusterList(w, v)
	case "json":
		return writeJSON(w, v)
	case "xml":
		return writeXML(w, clusterXML(v))
	case "html":
		return clusterPage(w, v)
	default:
		return fmt.Errorf("unknown status format %q (want %s)", format, strings.Join(statusFormats, ", "))
	}
	return nil
}

// clusterHeadline is the one-line verdict, e.g. "cluster twine DEGRADED:
// 63/64 nodes up on 3 hosts (1 lost), alpha db1 (epoch 4)".
func clusterHeadline(v cluster.View) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster %s %s", v.Cluster, v.Status)
	up, total, lost := 0, 0, 0
	for _, h := range v.Hosts {
		if h.Lost {
			lost++
		}
		for _, n := range h.Nodes {
			total++
			if n.State == "up" || n.State == "loading" {
				up++
			}
		}
	}
	if len(v.Hosts) > 0 {
		fmt.Fprintf(&b, ": %d/%d nodes up on %d hosts", up, total, len(v.Hosts))
		if lost > 0 {
			fmt.Fprintf(&b, " (%d lost)", lost)
		}
	}
	var halted []string
	for _, p := range v.Partitions {
		if p.Status == cluster.StatusHalt {
			halted = append(halted, setShort(p.Partition))
		}
	}
	if len(halted) > 0 {
		fmt.Fprintf(&b, ", without a live master: %s", strings.Join(halted, " "))
	}
	if v.Alpha != "" {
		fmt.Fprintf(&b, ", alpha %s (epoch %d)", v.Alpha, v.AlphaEpoch)
	}
	if v.Reason != "" {
		fmt.Fprintf(&b, " (%s)", v.Reason)
	}
	return b.String()
}

// writeClusterSummary writes the headline, one line per host that is not
// OK and one per node that is not up.
func writeClusterSummary(w io.Writer, v cluster.View) {
	fmt.Fprintln(w, clusterHeadline(v))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range v.Hosts {
		if h.Lost {
			fmt.Fprintf(tw, "  host %s\tlost\tlast seen %s\t%d nodes answer unsupervised\n", h.Host, ago(h.Seen, v.Time), h.Unsupervised)
		}
		for _, n := range h.Nodes {
			if n.State != "up" {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", n.Name, h.Host, nodePart(n), n.State, n.Error)
			}
		}
	}
	tw.Flush()
	for _, p := range v.Partitions {
		if len(p.Masters) > 1 {
			fmt.Fprintf(w, "  %s: %d nodes claim master: %s\n", setShort(p.Partition), len(p.Masters), strings.Join(p.Masters, ", "))
		}
	}
}

// writeClusterList writes every host, and every partition with its master.
func writeClusterList(w io.Writer, v cluster.View) {
	fmt.Fprintln(w, clusterHeadline(v))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATUS\tLOST\tSEEN\tNODES\tUP\tVERSION")
	for _, h := range v.Hosts {
		up := 0
		for _, n := range h.Nodes {
			if n.State == "up" || n.State == "loading" {
				up++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", h.Host, h.Status, yesNo(h.Lost), ago(h.Seen, v.Time), len(h.Nodes), up, orDash(h.Version))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SET\tSTATUS\tMASTER\tNODES")
	for _, p := range v.Partitions {
		m := orDash(p.Master)
		if len(p.Masters) > 1 {
			m = strings.Join(p.Masters, "+")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", setShort(p.Partition), p.Status, m, strings.Join(p.Nodes, " "))
	}
	tw.Flush()
}

func nodePart(n cluster.NodeView) string {
	if n.Partition < 0 {
		return n.Kind
	}
	return fmt.Sprintf("p%d", n.Partition)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// xmlCluster is the XML form of a cluster view: the same data as the JSON.
type xmlCluster struct {
	XMLName    xml.Name       `xml:"twine-cluster"`
	Cluster    string         `xml:"cluster,attr"`
	Status     string         `xml:"status,attr"`
	Reason     string         `xml:"reason,attr,omitempty"`
	Alpha      string         `xml:"alpha,attr"`
	AlphaEpoch int64          `xml:"alpha_epoch,attr"`
	Time       time.Time      `xml:"time,attr"`
	Hosts      []xmlHost      `xml:"host"`
	Partitions []xmlPartition `xml:"partition"`
}

type xmlHost struct {
	Host         string             `xml:"name,attr"`
	Status       string             `xml:"status,attr"`
	Lost         bool               `xml:"lost,attr"`
	Unsupervised int                `xml:"unsupervised,attr"`
	Seen         time.Time          `xml:"seen,attr"`
	Nodes        []cluster.NodeView `xml:"node"`
}

type xmlPartition struct {
	Partition int    `xml:"number,attr"`
	Status    string `xml:"status,attr"`
	Master    string `xml:"master,attr"`
	Nodes     string `xml:"nodes,attr"`
}

func clusterXML(v cluster.View) xmlCluster {
	x := xmlCluster{Cluster: v.Cluster, Status: v.Status, Reason: v.Reason, Alpha: v.Alpha, AlphaEpoch: v.AlphaEpoch, Time: v.Time}
	for _, h := range v.Hosts {
		x.Hosts = append(x.Hosts, xmlHost{Host: h.Host, Status: h.Status, Lost: h.Lost, Unsupervised: h.Unsupervised, Seen: h.Seen, Nodes: h.Nodes})
	}
	for _, p := range v.Partitions {
		x.Partitions = append(x.Partitions, xmlPartition{Partition: p.Partition, Status: p.Status, Master: p.Master, Nodes: strings.Join(p.Nodes, " ")})
	}
	return x
}

// clusterPage renders the cluster view's HTML page: a table of hosts and a
// box per partition with one square per host, coloured by the state of
// the partition's node there (M on the master), readable at hundreds of
// nodes on many hosts.
func clusterPage(w io.Writer, v cluster.View) error {
	d := templates.ClusterPageData{
		Cluster: v.Cluster, Status: v.Status, Headline: clusterHeadline(v),
		Time: v.Time.Local().Format("2006-01-02 15:04:05 MST"), Version: version(), Refresh: 2,
	}
	for st := supervisor.Starting; st <= supervisor.Busy; st++ {
		d.States = append(d.States, st.String())
	}
	d.States = append(d.States, cluster.StateUnsupervised)
	col := map[string]int{}
	type cell struct {
		state  string
		master bool
	}
	byPart := map[int]map[string]cell{} // partition → host → its node there
	for i, h := range v.Hosts {
		col[h.Host] = i
		up := 0
		for _, n := range h.Nodes {
			if n.State == "up" || n.State == "loading" {
				up++
			}
			if n.Kind == "sentinel" {
				continue
			}
			if byPart[n.Partition] == nil {
				byPart[n.Partition] = map[string]cell{}
			}
			if prev, ok := byPart[n.Partition][h.Host]; !ok || !prev.master {
				byPart[n.Partition][h.Host] = cell{state: n.State, master: n.Role == "master" && (n.State == "up" || n.State == cluster.StateUnsupervised)}
			}
		}
		ph := templates.ClusterPageHost{Column: i + 1, Name: h.Host, Status: h.Status, Up: fmt.Sprintf("%d/%d", up, len(h.Nodes)), Seen: ago(h.Seen, v.Time)}
		if h.Lost {
			ph.Note = fmt.Sprintf("lost: its twined does not publish; %d nodes answer unsupervised", h.Unsupervised)
		}
		d.Hosts = append(d.Hosts, ph)
	}
	for _, p := range v.Partitions {
		pp := templates.ClusterPagePartition{Label: setShort(p.Partition), Status: p.Status,
			Title: fmt.Sprintf("%s %s, master %s: %s", setShort(p.Partition), p.Status, orDash(p.Master), strings.Join(p.Nodes, " "))}
		for _, h := range v.Hosts {
			cl, ok := byPart[p.Partition][h.Host]
			pc := templates.ClusterPageCell{Title: h.Host + ": no node"}
			if ok {
				pc = templates.ClusterPageCell{State: cl.state, Master: cl.master, Title: h.Host + ": " + cl.state}
			}
			pp.Cells = append(pp.Cells, pc)
		}
		d.Partitions = append(d.Partitions, pp)
	}
	return templates.ClusterPage.Execute(w, d)
}
