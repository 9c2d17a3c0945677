//go:build linux

package store

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// deferWALSync says that the group commit's writer commits with
// synchronous=NORMAL and a walSyncer syncs the log after (see walsync.go).
const deferWALSync = true

// syncFile is the sync of the log where asynchronous I/O is missing:
// fsync, what this build's SQLite itself calls for a FULL commit of the
// log (it is compiled without HAVE_FDATASYNC; strace of a FULL commit
// shows fsync on the -wal).
func syncFile(f *os.File) error { return f.Sync() }

// newLogSync returns the walSyncer's sync of the log: the same fsync,
// run by the kernel through Linux's asynchronous I/O (aioSync) when it
// can, with fsync(2) itself otherwise; release frees what it holds.
func newLogSync() (sync func(*os.File) error, release func()) {
	a, err := newAIOSync()
	if err != nil {
		return syncFile, func() {}
	}
	return a.sync, a.close
}

// aioSync fsyncs a file with io_submit(2) (IOCB_CMD_FSYNC, which the
// kernel runs as vfs_fsync of the whole file, as fsync(2) does) and waits
// for the completion on an eventfd, through the runtime's poller.
//
// A goroutine blocked in fsync(2) keeps its P, the scheduler's right to
// run Go code, until the runtime's monitor takes it back, which under
// steady load comes after milliseconds, later than the fsync ends: on the
// 2-core bench one of the two Ps sat in the log's fsync about a third of
// the time while runnable goroutines waited for a P, and the core under it
// idled (docs/benchmarks.md, issue 14, perf14). A goroutine waiting on
// the poller holds no P.
type aioSync struct {
	mu  sync.Mutex // one fsync at a time: the eventfd counts completions
	ctx uintptr    // the kernel's aio_context_t
	ev  *os.File   // the eventfd, non-blocking, read through the poller

	// The control block and the array io_submit reads it from, on the
	// heap, where nothing moves them.
	cb       aioControl
	cbs      [1]*aioControl
	fallback bool // the kernel refused an fsync request: use fsync(2)
}

// aioControl is struct iocb of linux/aio_abi.h on a little-endian machine
// (aio_key before aio_rw_flags).
type aioControl struct {
	data     uint64
	key      uint32
	rwFlags  int32
	opcode   uint16
	reqprio  int16
	fildes   uint32
	buf      uint64
	nbytes   uint64
	offset   int64
	reserved uint64
	flags    uint32
	resfd    uint32
}

// aioEvent is struct io_event.
type aioEvent struct {
	data, obj uint64
	res, res2 int64
}

const (
	aioCmdFsync = 2 // IOCB_CMD_FSYNC
	aioFlagFD   = 1 // IOCB_FLAG_RESFD: signal the eventfd in resfd
)

func newAIOSync() (*aioSync, error) {
	if !littleEndian() || unsafe.Sizeof(aioControl{}) != 64 {
		return nil, errors.New("store: no aio control block layout for this machine")
	}
	a := &aioSync{}
	if _, _, e := syscall.Syscall(syscall.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&a.ctx)), 0); e != 0 {
		return nil, e
	}
	fd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		syscall.Syscall(syscall.SYS_IO_DESTROY, a.ctx, 0, 0)
		return nil, e
	}
	// Non-blocking, so os.NewFile has the poller wait for it.
	a.ev = os.NewFile(fd, "eventfd")
	a.cbs[0] = &a.cb
	return a, nil
}

func littleEndian() bool {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	return b[0] == 1
}

// sync makes f's data and metadata durable, as f.Sync does.
func (a *aioSync) sync(f *os.File) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fallback {
		return f.Sync()
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	// Inside Control the descriptor stays open; the kernel takes its own
	// reference to the file as it accepts the request.
	if err := rc.Control(func(fd uintptr) {
		a.cb = aioControl{opcode: aioCmdFsync, fildes: uint32(fd), flags: aioFlagFD, resfd: uint32(a.evFD())}
		_, _, errno = syscall.Syscall(syscall.SYS_IO_SUBMIT, a.ctx, 1, uintptr(unsafe.Pointer(&a.cbs[0])))
	}); err != nil {
		return err
	}
	switch errno {
	case 0:
	case syscall.EINVAL, syscall.EOPNOTSUPP, syscall.ENOSYS:
		// A kernel or file system without asynchronous fsync.
		a.fallback = true
		return f.Sync()
	default:
		return errno
	}
	var n [8]byte
	for {
		if _, err := a.ev.Read(n[:]); err != nil {
			return err
		}
		var ev aioEvent
		var zero syscall.Timespec // the completion is in: do not wait
		got, _, errno := syscall.Syscall6(syscall.SYS_IO_GETEVENTS, a.ctx, 1, 1, uintptr(unsafe.Pointer(&ev)), uintptr(unsafe.Pointer(&zero)), 0)
		if errno != 0 {
			return errno
		}
		if got == 1 {
			if ev.res < 0 {
				return syscall.Errno(-ev.res)
			}
			return nil
		}
	}
}

// evFD returns the eventfd's descriptor without changing its mode, as
// f.Fd would.
func (a *aioSync) evFD() uintptr {
	var fd uintptr
	if rc, err := a.ev.SyscallConn(); err == nil {
		rc.Control(func(x uintptr) { fd = x })
	}
	return fd
}

// close releases the context, once no sync runs.
func (a *aioSync) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	syscall.Syscall(syscall.SYS_IO_DESTROY, a.ctx, 0, 0)
	a.ev.Close()
}
