package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// secureFiles makes the directory of the SQLite database at path 0700 and
// the database with its journal and lock files 0600, whatever they were
// before: they hold attempt data and token hashes. The database file is
// created 0600 before SQLite opens it, because SQLite gives its -wal and
// -shm files the database file's mode.
func secureFiles(path string) error {
	if err := SecureDir(filepath.Dir(path)); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal", path + ".lock"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("database file %s: %w", p, err)
		}
	}
	return nil
}

// SecureDir creates the data directory dir 0700, or takes group and other
// access away from it when it exists: with SQLite or PostgreSQL alike it
// may hold the master key. It fails, rather than run with data others
// can read, when it cannot.
func SecureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(dir, perm&0o700|0o700); err != nil {
		return fmt.Errorf("data directory %s is open to other users (mode %o) and cannot be made 0700: %w", dir, perm, err)
	}
	return nil
}
