package store

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// On SQLite the group commit's writer commits with synchronous=NORMAL on
// its own connection, and a walSyncer makes each batch durable after the
// commit: it syncs the write-ahead log through a descriptor it keeps, and
// only then releases the batch's waiters. Meanwhile the writer commits the
// next batch, so the log's sync (about 300 µs on the bench's disk) no
// longer holds SQLite's write lock, and one sync covers every batch
// committed before it began.
//
// What NORMAL still guarantees, from SQLite's documentation of PRAGMA
// synchronous (https://www.sqlite.org/pragma.html#pragma_synchronous):
// "In WAL mode when synchronous is NORMAL (1), the WAL file is
// synchronized before each checkpoint and the database file is
// synchronized after each completed checkpoint and the WAL file header is
// synchronized when a WAL file begins to be reused after a checkpoint, but
// no sync operations occur during most transactions." So a committed
// batch is either still in the log, which the syncer syncs, or was copied
// into the database by a checkpoint, which synced the log before and the
// database after; a log is only reset or deleted after such a checkpoint.
// Every other connection (lock changes, administration) keeps
// synchronous=FULL, so its commits stay durable by themselves.
//
// The descriptor is opened read-only and kept until the store closes.
// POSIX locks belong to the process and closing any descriptor of a file
// drops all of them (see chmodFiles), but SQLite's unix VFS takes no lock
// on the -wal file: its locks are on the database file (pager.c,
// pagerLockDb → sqlite3OsLock on the database's descriptor) and, for the
// log, on the -shm file (wal.c, walLockShared → sqlite3OsShmLock(
// pWal->pDbFd, …), which os_unix.c's unixShmLock takes on the -shm's
// descriptor). TestAnotherProcessReading checks both locks after the
// syncer has opened and closed -wal descriptors.

// errWALSync wraps the first failed sync of the write-ahead log. After it
// the store refuses attempts until it is reopened: the kernel may have
// dropped the log's unwritten pages and a later sync can succeed without
// them, and SQLite's recovery stops at the first bad frame, so nothing
// appended after that point can be called durable.
var errWALSync = errors.New("store: the write-ahead log could not be synced; attempts are refused until lockgate restarts")

// walSyncer syncs the write-ahead log for committed batches and releases
// their waiters (see above).
type walSyncer struct {
	path string               // the database's -wal file
	sync func(*os.File) error // syncFile, or a test's
	in   chan []*pending
	done chan struct{}
	// slots holds one token per batch between the writer's acquire,
	// before it cuts the batch, and the batch's release after its sync
	// (or unacquire when it is not committed).
	slots chan struct{}
	once  sync.Once

	failed atomic.Pointer[error] // sticky: the first sync error

	// rows counts the attempts handed over and not yet released; synced
	// is signalled after every round (see batcher.fillWhileSyncing).
	rows   atomic.Int64
	synced chan struct{}

	release func() // frees what sync holds, after stop

	// Owned by run.
	f  *os.File    // the log as last opened
	fi os.FileInfo // f's identity when opened
}

func newWALSyncer(path string, sync func(*os.File) error) *walSyncer {
	y := &walSyncer{
		path: path,
		sync: sync,
		// Room for more committed batches than the writer makes during one
		// sync, so the writer rarely waits for the syncer.
		in:     make(chan []*pending, 64),
		done:   make(chan struct{}),
		slots:  make(chan struct{}, maxUnsynced),
		synced: make(chan struct{}, 1),
	}
	go y.run()
	return y
}

// maxUnsynced bounds the batches committed but not yet synced. With no
// bound the writer committed again as soon as a commit returned, so a sync
// period held several small commits instead of one: on the 2-core bench
// that cost more CPU per check (WAL writes and commit work per batch) than
// the overlap saved. Two lets one batch commit while the one before it is
// synced.
const maxUnsynced = 2

// acquire waits, before the writer cuts a batch, until fewer than
// maxUnsynced batches await their sync. A nil y (no walSyncer) never
// waits.
func (y *walSyncer) acquire() {
	if y != nil {
		y.slots <- struct{}{}
	}
}

// unacquire returns the slot of a batch that was not handed to add.
func (y *walSyncer) unacquire() {
	if y != nil {
		<-y.slots
	}
}

// err returns the sticky error once a sync has failed.
func (y *walSyncer) err() error {
	if p := y.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// add hands over a committed batch, with the slot acquired for it; its waiters are released when a sync
// that began after this call returns.
func (y *walSyncer) add(batch []*pending) {
	y.rows.Add(int64(len(batch)))
	y.in <- batch
}

// stop releases every batch handed over and ends run. The writers must
// have stopped.
func (y *walSyncer) stop() {
	y.once.Do(func() {
		close(y.in)
		<-y.done
	})
}

// closeFile closes the log's descriptor, after stop.
func (y *walSyncer) closeFile() {
	if y.f != nil {
		y.f.Close()
		y.f = nil
	}
	if y.release != nil {
		y.release()
		y.release = nil
	}
}

func (y *walSyncer) run() {
	defer close(y.done)
	var rounds [][]*pending
	for b := range y.in {
		// Every batch queued now was committed before the sync below
		// starts, so it covers them all.
		rounds = append(rounds[:0], b)
	drain:
		for {
			select {
			case b, ok := <-y.in:
				if !ok {
					break drain
				}
				rounds = append(rounds, b)
			default:
				break drain
			}
		}
		err := y.syncOnce()
		var n int
		for i, b := range rounds {
			for _, p := range b {
				p.done <- err
			}
			n += len(b)
			rounds[i] = nil
			<-y.slots
		}
		y.rows.Add(-int64(n))
		select {
		case y.synced <- struct{}{}:
		default:
		}
	}
}

// syncOnce makes everything committed so far durable, or fails. A failed
// sync of the log is sticky (errWALSync); a log it cannot identify fails
// the round without syncing and is looked up again next round.
func (y *walSyncer) syncOnce() error {
	if err := y.err(); err != nil {
		return err
	}
	err := y.syncLog()
	var se *syncError
	if errors.As(err, &se) {
		err = fmt.Errorf("%w: %v", errWALSync, se.err)
		y.failed.Store(&err)
	}
	return err
}

// syncError marks a failure of the sync itself, as opposed to finding the
// file.
type syncError struct{ err error }

func (e *syncError) Error() string { return e.err.Error() }

// syncLog syncs the log that is now at y.path. If the file there is no
// longer the one y.f was opened on (the log was deleted and made again),
// it syncs the old one too: the batches committed before the change are in
// it or were checkpointed into the database. A log that is missing, or
// changes while it is opened, fails the round: the writer's commits may
// have gone to a file no other process can find, and that is not durable.
func (y *walSyncer) syncLog() error {
	fi, err := os.Stat(y.path)
	if err != nil {
		return fmt.Errorf("store: find the write-ahead log to sync: %w", err)
	}
	if y.f != nil && os.SameFile(fi, y.fi) {
		return y.syncFile(y.f)
	}
	f, err := os.Open(y.path)
	if err != nil {
		return fmt.Errorf("store: open the write-ahead log to sync: %w", err)
	}
	ofi, err := f.Stat()
	if err == nil && !os.SameFile(ofi, fi) {
		err = fmt.Errorf("store: the write-ahead log %s changed while it was opened", y.path)
	}
	if err != nil {
		f.Close()
		return err
	}
	old := y.f
	y.f, y.fi = f, ofi
	if old != nil {
		err := y.syncFile(old)
		old.Close()
		if err != nil {
			return err
		}
	}
	return y.syncFile(f)
}

func (y *walSyncer) syncFile(f *os.File) error {
	if err := y.sync(f); err != nil {
		return &syncError{fmt.Errorf("sync %s: %w", f.Name(), err)}
	}
	return nil
}
