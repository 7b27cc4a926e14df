package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twine/twine/config/route/replset"
)

// onBusy applies a BUSY answer: the node is alive but serves nothing but
// SCRIPT KILL, FUNCTION KILL and SHUTDOWN while a script or function runs
// past busy-reply-threshold. After busy-timeout twined asks Redis to kill
// the script, once per busy stretch. Redis refuses when the script has
// written (UNKILLABLE): then only SHUTDOWN NOSAVE would end it, losing its
// writes and everything since the last save, so twined leaves the node
// running and mails the operator instead.
func (w *watcher) onBusy(r checkResult) {
	w.misses = 0
	if w.busySince.IsZero() {
		w.busySince, w.busyKill = r.at, false
	}
	if w.state != Busy {
		w.setState(Busy, "answering BUSY: a script or function is running", r.busy)
	}
	timeout := w.env.settings.BusyTimeout
	if timeout <= 0 || w.busyKill || r.at.Sub(w.busySince) < timeout || w.busy {
		return
	}
	w.busyKill = true
	kill := "SCRIPT"
	if strings.Contains(r.busy, "FUNCTION KILL") {
		kill = "FUNCTION"
	}
	addr, password, since, callTimeout := w.node.Addr(), w.env.password, w.busySince, w.env.settings.CheckTimeout
	w.background(func(ctx context.Context) func() {
		c := replset.NewClient(addr, password, callTimeout)
		defer c.Close()
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		err := c.Do(ctx, kill, "KILL").Err()
		return func() { w.onScriptKill(kill, since, err) }
	})
}

// onScriptKill reports the answer to SCRIPT KILL or FUNCTION KILL.
func (w *watcher) onScriptKill(kill string, since time.Time, err error) {
	busyFor := w.env.now().Sub(since).Round(time.Second)
	var rerr redis.Error
	switch {
	case err == nil:
		w.log.Warn("killed a script that kept the node busy", "command", kill+" KILL", "busy_for", busyFor)
	case errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOTBUSY"):
	case errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "UNKILLABLE"):
		reason := fmt.Sprintf("busy for %s with a script that has written: %s KILL refused; twined leaves it running "+
			"(SHUTDOWN NOSAVE would lose the script's writes and everything since the last save): wait for it, or decide", busyFor, kill)
		w.log.Error("busy node cannot be freed without losing data", "busy_for", busyFor, "error", rerr.Error())
		w.env.publish(Event{Kind: ScriptUnkillable, Time: w.env.now(), Node: w.node.Name, From: w.state, To: w.state, Reason: reason, Err: rerr.Error()})
	default:
		w.log.Warn("could not ask the busy node to kill its script", "command", kill+" KILL", "error", err)
		w.busyKill = false // try again at the next check
	}
}
