package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/twine/twine/cmd/internal/mainutil"

	"github.com/twine/twine/config"
)

// runCheck validates the config and prints a one-screen summary of it.
func runCheck(o options, stdout io.Writer) error {
	c, demo, err := loadConfig(o.config)
	if err != nil {
		return &mainutil.ExitError{Code: 1, Err: err}
	}
	name := c.File()
	if demo {
		name = "embedded demo config"
	}
	fmt.Fprintf(stdout, "%s: ok\n", name)
	for _, w := range c.Warnings() {
		fmt.Fprintln(stdout, w)
	}
	printSummary(stdout, c)
	return nil
}

// printSummary describes the cluster: hosts, nodes, partitions, replica
// sets, status nodes and the settings that differ from the defaults.
func printSummary(w io.Writer, c *config.Cluster) {
	nodes := c.Nodes()
	var data, status, replicas, sentinels int
	for _, n := range nodes {
		switch {
		case n.Kind == config.Sentinel:
			sentinels++
		case n.Kind == config.Status:
			status++
		case n.Member > 0:
			replicas++
			data++
		default:
			data++
		}
	}
	fmt.Fprintf(w, "  %d partitions, %d data nodes (%d replicas), %d status nodes, %d sentinels, hash %s\n",
		c.Partitions(), data, replicas, status, sentinels, c.Settings().Hash)
	if sets := c.WatchedSets(); len(sets) > 0 {
		fmt.Fprintf(w, "  fail-over: %d replica sets watched by %d sentinels (quorum %d) as %s..%s\n",
			len(sets), sentinels, c.Quorum(), sets[0].Name, sets[len(sets)-1].Name)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  host\tnodes\tpartitions\tstatus nodes\tports")
	for _, h := range c.Hosts() {
		var parts []int
		var st, lo, hi int
		on := c.NodesOn(h)
		for i, n := range on {
			switch n.Kind {
			case config.Status:
				st++
			case config.Sentinel:
			default:
				parts = append(parts, n.Partition)
			}
			if i == 0 || n.Port < lo {
				lo = n.Port
			}
			hi = max(hi, n.Port)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%d-%d\n", h, len(on), ranges(parts), st, lo, hi)
	}
	tw.Flush()
	if sets := c.SetLines(); len(sets) > 0 {
		fmt.Fprintln(w, "  settings that differ from the defaults:")
		for _, s := range sets {
			fmt.Fprintf(w, "    set %s %s   (line %d)\n", s.Name, s.Value, s.Line)
		}
	}
	s := c.Settings()
	switch {
	case s.MailServer == "":
		fmt.Fprintln(w, "  alerts: no mailserver set: alerts are logged only")
	case len(s.Alerts) == 0:
		fmt.Fprintf(w, "  alerts: mailserver %s but no `set alert ADDR`: alerts are logged only\n", s.MailServer)
	default:
		fmt.Fprintf(w, "  alerts: mailed through %s to %s\n", s.MailServer, strings.Join(s.Alerts, ", "))
	}
	for _, h := range c.Hosts() {
		if !config.IsLoopback(h) && s.RedisPasswordFile == "" {
			fmt.Fprintf(w, "  warning: nodes on %s listen beyond loopback with no password: set redis-password-file\n", h)
		}
	}
	fmt.Fprintf(w, "  data under %s/partitions\n", s.Dir)
}

// ranges renders sorted-as-given partition numbers compactly: "0-31, 40".
func ranges(ps []int) string {
	if len(ps) == 0 {
		return "-"
	}
	sorted := append([]int(nil), ps...)
	slices.Sort(sorted)
	var b strings.Builder
	start := sorted[0]
	prev := start
	flush := func() {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if start == prev {
			fmt.Fprintf(&b, "%d", start)
		} else {
			fmt.Fprintf(&b, "%d-%d", start, prev)
		}
	}
	for _, p := range sorted[1:] {
		if p == prev || p == prev+1 {
			prev = p
			continue
		}
		flush()
		start, prev = p, p
	}
	flush()
	return b.String()
}
