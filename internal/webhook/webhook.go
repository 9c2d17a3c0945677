// Package webhook delivers lock events from the durable outbox to their
// URLs, signed with HMAC-SHA256, retrying with exponential backoff, and
// lets receivers verify those signatures.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

// Header names of a delivery.
const (
	HeaderSignature = "X-Lockgate-Signature" // "v1=" + hex HMAC-SHA256(secret, timestamp + "." + body)
	HeaderTimestamp = "X-Lockgate-Timestamp" // Unix seconds
	HeaderEvent     = "X-Lockgate-Event"     // event type
	HeaderDelivery  = "X-Lockgate-Delivery"  // outbox row id, stable across retries
)

// Sign returns the signature header value for body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrSignature is any verification failure.
var ErrSignature = errors.New("webhook: bad signature")

// Verify checks a delivery's signature and that its timestamp is within
// tolerance of now, so a captured delivery cannot be replayed later.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrSignature, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s from now", ErrSignature, d.Round(time.Second))
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return ErrSignature
	}
	return nil
}

// Store is the outbox the dispatcher works from.
type Store interface {
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]lock.Event, error)
	Webhook(ctx context.Context, id string) (lock.Webhook, error)
	EventDelivered(ctx context.Context, id string, at time.Time) error
	EventFailed(ctx context.Context, id string, next time.Time, lastErr string, dead bool) error
}

// Opener opens sealed webhook secrets.
type Opener interface {
	Open(sealed, context string) ([]byte, error)
}

// Dispatcher delivers events. Several replicas may run one each: a claim
// leases events so each is sent by one (at least once; receivers dedupe
// by the body's id or the delivery header).
type Dispatcher struct {
	Store       Store
	Secrets     Opener
	Client      *http.Client
	MaxAttempts int
	MaxBackoff  time.Duration
	Timeout     time.Duration
	Logger      *slog.Logger
	// Wake, when signalled, makes the dispatcher look for events at once
	// instead of at its next poll.
	Wake <-chan struct{}
	Now  func() time.Time
	// Poll is how often to look for due events without a wake; 1s default.
	Poll time.Duration
}

func (d *Dispatcher) defaults() {
	if d.Client == nil {
		d.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
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
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	d.defaults()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.Logger.Error("webhook: claiming events failed", "err", err)
		}
		if n > 0 {
			continue // there may be more
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

// RunOnce claims due events and delivers them, returning how many.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.defaults()
	evs, err := d.Store.ClaimEvents(ctx, d.Now(), d.Timeout*3, 32)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, ev := range evs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d.deliver(ctx, ev)
		}()
	}
	wg.Wait()
	return len(evs), nil
}

func (d *Dispatcher) deliver(ctx context.Context, ev lock.Event) {
	log := d.Logger.With("delivery", ev.ID, "event", ev.Type, "attempt", ev.Attempts+1)
	w, err := d.Store.Webhook(ctx, ev.WebhookID)
	if err != nil {
		if errors.Is(err, lock.ErrNotFound) {
			d.Store.EventFailed(ctx, ev.ID, d.Now(), "webhook deleted", true)
			return
		}
		log.Error("webhook: lookup failed", "err", err)
		return // the lease expires and the event is claimed again
	}
	secret, err := d.Secrets.Open(w.Sealed, w.ID)
	if err != nil {
		log.Error("webhook: cannot open secret", "webhook", w.ID, "err", err)
		return
	}
	err = d.post(ctx, w.URL, secret, ev)
	if err == nil {
		if err := d.Store.EventDelivered(ctx, ev.ID, d.Now()); err != nil {
			log.Error("webhook: recording delivery failed", "err", err)
		}
		return
	}
	attempts := ev.Attempts + 1
	dead := attempts >= d.MaxAttempts
	next := d.Now().Add(Backoff(attempts, d.MaxBackoff))
	log.Warn("webhook: delivery failed", "url", w.URL, "err", err, "retry_at", next, "gave_up", dead)
	if err := d.Store.EventFailed(ctx, ev.ID, next, err.Error(), dead); err != nil {
		log.Error("webhook: recording failure failed", "err", err)
	}
}

func (d *Dispatcher) post(ctx context.Context, url string, secret []byte, ev lock.Event) error {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(ev.Body))
	if err != nil {
		return err
	}
	ts := d.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lockgate-webhook/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, ev.Body))
	req.Header.Set(HeaderEvent, ev.Type)
	req.Header.Set(HeaderDelivery, ev.ID)
	resp, err := d.Client.Do(req)
	if err != nil {
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

// ParseSignature returns the hex digest of a "v1=…" header, for logs.
func ParseSignature(h string) (string, bool) { return strings.CutPrefix(h, "v1=") }
