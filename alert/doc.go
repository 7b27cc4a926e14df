// Package alert turns the supervisor's events into mail that operators can
// trust: few, grouped, reminded, never lost and never in the way.
//
// An Alerter follows one host. A node that stays down, hung or in backoff
// longer than alert-after is mailed; a crash loop (failed) and a partition
// left without a live master (HALT) are mailed at once; alerts falling due
// within alert-group of each other share one mail; a reminder follows every
// alert-reminder while a node stays down; and one last mail says when an
// alerted node is up again and how long it was down. A node stopped by the
// operator (or by twined's shutdown) is never alerted, and a node that is
// down and up again within alert-after produces no mail at all.
//
// Mail is composed from templates.AlertText and written to a spool
// directory before any attempt to send it; a separate goroutine delivers
// the spool oldest first, retrying with backoff while the mail server is
// slow, down or refusing. Nothing the mail server does can delay the
// supervisor or the Alerter's reading of events. A spooled mail survives a
// restart of twined and is sent by the next Alerter on the same spool.
//
// twined wires it so:
//
//	al, err := alert.New(alert.Options{Settings: c.Settings(), Host: host, ConfigFile: c.File(), Logger: log})
//	sub := sup.Subscribe(1024)
//	go al.Run(ctx, sub.C, sup.Snapshot) // before sup.Start: start-up failures are seen
//	sup.Start()
//	...                                  // on reload: al.SetSettings(newCluster.Settings())
//	sup.Close()                          // closes sub.C; Run returns
//	al.Close()                           // mails what waits for its group window; the rest stays spooled
package alert
