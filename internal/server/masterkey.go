package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/secretbox"
	"github.com/lockgate/lockgate/internal/store"
	"github.com/lockgate/lockgate/problem"
)

// keyCheck is sealed under the master key when a database is first used;
// a later start with another key cannot open it and refuses to run rather
// than answer every check with 401.
const keyCheck = "master_key_check"

// errWrongKey is what a start with a key that does not open the database
// meets, at serve and at validate alike.
var errWrongKey = errors.New("master key: this is not the key the database was created with (check LOCKGATE_MASTER_KEY or the key file)")

// masterKeyFile is the file the master key is read from (created in when
// missing): master_key_file, or master.key in the data directory when
// neither master_key nor master_key_file is set. It is "" when master_key
// gives the key; inDataDir says the data directory holds it.
func (c *Config) masterKeyFile() (path string, inDataDir bool) {
	switch {
	case c.MasterKey != "":
		return "", false
	case c.MasterKeyFile != "":
		return string(c.MasterKeyFile), false
	}
	return filepath.Join(string(c.DataDir), "master.key"), true
}

// checkMasterKey reads the master key file as Open will (the same
// function, without creating it), or, when it does not exist yet, checks
// that Open can create it. Problems are at the key that names the file.
func (c *Config) checkMasterKey() problem.List {
	path, inDataDir := c.masterKeyFile()
	if path == "" {
		return nil // master_key: checked by validate
	}
	key := "master_key_file"
	if inDataDir {
		key = "data_dir"
	}
	var probs problem.List
	_, err := secretbox.LoadKeyFile(path)
	switch {
	case missing(err) && !inDataDir: // created in its directory (the data directory is checked on its own)
		if err := config.CheckDir(filepath.Dir(path)); err != nil {
			probs.Addf(key, "master key: %s does not exist and cannot be created: %v", path, err)
		}
	case missing(err):
	case err != nil:
		probs.Addf(key, "master key: %v", err)
	}
	return probs
}

// missing reports whether err says a file does not exist, or cannot
// because a directory on its path is a file.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// checkStorage checks that Open can create or use the data directory
// (the SQLite database and the generated master key live there) and the
// directory of a sqlite: database_url, creating nothing.
func (c *Config) checkStorage() problem.List {
	var probs problem.List
	_, keyInDataDir := c.masterKeyFile()
	if c.DataDir != "" && (c.DatabaseURL == "" || keyInDataDir) {
		if err := config.CheckDir(string(c.DataDir)); err != nil {
			probs.Addf("data_dir", "%v", err)
		}
	}
	if path, ok := store.SQLiteFile(c.DatabaseURL); ok && c.DatabaseURL != "" {
		if err := config.CheckDir(filepath.Dir(path)); err != nil {
			probs.Addf("database_url", "%v", err)
		}
	}
	return probs
}

// checkKeyOpensDatabase compares the master key with the key check value
// of an existing SQLite database, read-only, as Open will: a key that
// does not open it is refused with serve's error. A database that does
// not exist yet (or has no key check yet) has nothing to compare.
// PostgreSQL is not contacted: validate stays off the network.
func (c *Config) checkKeyOpensDatabase(ctx context.Context) problem.List {
	path := c.SQLitePath()
	if c.DatabaseURL != "" {
		var ok bool
		if path, ok = store.SQLiteFile(c.DatabaseURL); !ok {
			return nil
		}
	}
	stored, found, err := store.ReadSQLiteMeta(ctx, path, keyCheck)
	if err != nil || !found {
		return nil // unreadable: Open reports it, with its own words
	}
	key, err := c.readMasterKey()
	if err != nil || key == nil {
		return nil // reported by checkMasterKey, or to be created
	}
	var probs problem.List
	if err := openKeyCheck(key, stored); err != nil {
		at := "master_key"
		if path, inDataDir := c.masterKeyFile(); path != "" {
			at = "master_key_file"
			if inDataDir {
				at = "data_dir"
			}
		}
		probs.Add(at, err.Error())
	}
	return probs
}

// readMasterKey returns the key Open would use without creating one:
// nil when the key file does not exist yet.
func (c *Config) readMasterKey() ([]byte, error) {
	if c.MasterKey != "" {
		return secretbox.ParseKey(c.MasterKey)
	}
	path, _ := c.masterKeyFile()
	key, err := secretbox.LoadKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return key, err
}

// openKeyCheck opens the stored key check value with key.
func openKeyCheck(key []byte, stored string) error {
	box, err := secretbox.New(key)
	if err != nil {
		return err
	}
	if _, err := box.Open(stored, keyCheck); err != nil {
		return errWrongKey
	}
	return nil
}

func (s *Server) openBox(ctx context.Context) error {
	var key []byte
	var err error
	path, inDataDir := s.cfg.masterKeyFile()
	switch {
	case path == "":
		key, err = secretbox.ParseKey(s.cfg.MasterKey)
	default:
		if inDataDir {
			// The data directory holds the key: private whatever it was
			// before, with PostgreSQL too (SQLite's store secures it as
			// it opens the database). A key file configured elsewhere
			// keeps its directory, which lockgate may not own.
			if err := store.SecureDir(string(s.cfg.DataDir)); err != nil {
				return fmt.Errorf("master key: %w", err)
			}
		}
		var created bool
		key, created, err = secretbox.LoadOrCreateKeyFile(path)
		if created {
			s.log.Info("created a master key file; back it up: without it signing keys cannot be read", "path", path)
			if s.store.Dialect() == "postgres" {
				s.log.Warn("a master key file was generated for a shared PostgreSQL database: every replica needs the same key (set LOCKGATE_MASTER_KEY)")
			}
		}
	}
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if s.box, err = secretbox.New(key); err != nil {
		return err
	}
	stored, err := s.store.InitMeta(ctx, keyCheck, s.box.Seal([]byte("lockgate"), keyCheck))
	if err != nil {
		return err
	}
	return openKeyCheck(key, stored)
}
