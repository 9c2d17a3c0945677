package webhook

import (
	"time"

	"github.com/lockgate/lockgate/webhook"
)

// The verification side lives in the public package
// github.com/lockgate/lockgate/webhook, which receivers import; these
// forward to it for lockgate's own receivers (the IAM responder).
const (
	HeaderSignature = webhook.HeaderSignature
	HeaderTimestamp = webhook.HeaderTimestamp
	HeaderEvent     = webhook.HeaderEvent
	HeaderDelivery  = webhook.HeaderDelivery
)

// ErrSignature is every verification failure.
var ErrSignature = webhook.ErrSignature

// Sign is webhook.Sign.
func Sign(secret []byte, ts int64, body []byte) string { return webhook.Sign(secret, ts, body) }

// Verify is webhook.Verify.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	return webhook.Verify(secret, timestamp, signature, body, now, tolerance)
}
