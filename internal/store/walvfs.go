package store

import (
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite writes each frame of a commit to the write-ahead log with two
// writes, its 24-byte header and then its page: a group commit of about
// fifteen attempts made some 28 pwrite calls, each a system call, which
// on the 2-core bench cost about 70 µs of CPU per commit against 8 µs for
// one write of the same bytes (docs/benchmarks.md, issue 14, perf14w).
// walVFS is the default VFS with the log's writes gathered: consecutive
// writes to a -wal file are kept in a buffer and written with one call
// before anything else touches the file, in particular before its sync.
// A commit is then one write and one fsync.
//
// Only the group commit's connection uses it (Open), and that is what
// makes it sound. Its every frame belongs to a commit: it does not spill
// pages to the log before committing (cache_spill off), so no buffered
// frame outlives its transaction. Each commit syncs the log before it
// returns and before it publishes its frames in the shared index
// (synchronous=FULL), and the sync writes the buffer first: every byte
// is written, in order, before the sync that covers it, and another
// connection or process reads a frame only after that. A connection that
// spilled would keep the frames of a transaction that rolled back in its
// buffer past the write lock, and its next use of the log would write
// them over frames other connections had committed since
// (TestWALOnDiskAtCommit).

// walVFSName is the name the store's DSN gives as its vfs.
const walVFSName = "lockgate-wal"

// walBufMax bounds a log file's buffer: a write that would pass it
// writes the buffer first.
const walBufMax = 4 << 20

// walWriteMax bounds one write to the file: the default VFS's xWrite
// passes at most 128 KiB - 1 bytes to each pwrite (seekAndWriteFd masks
// the count with 0x1ffff) and reports a disk full when the rest of a
// larger write masks to 0.
const walWriteMax = 128<<10 - 4<<10

// walFile is the state lockgate keeps for a -wal file, in the bytes
// after the default VFS's own file structure, which SQLite allocates
// (szOsFile) and frees. It lives in C memory: no Go pointers.
type walFile struct {
	orig uintptr // the default VFS's methods for this file
	buf  uintptr // malloc'ed; bytes from file offset off, n of them
	cap  int64
	off  int64
	n    int64
}

var (
	walVFSOnce sync.Once
	walVFSErr  error

	baseVFS uintptr // the default VFS, which walVFS wraps
	baseSz  uintptr // its szOsFile, rounded up so that walFile is aligned

	walMethodsMu sync.Mutex
	walMethods   uintptr // the io methods of a -wal file, built at its first open
	walOrig      uintptr // the default VFS's methods they wrap

	// walWrites counts the writes walVFS made to log files, for tests.
	walWrites atomic.Int64
)

// registerWALVFS registers walVFS with SQLite, once per process.
func registerWALVFS() error {
	walVFSOnce.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		baseVFS = sqlite3.Xsqlite3_vfs_find(tls, 0)
		if baseVFS == 0 {
			walVFSErr = errors.New("store: sqlite has no default VFS")
			return
		}
		base := cmem[sqlite3.Tsqlite3_vfs](baseVFS)
		baseSz = (uintptr(base.FszOsFile) + 7) &^ 7
		name, err := libc.CString(walVFSName)
		if err != nil {
			walVFSErr = err
			return
		}
		// Never freed: SQLite keeps registered VFSes until the process ends.
		p := libc.Xcalloc(tls, 1, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
		if p == 0 {
			walVFSErr = errors.New("store: out of memory")
			return
		}
		v := cmem[sqlite3.Tsqlite3_vfs](p)
		*v = *base
		v.FpNext = 0
		v.FzName = name
		v.FszOsFile = int32(baseSz + unsafe.Sizeof(walFile{}))
		*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&v.FxOpen)) = walOpen
		if rc := sqlite3.Xsqlite3_vfs_register(tls, p, 0); rc != sqlite3.SQLITE_OK {
			walVFSErr = errors.New("store: registering the sqlite VFS failed")
		}
	})
	return walVFSErr
}

// cmem returns p, an address in C memory (SQLite's, malloc'ed), as a
// *T. The Go heap never holds such memory, so the garbage collector has
// nothing to track; converting through a variable's address says so to
// vet, which cannot know it.
func cmem[T any](p uintptr) *T { return *(**T)(unsafe.Pointer(&p)) }

// fileState returns the walFile after pFile's default-VFS structure.
func fileState(pFile uintptr) *walFile {
	return cmem[walFile](pFile + baseSz)
}

// walOpen is walVFS's xOpen: the default VFS opens the file, and a -wal
// file gets the methods that gather its writes.
func walOpen(tls *libc.TLS, _, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	wf := fileState(pFile)
	*wf = walFile{}
	base := cmem[sqlite3.Tsqlite3_vfs](baseVFS)
	open := *(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&base.FxOpen))
	rc := open(tls, baseVFS, zName, pFile, flags, pOutFlags)
	if rc != sqlite3.SQLITE_OK || flags&sqlite3.SQLITE_OPEN_WAL == 0 {
		return rc
	}
	f := cmem[sqlite3.Tsqlite3_file](pFile)
	if m := walMethodsFor(tls, f.FpMethods); m != 0 {
		wf.orig = f.FpMethods
		f.FpMethods = m
	}
	return rc
}

// walMethodsFor returns the io methods that wrap orig, building them the
// first time; 0 (leave the file as it is) for methods other than those
// of the first -wal file, which the default VFS does not give.
func walMethodsFor(tls *libc.TLS, orig uintptr) uintptr {
	walMethodsMu.Lock()
	defer walMethodsMu.Unlock()
	if walMethods != 0 {
		if orig != walOrig {
			return 0
		}
		return walMethods
	}
	if orig == 0 {
		return 0
	}
	p := libc.Xcalloc(tls, 1, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
	if p == 0 {
		return 0
	}
	m := cmem[sqlite3.Tsqlite3_io_methods](p)
	// Locking, shared memory, sector size and device characteristics are
	// the default's, called directly: they do not touch the file's bytes.
	*m = *cmem[sqlite3.Tsqlite3_io_methods](orig)
	*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&m.FxClose)) = walClose
	*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxRead)) = walRead
	*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxWrite)) = walWrite
	*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&m.FxTruncate)) = walTruncate
	*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxSync)) = walSync
	*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&m.FxFileSize)) = walFileSize
	*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&m.FxFileControl)) = walFileControl
	walMethods, walOrig = p, orig
	return p
}

// methods returns the default VFS's methods of the file.
func (wf *walFile) methods() *sqlite3.Tsqlite3_io_methods {
	return cmem[sqlite3.Tsqlite3_io_methods](wf.orig)
}

// write writes n bytes from p at off with the default VFS's xWrite, in
// pieces it takes whole.
func (wf *walFile) write(tls *libc.TLS, pFile, p uintptr, n, off int64) int32 {
	m := wf.methods()
	xWrite := *(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxWrite))
	for done := int64(0); done < n; {
		k := min(n-done, walWriteMax)
		walWrites.Add(1)
		if rc := xWrite(tls, pFile, p+uintptr(done), int32(k), off+done); rc != sqlite3.SQLITE_OK {
			return rc
		}
		done += k
	}
	return sqlite3.SQLITE_OK
}

// flush writes the buffered bytes and empties the buffer whatever the
// outcome: SQLite answers a failed write by abandoning the transaction
// whose frames they were.
func (wf *walFile) flush(tls *libc.TLS, pFile uintptr) int32 {
	n := wf.n
	wf.n = 0
	return wf.write(tls, pFile, wf.buf, n, wf.off)
}

func walWrite(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	wf := fileState(pFile)
	amt := int64(iAmt)
	// The next frame, or the page after its header, joins the buffer.
	// Anything else (a page SQLite writes again, a checksum it fixes)
	// writes what is buffered first and starts a new buffer, so that the
	// file gets the bytes in the order SQLite wrote them.
	if wf.n == 0 || iOfst != wf.off+wf.n || wf.n+amt > walBufMax {
		if rc := wf.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
			return rc
		}
		wf.off = iOfst
	}
	if need := wf.n + amt; need > wf.cap {
		c := max(need, 2*wf.cap, 64<<10)
		p := libc.Xrealloc(tls, wf.buf, libc.Tsize_t(c))
		if p == 0 {
			if rc := wf.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
				return rc
			}
			return wf.write(tls, pFile, zBuf, amt, iOfst)
		}
		wf.buf, wf.cap = p, c
	}
	libc.Xmemcpy(tls, wf.buf+uintptr(wf.n), zBuf, libc.Tsize_t(amt))
	wf.n += amt
	return sqlite3.SQLITE_OK
}

func walSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	wf := fileState(pFile)
	if rc := wf.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	m := wf.methods()
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxSync)))(tls, pFile, flags)
}

func walRead(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	wf := fileState(pFile)
	if rc := wf.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	m := wf.methods()
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxRead)))(tls, pFile, zBuf, iAmt, iOfst)
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	wf := fileState(pFile)
	if rc := wf.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	m := wf.methods()
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&m.FxTruncate)))(tls, pFile, size)
}

func walFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	wf := fileState(pFile)
	if rc := wf.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	m := wf.methods()
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&m.FxFileSize)))(tls, pFile, pSize)
}

func walFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	wf := fileState(pFile)
	if rc := wf.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	m := wf.methods()
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&m.FxFileControl)))(tls, pFile, op, pArg)
}

func walClose(tls *libc.TLS, pFile uintptr) int32 {
	wf := fileState(pFile)
	rc := wf.flush(tls, pFile)
	libc.Xfree(tls, wf.buf)
	m := wf.methods()
	*wf = walFile{}
	if crc := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&m.FxClose)))(tls, pFile); rc == sqlite3.SQLITE_OK {
		rc = crc
	}
	return rc
}
