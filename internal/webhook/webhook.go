// Package webhook delivers lock events from the durable outbox to their
// URLs, signed as github.com/lockgate/lockgate/webhook verifies them.
// Each destination (webhook) has its own queue, concurrency and backoff,
// so a receiver that is slow or never answers delays only its own events.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/webhook"
)

// Outbox is what the dispatcher works from.
type Outbox interface {
	// DueDestinations lists webhooks with events due and not leased.
	DueDestinations(ctx context.Context, now time.Time, limit int) ([]string, error)
	// ClaimEvents leases up to limit due events of one webhook.
	ClaimEvents(ctx context.Context, webhookID string, now time.Time, lease time.Duration, limit int) ([]lock.Event, error)
	Webhook(ctx context.Context, id string) (lock.Webhook, error)
	EventDelivered(ctx context.Context, id string, at time.Time) error
	EventFailed(ctx context.Context, id string, next time.Time, lastErr string, dead bool) error
	// EventReleased ends the lease of an event whose attempt a shutdown
	// interrupted, without counting the attempt.
	EventReleased(ctx context.Context, id string) error
}

// Opener opens sealed webhook secrets.
type Opener interface {
	Open(sealed, context string) ([]byte, error)
}

// maxDestinations bounds the destinations delivered to at once; the rest
// wait for the next round.
const maxDestinations = 256

// Dispatcher delivers events. Several replicas may run one each: a claim
// leases events so each is sent by one (at least once; receivers dedupe
// by the delivery header or the body's id).
type Dispatcher struct {
	Store   Outbox
	Secrets Opener
	// Policy refuses destinations at dial time; nil allows every address.
	Policy *Policy
	// Client sends deliveries; by default one that follows no redirect,
	// uses no proxy and dials through Policy.
	Client      *http.Client
	MaxAttempts int
	MaxBackoff  time.Duration
	Timeout     time.Duration
	// Concurrency is each destination's deliveries in flight; 2 when 0.
	Concurrency int
	Logger      *slog.Logger
	// Wake, when signalled, makes the dispatcher look for events at once
	// instead of at its next poll.
	Wake <-chan struct{}
	Now  func() time.Time
	// Poll is how often to look for due events without a wake; 1s default.
	Poll time.Duration
	// RecordTimeout bounds each write of an attempt's outcome, counted
	// from when the outcome is known; 5s when 0.
	RecordTimeout time.Duration

	once    sync.Once
	mu      sync.Mutex
	workers map[string]*destination
	wg      sync.WaitGroup
}

// destination is one webhook's worker state.
type destination struct {
	id       string
	kick     chan struct{}
	failures int // consecutive failed rounds: the destination's backoff
}

func (d *Dispatcher) defaults() {
	d.once.Do(func() {
		if d.Client == nil {
			tr := &http.Transport{
				Proxy:                 nil, // a proxy would dial for us, past the policy
				ForceAttemptHTTP2:     true,
				TLSHandshakeTimeout:   10 * time.Second,
				ResponseHeaderTimeout: 0, // bounded by Timeout
				MaxIdleConnsPerHost:   4,
				IdleConnTimeout:       90 * time.Second,
			}
			if d.Policy != nil {
				tr.DialContext = d.Policy.DialContext
			}
			d.Client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.Logger == nil {
			d.Logger = slog.Default()
		}
		if d.Poll == 0 {
			d.Poll = time.Second
		}
		if d.Timeout == 0 {
			d.Timeout = 10 * time.Second
		}
		if d.MaxAttempts == 0 {
			d.MaxAttempts = 20
		}
		if d.MaxBackoff == 0 {
			d.MaxBackoff = time.Hour
		}
		if d.Concurrency == 0 {
			d.Concurrency = 2
		}
		d.workers = map[string]*destination{}
	})
}

// Lease is how long a claimed event is reserved for this replica: longer
// than the worst-case attempt (the timeout bounds the connection, the
// request and the answer; the rest is the store's writes), so that another
// replica never sends an event that is still in flight here.
func (d *Dispatcher) Lease() time.Duration {
	d.defaults()
	return 2*d.Timeout + 30*time.Second
}

// Run delivers until ctx ends, then waits for the deliveries in flight.
func (d *Dispatcher) Run(ctx context.Context) {
	d.defaults()
	defer d.wg.Wait()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		if err := d.schedule(ctx); err != nil && ctx.Err() == nil {
			d.Logger.Error("webhook: looking for due events failed", "err", err)
		}
		t.Reset(d.Poll)
		select {
		case <-ctx.Done():
			return
		case <-d.Wake:
		case <-t.C:
		}
	}
}

// schedule starts a worker for each destination with due events, or
// tells its running worker to look again.
func (d *Dispatcher) schedule(ctx context.Context) error {
	ids, err := d.Store.DueDestinations(ctx, d.Now(), 4*maxDestinations)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if w, ok := d.workers[id]; ok {
			select {
			case w.kick <- struct{}{}:
			default:
			}
			continue
		}
		if len(d.workers) >= maxDestinations {
			break
		}
		w := &destination{id: id, kick: make(chan struct{}, 1)}
		d.workers[id] = w
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.work(ctx, w)
		}()
	}
	return nil
}

// work delivers one destination's events, Concurrency at a time, until
// none is due. A round with a failure pauses the destination (growing
// with consecutive failures); other destinations go on meanwhile.
func (d *Dispatcher) work(ctx context.Context, w *destination) {
	for ctx.Err() == nil {
		evs, err := d.Store.ClaimEvents(ctx, w.id, d.Now(), d.Lease(), d.Concurrency)
		if err != nil {
			if ctx.Err() == nil {
				d.Logger.Error("webhook: claiming events failed", "webhook", w.id, "err", err)
			}
			d.retire(w, true)
			return
		}
		if len(evs) == 0 {
			if d.retire(w, false) {
				return
			}
			continue
		}
		failed := make([]bool, len(evs))
		var wg sync.WaitGroup
		for i, ev := range evs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				failed[i] = !d.deliver(ctx, ev)
			}()
		}
		wg.Wait()
		if !contains(failed, true) {
			w.failures = 0
			continue
		}
		w.failures++
		pause := Backoff(w.failures, d.MaxBackoff)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	d.retire(w, true)
}

func contains(bs []bool, v bool) bool {
	for _, b := range bs {
		if b == v {
			return true
		}
	}
	return false
}

// retire removes the worker unless it was kicked since its last claim
// (then it claims again); force removes it either way.
func (d *Dispatcher) retire(w *destination, force bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !force {
		select {
		case <-w.kick:
			return false
		default:
		}
	}
	delete(d.workers, w.id)
	return true
}

// RunOnce delivers every due event of every destination, one round each,
// and returns how many it claimed (for tests and tools).
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.defaults()
	ids, err := d.Store.DueDestinations(ctx, d.Now(), 4*maxDestinations)
	if err != nil {
		return 0, err
	}
	var (
		n  int
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, id := range ids {
		evs, err := d.Store.ClaimEvents(ctx, id, d.Now(), d.Lease(), 1000)
		if err != nil {
			return n, err
		}
		mu.Lock()
		n += len(evs)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, d.Concurrency)
			var inner sync.WaitGroup
			for _, ev := range evs {
				sem <- struct{}{}
				inner.Add(1)
				go func() {
					defer inner.Done()
					defer func() { <-sem }()
					d.deliver(ctx, ev)
				}()
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	return n, nil
}

// deliver makes one attempt at ev and records its outcome. The outcome is
// recorded even when ctx has ended meanwhile (a shutdown): an answer the
// receiver gave is not lost, and an attempt the shutdown cut short is
// released to be sent again at the next start, a routine event logged at
// info level.
func (d *Dispatcher) deliver(ctx context.Context, ev lock.Event) bool {
	log := d.Logger.With("delivery", ev.ID, "event", ev.Type, "attempt", ev.Attempts+1)
	// Each outcome is written with its own time, taken once the outcome
	// is known: a budget taken before the attempt had run out when a
	// receiver let it time out, so the failure was never recorded and
	// the event was retried at every lease's end, never counted, never
	// given up (atk14f F13).
	record := func() (context.Context, context.CancelFunc) {
		t := d.RecordTimeout
		if t <= 0 {
			t = 5 * time.Second
		}
		return context.WithTimeout(context.WithoutCancel(ctx), t)
	}
	rec, cancel := record()
	w, err := d.Store.Webhook(ctx, ev.WebhookID)
	if err != nil {
		defer cancel()
		if ctx.Err() != nil {
			d.interrupted(rec, log, ev)
			return false
		}
		if errors.Is(err, lock.ErrNotFound) {
			d.Store.EventFailed(rec, ev.ID, d.Now(), "webhook deleted", true)
			return true
		}
		log.Error("webhook: lookup failed", "err", err)
		return false // the lease expires and the event is claimed again
	}
	cancel()
	secret, err := d.Secrets.Open(w.Sealed, w.ID)
	if err != nil {
		log.Error("webhook: cannot open secret", "webhook", w.ID, "err", err)
		return false
	}
	err = d.post(ctx, w.URL, secret, ev)
	rec, cancel = record()
	defer cancel()
	if err == nil {
		if err := d.Store.EventDelivered(rec, ev.ID, d.Now()); err != nil {
			log.Error("webhook: recording delivery failed", "err", err)
		}
		return true
	}
	if ctx.Err() != nil {
		d.interrupted(rec, log, ev)
		return false
	}
	attempts := ev.Attempts + 1
	dead := attempts >= d.MaxAttempts
	next := d.Now().Add(Backoff(attempts, d.MaxBackoff))
	log.Warn("webhook: delivery failed", "webhook", w.ID, "url", lock.RedactURL(w.URL), "err", err, "retry_at", next, "gave_up", dead)
	if err := d.Store.EventFailed(rec, ev.ID, next, err.Error(), dead); err != nil {
		log.Error("webhook: recording failure failed", "err", err)
	}
	return false
}

// interrupted releases an event whose attempt a shutdown cut short. If
// even that fails, the lease runs out and the event is sent then.
func (d *Dispatcher) interrupted(rec context.Context, log *slog.Logger, ev lock.Event) {
	log.Info("webhook: delivery interrupted by shutdown, will retry")
	if err := d.Store.EventReleased(rec, ev.ID); err != nil {
		log.Warn("webhook: releasing an interrupted delivery failed; it is sent again when its lease ends", "lease", d.Lease(), "err", err)
	}
}

// post sends one delivery. Its error never holds the URL: the URL may
// carry credentials, and the error is logged and stored.
func (d *Dispatcher) post(ctx context.Context, rawURL string, secret []byte, ev lock.Event) error {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(ev.Body))
	if err != nil {
		return errors.New("invalid URL")
	}
	ts := d.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lockgate-webhook/1")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, ev.Body))
	req.Header.Set(webhook.HeaderEvent, ev.Type)
	req.Header.Set(webhook.HeaderDelivery, ev.ID)
	resp, err := d.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", d.Timeout)
		}
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// Backoff is the wait after the nth failed attempt: 2^(n-1) seconds,
// capped at max, with ±20% jitter so failed receivers are not hit by every
// retry at once.
func Backoff(n int, max time.Duration) time.Duration {
	d := time.Second << min(n-1, 30)
	if d > max || d <= 0 {
		d = max
	}
	j := time.Duration(float64(d) * (rand.Float64()*0.4 - 0.2))
	return d + j
}
