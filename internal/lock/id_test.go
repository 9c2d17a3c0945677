package lock

import (
	"testing"
	"time"
)

func TestNewIDMonotonic(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := newID("att", now)
	for i := range 10000 {
		at := now
		if i%100 == 0 {
			at = now.Add(-time.Second) // the clock steps back
		}
		id := newID("att", at)
		if id <= prev {
			t.Fatalf("id %d: %s after %s", i, id, prev)
		}
		prev = id
	}
}
