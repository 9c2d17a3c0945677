package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/lockgate/lockgate/internal/secretbox"
	"github.com/lockgate/lockgate/internal/store"
)

// keyCheck is sealed under the master key when a database is first used;
// a later start with another key cannot open it and refuses to run rather
// than answer every check with 401.
const keyCheck = "master_key_check"

func (s *Server) openBox(ctx context.Context) error {
	var key []byte
	var err error
	switch {
	case s.cfg.MasterKey != "":
		key, err = secretbox.ParseKey(s.cfg.MasterKey)
	default:
		path := string(s.cfg.MasterKeyFile)
		if path == "" {
			// The data directory holds the key: private whatever it was
			// before, with PostgreSQL too (SQLite's store secures it as
			// it opens the database). A key file configured elsewhere
			// keeps its directory, which lockgate may not own.
			path = filepath.Join(string(s.cfg.DataDir), "master.key")
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
	if _, err := s.box.Open(stored, keyCheck); err != nil {
		return errors.New("master key: this is not the key the database was created with (check LOCKGATE_MASTER_KEY or the key file)")
	}
	return nil
}
