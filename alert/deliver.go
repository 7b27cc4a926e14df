package alert

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/twine/twine/config"
)

// deliver sends the spool, oldest first, until ctx ends. A failed attempt
// is retried after a backoff that doubles from RetryMin to RetryMax (with
// jitter), or at once when the settings change; the mail stays first in
// line, so mails arrive in order, unless the server refused that mail
// (ErrRejected): it then goes behind the others, so that one mail the
// server will not take does not hold back every alert after it.
func (a *Alerter) deliver(ctx context.Context) {
	defer close(a.deliverDone)
	backoff := a.o.RetryMin
	for {
		s := a.current()
		m := a.spool.oldest()
		if m == nil || !mailOn(s) {
			select {
			case <-ctx.Done():
				return
			case <-a.wake:
				continue
			}
		}
		answer, err := a.sendOne(ctx, s, m)
		if err == nil {
			a.spool.remove(m)
			a.sent.Add(1)
			a.signalAttempt()
			a.log.Info("alert mail sent", "subject", m.Subject, "to", s.Alerts, "server", answer)
			backoff = a.o.RetryMin
			continue
		}
		a.failed.Add(1)
		if errors.Is(err, ErrRejected) {
			a.spool.toBack(m)
		}
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
		case <-a.reconf:
			t.Stop()
			backoff = a.o.RetryMin
		case <-t.C:
		}
	}
}

// sendOne makes one attempt at m with the settings s.
func (a *Alerter) sendOne(ctx context.Context, s config.Settings, m *message) (string, error) {
	msg, err := toMsg(s, m)
	if err != nil {
		return "", err
	}
	mr := mailer{settings: s, helo: hostname(), tls: a.o.TLSConfig, timeout: a.o.SendTimeout}
	return mr.send(ctx, msg)
}

func (a *Alerter) signalAttempt() {
	select {
	case a.attempted <- struct{}{}:
	default:
	}
}
