package forwardauth

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawConn reads and writes a connection with system calls the Go
// scheduler is not told of (syscall.RawSyscall), still waiting for the
// connection through the runtime's poller, with its deadlines, when a
// call would block. A read or write on a non-blocking socket never blocks
// in the kernel, so the scheduler has nothing to do about it; told of
// it, as net.Conn's Read and Write tell it, the first such call after
// every moment the process was wholly idle wakes the runtime's monitor
// thread (sysmon), which then polls every 20 µs for a while. A proxy's
// stream of questions leaves lockgate idle between most of them, and on
// a 2-core host that monitor was a sixth to a quarter of lockgate's CPU
// per question, its futex wake-ups and sleeps half of lockgate's context
// switches (docs/benchmarks.md, "Forward auth", 2026-11-29/30).
type rawConn struct {
	c  net.Conn
	rc syscall.RawConn
	// The calls' arguments and results, and the functions RawConn runs,
	// made once per connection: a closure per call would be allocated.
	// Read and Write each have their own: the listener does not call
	// them at once, but nothing here needs it not to.
	rbuf, wbuf     []byte
	rn, wn         int
	rerrno, werrno syscall.Errno
	read, written  func(fd uintptr) bool
}

// connIO is what the listener reads c with and writes c to: c itself,
// unless it is a socket whose descriptor can be had.
func connIO(c net.Conn) io.ReadWriter {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	r := &rawConn{c: c, rc: rc}
	r.read, r.written = r.readFD, r.writeFD
	return r
}

func (r *rawConn) readFD(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.rbuf[0])), uintptr(len(r.rbuf)))
		switch e {
		case 0:
			r.rn = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait for the poller
		default:
			r.rerrno = e
			return true
		}
	}
}

func (r *rawConn) writeFD(fd uintptr) bool {
	for r.wn < len(r.wbuf) {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&r.wbuf[r.wn])), uintptr(len(r.wbuf)-r.wn))
		switch e {
		case 0:
			r.wn += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // wait for the poller
		default:
			r.werrno = e
			return true
		}
	}
	return true
}

// Read is net.Conn's Read: io.EOF when the peer has closed, the
// deadline's error when it passed.
func (r *rawConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.rbuf, r.rn, r.rerrno = p, 0, 0
	err := r.rc.Read(r.read)
	r.rbuf = nil
	switch {
	case err != nil:
		return 0, err
	case r.rerrno != 0:
		return 0, r.opError("read", r.rerrno)
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

// Write is net.Conn's Write: all of p, or an error.
func (r *rawConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.wbuf, r.wn, r.werrno = p, 0, 0
	err := r.rc.Write(r.written)
	r.wbuf = nil
	switch {
	case err != nil:
		return r.wn, err
	case r.werrno != 0:
		return r.wn, r.opError("write", r.werrno)
	}
	return r.wn, nil
}

func (r *rawConn) opError(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Source: r.c.LocalAddr(), Addr: r.c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}
