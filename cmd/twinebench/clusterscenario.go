package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// clusterScenario builds one cluster over several hosts (-hosts, default
// 8, on 127.0.0.1-8; -n data nodes in all, default 256, one per partition,
// partition p on host p%hosts+1) with a status node on the first host and
// twine's default cluster settings, a twined per host, and measures what
// the cluster view costs and how fast it tells a lost host: the twineds'
// idle CPU (all of them, and the alpha alone), the status node's traffic,
// a whole host SIGKILLed → `twined -status -cluster` reporting HALT, and
// that command's own run time.
var clusterScenario = scenario{
	Name: "cluster",
	Title: "one cluster over many hosts (a twined each, a status node on the first; default check-interval, host-ttl and alpha-ttl): " +
		"idle CPU of the twineds (% of one core), the status node's traffic, a host kill -9 → HALT in twined -status -cluster, that command's run time",
	Nodes:       256,
	Trials:      fixed(3),
	Supervisors: []string{"twined"},
	Run:         runCluster,
}

// Patience and sizes of the cluster scenario.
const (
	// haltLimit bounds the wait for HALT after a host is killed.
	haltLimit = 30 * time.Second
	// backLimit bounds the wait for the cluster to be OK again after a
	// killed host's twined runs again.
	backLimit = 90 * time.Second
	// haltPollEvery is the pace of `twined -status -cluster` after a kill.
	haltPollEvery = 50 * time.Millisecond
	// commandRuns is how many times status_cluster_command_ms runs the
	// command.
	commandRuns = 20
	// defaultHostTTL is twine's default host-ttl: the rows' target until
	// the generated twine.conf says.
	defaultHostTTL = 5 * time.Second
)

// clusterRows are the rows of the cluster scenario, in table order.
type clusterRows struct {
	cpu, alphaCPU, traffic, halt, command result
}

// list returns the rows in table order.
func (r *clusterRows) list() []result {
	return []result{r.cpu, r.alphaCPU, r.traffic, r.halt, r.command}
}

// newClusterRows returns the rows for base, their targets following the
// cluster's host-ttl.
func newClusterRows(base result, hosts int, hostTTL time.Duration) *clusterRows {
	r := &clusterRows{cpu: base, alphaCPU: base, traffic: base, halt: base, command: base}
	r.cpu.Metric, r.cpu.Unit = "cluster_cpu_percent", "%"
	r.cpu.Target = target{Text: fmt.Sprintf("none (the %d twineds together)", hosts)}
	r.alphaCPU.Metric, r.alphaCPU.Unit = "alpha_cpu_percent", "%"
	r.alphaCPU.Target = target{Text: "none (the alpha's twined alone)"}
	r.traffic.Metric, r.traffic.Unit = "status_node_bytes_per_second", "B/s"
	r.traffic.Target = target{Text: "none (received + sent)"}
	limit := hostTTL + time.Second
	r.halt.Metric, r.halt.Unit, r.halt.Limit = "hostlost_to_halt", "ms", ms(haltLimit)
	r.halt.Target = target{Text: "max ≤ " + limit.String() + " (host-ttl + 1s)", Max: ms(limit)}
	r.command.Metric, r.command.Unit = "status_cluster_command_ms", "ms"
	r.command.Target = target{Text: "max ≤ 100ms", Max: 100}
	return r
}

// runCluster measures the cluster scenario; sys must be twined.
func runCluster(ctx context.Context, b *bench, sys system, base result, trials int) ([]result, error) {
	hosts := fleetHosts[:min(max(b.hosts, 1), len(fleetHosts))]
	rows := newClusterRows(base, len(hosts), defaultHostTTL)
	twined, err := twinedOf(sys)
	switch {
	case err != nil:
	case twined == "":
		err = errors.New("the cluster scenario measures twined only")
	case len(hosts) < 3:
		err = errors.New("the cluster scenario needs 3 hosts or more (a host to kill that holds neither the status node nor the alpha lease)")
	case base.Nodes < len(hosts):
		err = fmt.Errorf("%d data nodes on %d hosts: want at least one per host", base.Nodes, len(hosts))
	}
	if err != nil {
		return rows.list(), err
	}
	err = b.fleetSession(ctx, twined, hosts, base.Nodes, func(f *fleet) error {
		*rows = *newClusterRows(base, len(hosts), f.c.conf.Settings().HostTTL)
		begin := time.Now()
		run, err := f.waitOK(ctx, startLimit(base.Nodes))
		if err != nil {
			return err
		}
		b.logf("cluster: %d data nodes on %d hosts OK after %s, alpha %s (epoch %d)", base.Nodes, len(hosts),
			time.Since(begin).Round(time.Millisecond), run.View.Alpha, run.View.AlphaEpoch)
		if err := pause(ctx, idleSettle); err != nil {
			return err
		}
		if err := f.idleWindows(ctx, rows); err != nil {
			return err
		}
		if err := f.commandRuns(ctx, &rows.command); err != nil {
			return err
		}
		return f.haltTrials(ctx, &rows.halt, trials)
	})
	return rows.list(), err
}
