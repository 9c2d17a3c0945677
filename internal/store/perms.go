package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// secureFiles makes the directory of the SQLite database at path 0700 and
// the database with its journal files 0600, whatever they were before: they
// hold attempt data and token hashes. The database file is created 0600
// before SQLite opens it, because SQLite gives its -wal and -shm files the
// database file's mode.
func secureFiles(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := secureDir(dir); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("database file %s: %w", p, err)
		}
	}
	return nil
}

// secureDir takes group and other access away from dir. It fails, rather
// than run with data others can read, when it cannot.
func secureDir(dir string) error {
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
