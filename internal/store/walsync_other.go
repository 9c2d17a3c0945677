//go:build !unix

package store

import "os"

// deferWALSync is false where the walSyncer's descriptor and POSIX-lock
// reasoning (walsync.go) has not been checked: the writer commits with
// synchronous=FULL there, as every other connection does.
const deferWALSync = false

func syncFile(f *os.File) error { return f.Sync() }

func newLogSync() (sync func(*os.File) error, release func()) { return syncFile, func() {} }
