package alert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/twine/twine/config"
	"github.com/twine/twine/supervisor"
)

// Defaults of Options.
const (
	DefaultTick         = time.Second
	DefaultSpoolMax     = 200
	DefaultRetryMin     = time.Second
	DefaultRetryMax     = 5 * time.Minute
	DefaultSendTimeout  = 30 * time.Second
	DefaultCloseTimeout = 5 * time.Second
)

// Options configure an Alerter. Zero values take the defaults.
type Options struct {
	Settings config.Settings // mail and alert-* settings
	Host     string          // the host twined serves, as named in twine.conf
	// ConfigFile is shown in each mail's `twined -status -config FILE`.
	ConfigFile string
	Logger     hclog.Logger     // nil = discard
	SpoolDir   string           // "" = SpoolDir(Settings, Host)
	SpoolMax   int              // undelivered mails kept; 0 = DefaultSpoolMax
	Now        func() time.Time // nil = time.Now
	// Tick is how often Run re-reads the snapshot and checks its timers;
	// 0 = DefaultTick, shortened to a quarter of alert-after or
	// alert-group when those are shorter (but not below 10ms).
	Tick time.Duration
	// RetryMin and RetryMax bound the delivery backoff (doubling, with
	// jitter); 0 = DefaultRetryMin, DefaultRetryMax.
	RetryMin, RetryMax time.Duration
	// SendTimeout bounds one SMTP transaction; 0 = DefaultSendTimeout.
	SendTimeout time.Duration
	// CloseTimeout bounds how long Close waits for spooled mail to go out;
	// 0 = DefaultCloseTimeout. What is left stays spooled.
	CloseTimeout time.Duration
	// TLSConfig is the base of every TLS connection to the mail server
	// (e.g. RootCAs); nil = system roots. ServerName defaults to the
	// mailserver's host.
	TLSConfig *tls.Config
	// State keeps the open incidents for the next Alerter (nil: none).
	State StateStore
	// Covered, when set, is asked before every mail: covered means another
	// alerter (the cluster's alpha) mails this one's node incidents, so
	// only one-off notes go out from here; otherwise note, when not "",
	// is written at the top of the mail.
	Covered func() (covered bool, note string)
}

// Alerter turns one host's supervisor events into mail. Create it with
// New, feed it with Run, end it with Close. Methods are safe for
// concurrent use.
type Alerter struct {
	o        Options
	log      hclog.Logger
	now      func() time.Time
	rules    *rules // owned by Run's goroutine; by Close once Run is over
	saved    []byte // the incidents last handed to o.State
	composer composer
	spool    *spool

	deliverCancel context.CancelFunc
	deliverDone   chan struct{}
	wake          chan struct{} // cap 1: the spool got a mail
	reconf        chan struct{} // cap 1: the settings changed
	attempted     chan struct{} // cap 1: a delivery attempt ended

	mu        sync.Mutex
	settings  config.Settings // current: Options.Settings, then SetSettings
	changed   bool            // settings changed since Run last applied them
	running   bool
	runCancel context.CancelFunc
	runDone   chan struct{}
	closed    bool

	// Counters, for tests and metrics.
	evaluations atomic.Uint64 // rule evaluations done by Run
	composed    atomic.Uint64 // mails composed
	sent        atomic.Uint64 // mails accepted by the mail server
	failed      atomic.Uint64 // delivery attempts that failed
}

// New prepares an Alerter: it opens the spool (loading mails left by an
// earlier twined) and, when a mailserver and recipients are set, starts
// delivering them at once. Without them alerts are only logged (and
// spooled mails wait until SetSettings brings mail settings).
func New(o Options) (*Alerter, error) {
	if o.Host == "" {
		return nil, errors.New("new alerter: no host")
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SpoolDir == "" {
		o.SpoolDir = SpoolDir(o.Settings, o.Host)
	}
	o.SpoolMax = orDefault(o.SpoolMax, DefaultSpoolMax)
	o.RetryMin = orDefault(o.RetryMin, DefaultRetryMin)
	o.RetryMax = max(orDefault(o.RetryMax, DefaultRetryMax), o.RetryMin)
	o.SendTimeout = orDefault(o.SendTimeout, DefaultSendTimeout)
	o.CloseTimeout = orDefault(o.CloseTimeout, DefaultCloseTimeout)
	if o.Tick <= 0 {
		o.Tick = DefaultTick
		for _, d := range []time.Duration{o.Settings.AlertAfter, o.Settings.AlertGroup} {
			if d > 0 && d/4 < o.Tick {
				o.Tick = max(d/4, 10*time.Millisecond)
			}
		}
	}
	log := o.Logger.Named("alert")
	sp, err := openSpool(o.SpoolDir, o.SpoolMax, log)
	if err != nil {
		return nil, fmt.Errorf("new alerter: %w", err)
	}
	a := &Alerter{
		o:         o,
		log:       log,
		now:       o.Now,
		rules:     newRules(o.Settings),
		composer:  newComposer(o.Settings, o.Host, o.ConfigFile),
		spool:     sp,
		settings:  o.Settings,
		wake:      make(chan struct{}, 1),
		reconf:    make(chan struct{}, 1),
		attempted: make(chan struct{}, 1),
	}
	logMailMode(log, o.Settings)
	if o.State != nil {
		b, err := o.State.Load()
		if err == nil && len(b) > 0 {
			err = a.rules.load(b)
		}
		if err != nil {
			log.Warn("open incidents of before not read; they are mailed again if still open", "error", err)
		}
		a.saved, _ = a.rules.save()
	}
	if n := sp.len(); n > 0 {
		if mailOn(o.Settings) {
			log.Info("sending alert mails left undelivered", "count", n, "spool", o.SpoolDir)
		} else {
			log.Warn("undelivered alert mails kept in the spool until mail is set up", "count", n, "spool", o.SpoolDir)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.deliverCancel = cancel
	a.deliverDone = make(chan struct{})
	go a.deliver(ctx)
	return a, nil
}

// mailOn reports whether s lets alerts be mailed: a mailserver and at
// least one recipient.
func mailOn(s config.Settings) bool { return s.MailServer != "" && len(s.Alerts) > 0 }

func logMailMode(log hclog.Logger, s config.Settings) {
	switch {
	case s.MailServer == "":
		log.Info("no mailserver set: alerts are logged only")
	case len(s.Alerts) == 0:
		log.Info("no alert recipient set (set alert ADDR): alerts are logged only", "mailserver", s.MailServer)
	default:
		log.Info("alerts are mailed", "mailserver", s.MailServer, "to", s.Alerts, "tls", s.MailTLS)
	}
}

// SetSettings applies the settings of a reloaded twine.conf: mail
// settings from the next delivery attempt on, alert-after, alert-reminder
// and alert-group from Run's next step. Open incidents and spooled mails
// are kept; the spool directory does not move.
func (a *Alerter) SetSettings(s config.Settings) {
	a.mu.Lock()
	a.settings = s
	a.changed = true
	a.mu.Unlock()
	logMailMode(a.log, s)
	a.poke()
	select {
	case a.reconf <- struct{}{}:
	default:
	}
}

// current returns the settings in force.
func (a *Alerter) current() config.Settings {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.settings
}

// poke wakes the delivery goroutine.
func (a *Alerter) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Run consumes events until ctx ends, events is closed, or Close is
// called. Every tick it also reads snapshot(), so a change whose event was
// dropped (the supervisor drops events for a subscriber that falls behind)
// is still seen. Run never waits for the mail server: mails are spooled
// and delivered by another goroutine. Run may be called once.
func (a *Alerter) Run(ctx context.Context, events <-chan supervisor.Event, snapshot func() supervisor.Snapshot) {
	ctx, done := a.startRun(ctx)
	if ctx == nil {
		return
	}
	defer done()
	tick := time.NewTicker(a.o.Tick)
	defer tick.Stop()
	a.rules.snapshot(snapshot())
	a.step()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			a.rules.event(e)
			a.step()
		case <-tick.C:
			a.rules.snapshot(snapshot())
			a.step()
		}
	}
}

func (a *Alerter) startRun(ctx context.Context) (context.Context, func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.running {
		a.log.Error("alerter Run called twice or after Close")
		return nil, nil
	}
	a.running = true
	ctx, cancel := context.WithCancel(ctx)
	a.runCancel = cancel
	a.runDone = make(chan struct{})
	done := a.runDone
	return ctx, func() { cancel(); close(done) }
}

// step evaluates the rules and mails the batch that is due.
func (a *Alerter) step() {
	a.mu.Lock()
	if a.changed {
		a.changed = false
		a.rules.setSettings(a.settings)
		a.composer.settings = a.settings
	}
	a.mu.Unlock()
	now := a.now()
	if a.rules.evaluate(now) {
		a.send(now)
	}
	a.saveState()
	a.evaluations.Add(1)
}

// send dispatches what the rules hold: only the notes when another
// twined covers the mail (Options.Covered), else the whole batch, with the
// note Covered gave.
func (a *Alerter) send(now time.Time) {
	covered, why := a.covered()
	if covered {
		a.dispatch(a.rules.takeNotes(now))
		return
	}
	b := a.rules.take(now)
	b.note = why
	a.dispatch(b)
}

// covered asks Options.Covered.
func (a *Alerter) covered() (bool, string) {
	if a.o.Covered == nil {
		return false, ""
	}
	return a.o.Covered()
}

// saveState hands the open incidents to the State store when they changed.
func (a *Alerter) saveState() {
	if a.o.State == nil {
		return
	}
	b, err := a.rules.save()
	if err != nil || sameIncidents(b, a.saved) {
		return
	}
	if err := a.o.State.Save(b); err != nil {
		a.log.Debug("open incidents not saved", "error", err)
		return
	}
	a.saved = b
}

// dispatch composes b and hands it over: to the spool for delivery, and
// to the log in any case.
func (a *Alerter) dispatch(b batch) {
	if b.empty() {
		return
	}
	m, err := a.composer.compose(b)
	if err != nil {
		a.log.Error("cannot compose alert mail", "error", err)
		return
	}
	a.composed.Add(1)
	if !mailOn(a.current()) {
		a.log.Warn("alert (not mailed: no mailserver or recipients)", "subject", m.Subject, "mail", m.Text)
		return
	}
	a.log.Warn("alert", "subject", m.Subject)
	a.spool.add(m)
	a.poke()
}

// Close stops Run, mails what is pending without waiting for alert-group,
// gives delivery up to CloseTimeout to empty the spool, and stops it.
// Undelivered mails stay in the spool for the next Alerter. Close is
// idempotent.
func (a *Alerter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	running, cancel, runDone := a.running, a.runCancel, a.runDone
	a.mu.Unlock()
	if running {
		cancel()
		<-runDone
	}
	now := a.now()
	a.rules.evaluate(now)
	if a.rules.pending() {
		a.send(now)
	}
	a.saveState()
	if mailOn(a.current()) {
		a.drain(a.o.CloseTimeout)
	}
	a.deliverCancel()
	<-a.deliverDone
	if n := a.spool.len(); n > 0 {
		a.log.Warn("alert mails left undelivered; they are sent when twined starts again",
			"count", n, "spool", a.o.SpoolDir)
	}
	return nil
}

// drain waits until the spool is empty, or a delivery attempt fails (the
// server is not taking mail: the shutdown is not held up), or timeout
// passes.
func (a *Alerter) drain(timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	failed := a.failed.Load()
	for a.spool.len() > 0 && a.failed.Load() == failed {
		select {
		case <-a.attempted:
		case <-deadline.C:
			return
		}
	}
}
