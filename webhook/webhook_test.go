package webhook_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/webhook"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("s3cret-of-at-least-16-bytes")
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"lock.changed"}`)
	sig := webhook.Sign(secret, now.Unix(), body)
	ts := "1800000000"
	tests := []struct {
		name    string
		secret  []byte
		ts, sig string
		body    []byte
		now     time.Time
		wantOK  bool
	}{
		{"good", secret, ts, sig, body, now, true},
		{"within tolerance", secret, ts, sig, body, now.Add(4 * time.Minute), true},
		{"replayed later", secret, ts, sig, body, now.Add(6 * time.Minute), false},
		{"other secret", []byte("other-secret-of-16-bytes"), ts, sig, body, now, false},
		// atk14f F8: a receiver whose secret variable is unset reads "";
		// a signature made with "" must not pass.
		{"empty secret", nil, ts, webhook.Sign(nil, now.Unix(), body), body, now, false},
		{"short secret", []byte("short"), ts, webhook.Sign([]byte("short"), now.Unix(), body), body, now, false},
		{"milliseconds", secret, "1800000000000", webhook.Sign(secret, 1800000000000, body), body, now, false},
		{"far past", secret, "-9223372036854775808", webhook.Sign(secret, -9223372036854775808, body), body, now, false},
		{"body changed", secret, ts, sig, []byte(`{"type":"x"}`), now, false},
		{"timestamp changed", secret, "1800000001", sig, body, now, false},
		{"bad timestamp", secret, "soon", sig, body, now, false},
		{"no signature", secret, ts, "", body, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.ts, tt.sig, tt.body, tt.now, 5*time.Minute)
			if (err == nil) != tt.wantOK {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
}

// The age error says which way the clock is off (atk14f F8: it said
// "-5m0s from now" of a timestamp five minutes ahead).
func TestVerifyAgeMessage(t *testing.T) {
	secret := []byte("s3cret-of-at-least-16-bytes")
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		ts   int64
		want string
	}{
		{now.Unix() + 301, "301s ahead"},
		{now.Unix() - 302, "302s behind"},
		{now.UnixMilli(), "ahead"},
	} {
		ts := strconv.FormatInt(tc.ts, 10)
		err := webhook.Verify(secret, ts, webhook.Sign(secret, tc.ts, nil), nil, now, webhook.DefaultTolerance)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("timestamp %s: %v, want %q", ts, err, tc.want)
		}
	}
}
