//go:build unix && !linux

package store

import "os"

// deferWALSync says that the group commit's writer commits with
// synchronous=NORMAL and a walSyncer syncs the log after (see walsync.go).
const deferWALSync = true

// syncFile is the walSyncer's sync: fsync, what this build's SQLite itself
// calls for a FULL commit of the log (it is compiled without
// HAVE_FDATASYNC; strace of a FULL commit shows fsync on the -wal).
func syncFile(f *os.File) error { return f.Sync() }

// newLogSync returns the walSyncer's sync of the log: fsync.
func newLogSync() (sync func(*os.File) error, release func()) { return syncFile, func() {} }
