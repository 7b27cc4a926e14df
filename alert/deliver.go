package alert

import (
	"context"
	"math/rand/v2"
	"time"
)

// deliver sends the spool, oldest first, until ctx ends. A failed attempt
// is retried after a backoff that doubles from RetryMin to RetryMax (with
// jitter); the mail stays first in line, so mails arrive in order.
func (a *Alerter) deliver(ctx context.Context) {
	defer close(a.deliverDone)
	backoff := a.o.RetryMin
	for {
		m := a.spool.oldest()
		if m == nil {
			select {
			case <-ctx.Done():
				return
			case <-a.wake:
				continue
			}
		}
		answer, err := a.sendOne(ctx, m)
		if err == nil {
			a.spool.remove(m)
			a.sent.Add(1)
			a.signalAttempt()
			a.log.Info("alert mail sent", "subject", m.Subject, "to", a.o.Settings.Alerts, "server", answer)
			backoff = a.o.RetryMin
			continue
		}
		a.failed.Add(1)
		a.signalAttempt()
		if ctx.Err() != nil {
			return
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		a.log.Warn("alert mail not delivered; will retry", "subject", m.Subject,
			"error", err, "retry_in", wait.Round(time.Millisecond), "waiting", a.spool.len())
		backoff = min(backoff*2, a.o.RetryMax)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (a *Alerter) sendOne(ctx context.Context, m *message) (string, error) {
	msg, err := toMsg(a.o.Settings, m)
	if err != nil {
		return "", err
	}
	return a.mailer.send(ctx, msg)
}

func (a *Alerter) signalAttempt() {
	select {
	case a.attempted <- struct{}{}:
	default:
	}
}
