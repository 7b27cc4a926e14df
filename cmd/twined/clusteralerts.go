package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/alert"
	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor/cluster"
)

// clusterAlerts runs the cluster's alerter while this twined is the alpha:
// fed the whole cluster's snapshot, it mails every node incident of every
// host (one mail for trouble on several hosts), lost hosts and split
// masters; its open incidents live on the status node, so that the next
// alpha continues them. It is started when this twined takes the lease and
// closed when it loses it.
type clusterAlerts struct {
	member  *cluster.Member
	cluster func() *config.Cluster // the config in force, replaced on reload
	host    string
	log     hclog.Logger
}

func (ca *clusterAlerts) run(ctx context.Context) {
	var cur *runningAlerter
	defer func() { cur.end() }()
	t := time.NewTicker(ca.cluster().Settings().CheckInterval)
	defer t.Stop()
	for {
		alpha := ca.member.IsAlpha()
		switch {
		case alpha && cur == nil:
			cur = ca.start(ctx)
		case !alpha && cur != nil:
			cur.end()
			cur = nil
		case cur != nil:
			if c := ca.cluster(); c != cur.c { // a reload: new recipients, mail server, delays
				cur.c = c
				cur.a.SetSettings(c.Settings())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runningAlerter is the cluster's alerter while it runs.
type runningAlerter struct {
	c      *config.Cluster // whose settings it has
	a      *alert.Alerter
	cancel context.CancelFunc
	done   chan struct{}
}

// start creates the cluster's alerter and runs it; nil when it cannot be
// created (logged).
func (ca *clusterAlerts) start(ctx context.Context) *runningAlerter {
	c := ca.cluster()
	s := c.Settings()
	a, err := alert.New(alert.Options{
		Settings: s, Host: "cluster " + s.Cluster, ConfigFile: c.File(), Logger: ca.log,
		SpoolDir: filepath.Join(s.Dir, "twined", ca.host, "cluster-alerts"),
		State:    ca.member.IncidentStore(),
		Covered:  func() (bool, string) { return !ca.member.IsAlpha(), "" },
	})
	if err != nil {
		ca.log.Error("cluster alerts unavailable", "error", err)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &runningAlerter{c: c, a: a, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); a.Run(ctx, nil, ca.member.Snapshot) }()
	return r
}

// end stops the alerter and closes it (a nil one is nothing to end).
func (r *runningAlerter) end() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
	_ = r.a.Close()
}
