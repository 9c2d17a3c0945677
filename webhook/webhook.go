// Package webhook verifies the events lockgate posts to webhooks, for
// receivers written in Go.
//
// Every delivery is a POST of a JSON event with four headers:
//
//	X-Lockgate-Signature  v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	X-Lockgate-Timestamp  Unix seconds when the delivery was sent
//	X-Lockgate-Event      the event type (lock.changed, attempt.locked, …)
//	X-Lockgate-Delivery   the delivery id, the same across retries
//
// The secret is the one shown when the webhook was added. A receiver
// checks the signature over the raw body before it parses it, refuses
// timestamps far from its clock (a captured delivery cannot be replayed
// later), answers 2xx quickly, and ignores a delivery id it has already
// handled: deliveries are at least once.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Header names of a delivery.
const (
	HeaderSignature = "X-Lockgate-Signature"
	HeaderTimestamp = "X-Lockgate-Timestamp"
	HeaderEvent     = "X-Lockgate-Event"
	HeaderDelivery  = "X-Lockgate-Delivery"
)

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock.
const DefaultTolerance = 5 * time.Minute

// MaxBody bounds the body VerifyRequest reads; lockgate's events are far
// smaller.
const MaxBody = 1 << 20

// ErrSignature is every verification failure; the wrapped text says which.
var ErrSignature = errors.New("webhook: bad signature")

// MinSecret is the shortest secret Verify accepts. lockgate's secrets are
// 43 characters; a shorter one is a receiver's mistake, most often an
// unset environment variable read as "" — with which anyone could sign.
const MinSecret = 16

// Sign returns the X-Lockgate-Signature value for body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature, and that its timestamp is within
// tolerance of now.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) < MinSecret {
		return fmt.Errorf("%w: the secret is %d bytes, fewer than %d: is it set?", ErrSignature, len(secret), MinSecret)
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrSignature, timestamp)
	}
	// In whole seconds, so that no timestamp overflows a Duration (one in
	// milliseconds is ≈ 50,000 years ahead).
	tol := int64(tolerance / time.Second)
	switch ahead := ts - now.Unix(); {
	case ts > now.Unix()+tol:
		return fmt.Errorf("%w: timestamp is %ds ahead of this clock (more than %s)", ErrSignature, ahead, tolerance)
	case ts < now.Unix()-tol:
		return fmt.Errorf("%w: timestamp is %ds behind this clock (more than %s)", ErrSignature, -ahead, tolerance)
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return ErrSignature
	}
	return nil
}

// VerifyRequest reads r's body (at most MaxBody bytes) and verifies it
// with DefaultTolerance against the current time. It returns the body,
// to be parsed only when the error is nil.
func VerifyRequest(secret []byte, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("webhook: reading body: %w", err)
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrSignature, MaxBody)
	}
	if err := Verify(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Now(), DefaultTolerance); err != nil {
		return nil, err
	}
	return body, nil
}
