package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Account changes are announced so that the lock check may keep accounts
// in memory (lock.AccountWatcher). Every write that changes an account
// announces it: to this process once it is committed, and on PostgreSQL
// to every replica with NOTIFY inside the writing transaction (delivered
// at its commit). A replica that is not LISTENing (its connection broke)
// reports itself not live, and its cache stands aside until it listens
// again.

const notifyChannel = "lockgate_accounts"

type watch struct {
	mu      sync.Mutex
	changed []func(app, key string)
	live    []func(bool)
	started bool
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

// WatchAccounts implements lock.AccountWatcher.
func (s *Store) WatchAccounts(changed func(app, key string), live func(bool)) {
	s.watch.mu.Lock()
	s.watch.changed = append(s.watch.changed, changed)
	s.watch.live = append(s.watch.live, live)
	start := !s.watch.started && s.dialect.name == "postgres"
	s.watch.started = true
	s.watch.mu.Unlock()
	if s.dialect.name != "postgres" {
		// One process writes an embedded database: what it announces
		// itself is everything.
		live(true)
		return
	}
	if start {
		ctx, cancel := context.WithCancel(context.Background())
		s.watch.cancel = cancel
		s.watch.done.Add(1)
		go s.listen(ctx)
	}
}

func (s *Store) announceLocal(app, key string) {
	s.watch.mu.Lock()
	fs := s.watch.changed
	s.watch.mu.Unlock()
	for _, f := range fs {
		f(app, key)
	}
}

func (s *Store) setLive(ok bool) {
	s.watch.mu.Lock()
	fs := s.watch.live
	s.watch.mu.Unlock()
	for _, f := range fs {
		f(ok)
	}
}

// notify queues the announcement of a change in tx (PostgreSQL; nothing
// to do on SQLite); the local one follows the commit (see changedIn).
func (s *Store) notify(ctx context.Context, tx *sql.Tx, app, key string) error {
	if s.dialect.name != "postgres" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, app+"\x1f"+key)
	return err
}

// changedIn runs f in a transaction that announces the accounts it
// returns as changed: to other replicas at commit, to this one after.
func (s *Store) changedIn(ctx context.Context, f func(tx *sql.Tx) ([][2]string, error)) error {
	var changed [][2]string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if changed, err = f(tx); err != nil {
			return err
		}
		for _, c := range changed {
			if err := s.notify(ctx, tx, c[0], c[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, c := range changed {
			s.announceLocal(c[0], c[1])
		}
	}
	return err
}

// listen LISTENs on its own connection until ctx ends, reconnecting after
// a failure; it reports the store live only while listening.
func (s *Store) listen(ctx context.Context) {
	defer s.watch.done.Done()
	for ctx.Err() == nil {
		conn, err := pgx.Connect(ctx, s.dsn)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+notifyChannel); err == nil {
				s.setLive(true)
				for {
					n, err := conn.WaitForNotification(ctx)
					if err != nil {
						break
					}
					app, key, _ := strings.Cut(n.Payload, "\x1f")
					s.announceLocal(app, key)
				}
			}
			conn.Close(context.Background())
		}
		s.setLive(false)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) stopWatching() {
	if s.watch.cancel != nil {
		s.watch.cancel()
		s.watch.done.Wait()
	}
}
