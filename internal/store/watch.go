package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
//
// NOTIFY arrives after the writer's COMMIT has returned, so a replica
// alone cannot know that it has heard everything acknowledged elsewhere.
// Each announcing transaction therefore takes the next value of the
// account_changes counter (holding its row until commit, so values commit
// in order) and closes its notifications with a marker carrying it;
// Synced compares the counter as committed now with the last marker the
// LISTEN connection has handled.

const notifyChannel = "lockgate_accounts"

// channelFor names the channel of the schema the store works in.
// LISTEN/NOTIFY channels belong to the database, not the schema: two
// deployments in one database (each with its own search_path) on one
// channel took each other's counter markers for their own, and a replica
// could believe itself synced while a lock acknowledged by its peer was
// still on its way. A hash keeps the name within PostgreSQL's 63 bytes
// whatever the schema's name.
func channelFor(database, schema string) string {
	h := sha256.Sum256([]byte(database + "\x00" + schema))
	return notifyChannel + "_" + hex.EncodeToString(h[:8])
}

// markerPrefix starts the payload that closes one transaction's
// announcements: the counter value it took.
const markerPrefix = "\x1e"

type watch struct {
	mu      sync.Mutex
	changed []func(app, key string)
	live    []func(bool)
	started bool
	cancel  context.CancelFunc
	done    sync.WaitGroup
	// heard is the last counter value whose announcements this process
	// has delivered; -1 while not listening.
	heard atomic.Int64
	// counter coalesces the reads of the account_changes counter for
	// Synced, which the group commit's writers make.
	counter syncReads
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
		s.watch.heard.Store(-1)
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
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.channel, app+"\x1f"+key)
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
		if len(changed) == 0 || s.dialect.name != "postgres" {
			return nil
		}
		var v int64
		if err := tx.QueryRowContext(ctx, `UPDATE account_changes SET v = v + 1 WHERE id = 1 RETURNING v`).Scan(&v); err != nil {
			return err
		}
		for _, c := range changed {
			if err := s.notify(ctx, tx, c[0], c[1]); err != nil {
				return err
			}
		}
		// Notifications of one transaction arrive in the order sent, so
		// the marker comes after the changes it vouches for.
		_, err = tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.channel, markerPrefix+strconv.FormatInt(v, 10))
		return err
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
			var v int64
			if _, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err == nil {
				// Changes committed before LISTEN were not heard; the
				// cache starts empty (setLive) and what it reads now is
				// at least as new as v.
				err = conn.QueryRow(ctx, `SELECT v FROM account_changes WHERE id = 1`).Scan(&v)
			}
			if err == nil {
				s.setLive(true)
				s.watch.heard.Store(v)
				for {
					n, err := conn.WaitForNotification(ctx)
					if err != nil {
						break
					}
					if m, ok := strings.CutPrefix(n.Payload, markerPrefix); ok {
						if v, err := strconv.ParseInt(m, 10, 64); err == nil && v > s.watch.heard.Load() {
							s.watch.heard.Store(v)
						}
						continue
					}
					app, key, _ := strings.Cut(n.Payload, "\x1f")
					s.announceLocal(app, key)
				}
			}
			s.watch.heard.Store(-1)
			conn.Close(context.Background())
		}
		s.setLive(false)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Synced implements lock.AccountWatcher: whether every change committed
// before the call has been announced to this process. On SQLite this
// process makes every change and announces it before acknowledging it; on
// PostgreSQL it costs one read of the counter, which the checks asking at
// the same time share, made with the next batch of attempts (syncReads).
func (s *Store) Synced(ctx context.Context) (bool, error) {
	if s.dialect.name != "postgres" {
		return true, nil
	}
	heard := s.watch.heard.Load()
	if heard < 0 {
		return false, nil
	}
	v, err := s.watch.counter.get(ctx)
	if err != nil {
		return false, s.wrap(err)
	}
	return s.watch.heard.Load() >= v, nil
}

func (s *Store) stopWatching() {
	if s.watch.cancel != nil {
		s.watch.cancel()
		s.watch.done.Wait()
	}
	s.watch.counter.close()
}
