package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// secureFiles makes the SQLite database at path and its journal and lock
// files 0600, whatever they were before: they hold attempt data and
// token hashes. The database file is created 0600 before SQLite opens
// it, because SQLite gives its -wal and -shm files the database file's
// mode.
//
// The directory is not lockgate's to re-mode: a database_url may name a
// file in a directory others use (the working directory, /tmp, /), and
// changing its mode would lock them out. A missing directory is created
// 0700; an existing one is used as it is (DatabaseDir says when it is
// refused). The data directory, which is lockgate's own, is made private
// by SecureDir.
func secureFiles(path string) error {
	dir := filepath.Dir(path)
	if err := DatabaseDir(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	return chmodFiles(path)
}

// chmodFiles makes the database's files 0600 without opening any of them.
// Once SQLite has the database open, this process must not open and close
// the database file itself: POSIX locks belong to the process, and closing
// any descriptor of a file drops all of them, SQLite's shared lock
// included. Another process (the sqlite3 shell, a backup) that then closes
// its connection would find the database unlocked, checkpoint and delete
// the write-ahead log lockgate is still committing to, and the attempts
// committed after that would be lost at the next crash.
func chmodFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal", path + ".lock"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("database file %s: %w", p, err)
		}
	}
	return nil
}

// DatabaseDir reports why an existing directory dir cannot hold the
// SQLite database, or nil: one that other users may write into without
// the sticky bit lets them replace or remove the database, so it is
// refused rather than re-moded. A directory that does not exist yet is
// fine (it is created 0700); one that cannot be used at all is left to
// the code that creates it to report. It changes nothing: config validate calls
// it too.
func DatabaseDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil // missing, or not usable: creating it says why
	}
	if m := fi.Mode(); m.Perm()&0o022 != 0 && m&fs.ModeSticky == 0 {
		return fmt.Errorf("the database's directory %s is writable by other users (mode %o), who could replace the database; lockgate does not change the mode of a directory it did not create: use a directory only lockgate's user can write (e.g. the data directory)", dir, m.Perm())
	}
	return nil
}

// DataDir reports why dir cannot be lockgate's data directory, or nil.
// SecureDir takes group and other access away from an existing data
// directory, which is right for a directory lockgate owns but would lock
// every other user out of a shared one: a sticky directory that others
// may write into (/tmp, /var/tmp) is refused instead. It changes
// nothing: config validate calls it too.
func DataDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil // missing, or not usable: creating it says why
	}
	if m := fi.Mode(); m&fs.ModeSticky != 0 && m.Perm()&0o022 != 0 {
		return fmt.Errorf("data directory %s is a shared directory (mode %o with the sticky bit): lockgate makes its data directory 0700, which would lock every other user out; name a directory of lockgate's own, e.g. %s", dir, m.Perm(), filepath.Join(dir, "lockgate"))
	}
	return nil
}

// SecureDir creates the data directory dir 0700, or takes group and other
// access away from it when it exists: with SQLite or PostgreSQL alike it
// holds the master key and, by default, the database. It fails, rather
// than run with data others can read, when it cannot, and refuses a
// shared directory (DataDir).
func SecureDir(dir string) error {
	if err := DataDir(dir); err != nil {
		return err
	}
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
