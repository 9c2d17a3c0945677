package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/store"
)

// TestSecondProcessOnSQLiteRefused: a second store on the same SQLite
// file — a second `lockgate serve` on one data dir — is refused with a
// clear error while the first holds it, and opens once the first closed.
// (flock locks belong to the open file, so two opens in one process
// contend exactly as two processes do.)
func TestSecondProcessOnSQLiteRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lockgate.db")
	first, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(ctx, path)
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "another lockgate process") {
		first.Close()
		t.Fatalf("second open of %s: %v, want ErrInUse naming another process", path, err)
	}
	first.Close()
	again, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("open after the first closed: %v", err)
	}
	again.Close()
}
