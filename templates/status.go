package templates

import (
	_ "embed"
	"html/template"
)

//go:embed status.html.tmpl
var statusPage string

//go:embed cluster.html.tmpl
var clusterPage string

// StatusPage renders twined's status page from a StatusPageData.
var StatusPage = template.Must(template.New("status.html").Parse(statusPage))

// ClusterPage renders the cluster view's page from a ClusterPageData.
var ClusterPage = template.Must(template.New("cluster.html").Parse(clusterPage))

// ClusterPageData is what ClusterPage shows; every value is prepared by
// the caller.
type ClusterPageData struct {
	Cluster    string
	Status     string // OK, DEGRADED, HALT or UNKNOWN: also the header's CSS class
	Headline   string
	Time       string
	Version    string
	Refresh    int
	States     []string // for the legend
	Hosts      []ClusterPageHost
	Partitions []ClusterPagePartition
}

// ClusterPageHost is one host row.
type ClusterPageHost struct {
	Column int // its square's place in each partition box, from 1
	Name   string
	Status string
	Up     string // "30/32"
	Seen   string
	Note   string // lost, unsupervised nodes
}

// ClusterPagePartition is one partition's box: one cell per host.
type ClusterPagePartition struct {
	Label  string // "p12" or "status"
	Status string
	Title  string
	Cells  []ClusterPageCell
}

// ClusterPageCell is a partition's node on one host (State "" when the
// host has none of its nodes).
type ClusterPageCell struct {
	State  string
	Master bool
	Title  string
}

// StatusPageData is what StatusPage shows; every value is prepared by the
// caller.
type StatusPageData struct {
	Host     string
	Status   string // OK, DEGRADED or HALT: also the header's CSS class
	Headline string // the one-line verdict
	Time     string
	Version  string
	Refresh  int      // seconds between reloads
	States   []string // every node state, for the legend
	Nodes    []StatusPageNode
	Problems []StatusPageNode // the nodes that are not up
	Masters  []StatusPageMaster
}

// StatusPageMaster is one replica set's master on the status page.
type StatusPageMaster struct {
	Set       string // "p3" or "status"
	Master    string // node name, "-" when none is known
	Addr      string
	Source    string // sentinel or role
	Sentinels string // "3/3", or "-" without Sentinels
	Confirmed string // yes or no
}

// StatusPageNode is one node on the status page.
type StatusPageNode struct {
	Name      string
	State     string // also the node cell's CSS class
	Label     string // short text under the name, e.g. "p12 up"
	Title     string // tooltip
	Partition string
	Since     string
	Restarts  int
	Detail    string
}
