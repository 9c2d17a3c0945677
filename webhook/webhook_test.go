package webhook_test

import (
	"testing"
	"time"

	"github.com/lockgate/lockgate/webhook"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("s3cret")
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
		{"other secret", []byte("other"), ts, sig, body, now, false},
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
