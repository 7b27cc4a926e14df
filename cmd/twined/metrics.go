package main

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twine/twine/supervisor"
	"github.com/twine/twine/supervisor/cluster"
)

// metrics serves twined's Prometheus metrics: per-node gauges read from a
// supervisor snapshot at scrape time, and a health-check latency histogram
// fed by every check.
type metrics struct {
	reg      *prometheus.Registry
	latency  *prometheus.HistogramVec
	snapshot func() supervisor.Snapshot // set once the supervisor exists
	// observers caches each node's latency histogram (node → Observer).
	observers sync.Map
	member    *cluster.Member // the cluster view; nil without status nodes

	up        *prometheus.Desc
	state     *prometheus.Desc
	restarts  *prometheus.Desc
	checks    *prometheus.Desc
	failed    *prometheus.Desc
	memory    *prometheus.Desc
	uptime    *prometheus.Desc
	host      *prometheus.Desc
	nodesUp   *prometheus.Desc
	nodes     *prometheus.Desc
	dropped   *prometheus.Desc
	master    *prometheus.Desc
	clStatus  *prometheus.Desc
	alpha     *prometheus.Desc
	clHost    *prometheus.Desc
	clLost    *prometheus.Desc
	allStates []supervisor.State
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "twine_check_latency_seconds",
			Help:    "Round trip of health-check PINGs, answered or not.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"node"}),
		up:        prometheus.NewDesc("twine_node_up", "1 when the node answers clients (state up or loading).", []string{"node", "partition", "role"}, nil),
		state:     prometheus.NewDesc("twine_node_state", "1 for the node's current state, 0 for the others.", []string{"node", "state"}, nil),
		restarts:  prometheus.NewDesc("twine_node_restarts_total", "Restarts of the node since twined started.", []string{"node"}, nil),
		checks:    prometheus.NewDesc("twine_node_checks_total", "Health checks of the node since twined started.", []string{"node"}, nil),
		failed:    prometheus.NewDesc("twine_node_failed_checks_total", "Unanswered health checks since twined started.", []string{"node"}, nil),
		memory:    prometheus.NewDesc("twine_node_used_memory_bytes", "Redis used_memory at the last INFO.", []string{"node"}, nil),
		uptime:    prometheus.NewDesc("twine_node_uptime_seconds", "Uptime of the node's process, 0 when it is not alive.", []string{"node"}, nil),
		host:      prometheus.NewDesc("twine_host_status", "Host status: 0 OK, 1 DEGRADED, 2 HALT.", []string{"host"}, nil),
		nodesUp:   prometheus.NewDesc("twine_host_nodes_up", "Nodes of the host that answer.", []string{"host"}, nil),
		nodes:     prometheus.NewDesc("twine_host_nodes", "Nodes of the host.", []string{"host"}, nil),
		dropped:   prometheus.NewDesc("twine_events_dropped_total", "Supervisor events lost by slow subscribers.", nil, nil),
		master:    prometheus.NewDesc("twine_partition_master", "1 for the confirmed master of each replica set with a node on this host (partition \"status\" for the status set), labelled with its node; 0 when none is confirmed.", []string{"partition", "node"}, nil),
		clStatus:  prometheus.NewDesc("twine_cluster_status", "Cluster status as this twined knows it (computed as alpha, else read from the status node): 0 OK, 1 DEGRADED, 2 HALT, 3 UNKNOWN.", []string{"cluster"}, nil),
		alpha:     prometheus.NewDesc("twine_alpha", "1 while this twined holds the alpha lease; the epoch is a label.", []string{"cluster", "epoch"}, nil),
		clHost:    prometheus.NewDesc("twine_cluster_host_status", "Each host's status in the cluster view: 0 OK, 1 DEGRADED, 2 HALT, 3 UNKNOWN.", []string{"host"}, nil),
		clLost:    prometheus.NewDesc("twine_cluster_host_lost", "1 for a host whose snapshot expired on the status node (its twined is gone or cut off).", []string{"host"}, nil),
		allStates: []supervisor.State{supervisor.Starting, supervisor.Loading, supervisor.Up, supervisor.Hung, supervisor.Down, supervisor.Backoff, supervisor.Failed, supervisor.Stopped, supervisor.Held, supervisor.Busy},
	}
	m.reg.MustRegister(m.latency, m,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeCheck records one health check; it is the supervisor's
// ObserveCheck hook, called for every check of every node, so each node's
// histogram is looked up once and kept.
func (m *metrics) observeCheck(node string, latency time.Duration, _ bool) {
	o, ok := m.observers.Load(node)
	if !ok {
		o, _ = m.observers.LoadOrStore(node, m.latency.WithLabelValues(node))
	}
	o.(prometheus.Observer).Observe(latency.Seconds())
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.up, m.state, m.restarts, m.checks, m.failed, m.memory, m.uptime, m.host, m.nodesUp, m.nodes, m.dropped, m.master, m.clStatus, m.alpha, m.clHost, m.clLost} {
		ch <- d
	}
}

// Collect implements prometheus.Collector from one snapshot.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	if m.snapshot == nil {
		return
	}
	s := m.snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, n := range s.Nodes {
		gauge(m.up, b2f(n.State.Alive()), n.Name, partitionLabel(n.Partition), n.Role)
		for _, st := range m.allStates {
			gauge(m.state, b2f(n.State == st), n.Name, st.String())
		}
		counter(m.restarts, float64(n.Restarts), n.Name)
		counter(m.checks, float64(n.Checks), n.Name)
		counter(m.failed, float64(n.FailedChecks), n.Name)
		gauge(m.memory, float64(n.UsedMemory), n.Name)
		gauge(m.uptime, float64(n.UptimeSeconds), n.Name)
	}
	gauge(m.host, float64(s.Status), s.Host)
	gauge(m.nodesUp, float64(s.Up), s.Host)
	gauge(m.nodes, float64(len(s.Nodes)), s.Host)
	counter(m.dropped, float64(s.EventsDropped))
	for _, sm := range s.Masters {
		p := setShort(sm.Partition)
		if sm.Partition >= 0 {
			p = itoa(sm.Partition)
		}
		gauge(m.master, b2f(sm.Confirmed), p, sm.Master)
	}
	if m.member == nil {
		return
	}
	v := m.member.View()
	gauge(m.clStatus, float64(clusterCode(v.Status)), v.Cluster)
	if l, ok := m.member.Lease(); ok {
		gauge(m.alpha, 1, v.Cluster, strconv.FormatInt(l.Epoch, 10))
	} else {
		gauge(m.alpha, 0, v.Cluster, "")
	}
	for _, h := range v.Hosts {
		gauge(m.clHost, float64(clusterCode(h.Status)), h.Host)
		gauge(m.clLost, b2f(h.Lost), h.Host)
	}
}

// clusterCode is a cluster status as a number (Nagios order).
func clusterCode(status string) int {
	switch status {
	case cluster.StatusOK:
		return 0
	case cluster.StatusDegraded:
		return 1
	case cluster.StatusHalt:
		return 2
	}
	return 3
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Timeout: 5 * time.Second})
}

func partitionLabel(p int) string {
	if p < 0 {
		return ""
	}
	return itoa(p)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
