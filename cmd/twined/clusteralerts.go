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
	cluster *config.Cluster
	host    string
	log     hclog.Logger
}

func (ca *clusterAlerts) run(ctx context.Context) {
	var cur *alert.Alerter
	var stop context.CancelFunc
	var done chan struct{}
	end := func() {
		if cur == nil {
			return
		}
		stop()
		<-done
		_ = cur.Close()
		cur = nil
	}
	defer end()
	t := time.NewTicker(ca.cluster.Settings().CheckInterval)
	defer t.Stop()
	for {
		alpha := ca.member.IsAlpha()
		switch {
		case alpha && cur == nil:
			s := ca.cluster.Settings()
			a, err := alert.New(alert.Options{
				Settings: s, Host: "cluster " + s.Cluster, ConfigFile: ca.cluster.File(), Logger: ca.log,
				SpoolDir: filepath.Join(s.Dir, "twined", ca.host, "cluster-alerts"),
				State:    ca.member.IncidentStore(),
				Covered:  func() (bool, string) { return !ca.member.IsAlpha(), "" },
			})
			if err != nil {
				ca.log.Error("cluster alerts unavailable", "error", err)
				break
			}
			var rctx context.Context
			rctx, stop = context.WithCancel(ctx)
			done = make(chan struct{})
			cur = a
			go func() { defer close(done); a.Run(rctx, nil, ca.member.Snapshot) }()
		case !alpha && cur != nil:
			end()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
