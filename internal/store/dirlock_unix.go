//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on path (created 0600) for as long as
// the returned file stays open. Two processes on one SQLite file each keep
// accounts in memory and hear only their own changes, so the second would
// answer stale "unlocked" forever: it must refuse to start instead. The
// kernel drops the lock when the process dies, so a crash leaves nothing to
// clean up.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by another lockgate process using the same data directory; a SQLite database belongs to one process (use PostgreSQL for several replicas)", ErrInUse, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
