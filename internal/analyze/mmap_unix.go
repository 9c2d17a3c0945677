//go:build unix

package analyze

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapRange maps bytes [from, to) of f read-only and tells the kernel they
// will be read once, front to back, and soon (read-ahead).
func mapRange(f *os.File, from, to int64) (data []byte, unmap func() error, err error) {
	off := from &^ int64(os.Getpagesize()-1)
	m, err := unix.Mmap(int(f.Fd()), off, int(to-off), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	// Advice only: a kernel that ignores it reads the same bytes.
	unix.Madvise(m, unix.MADV_SEQUENTIAL)
	unix.Madvise(m, unix.MADV_WILLNEED)
	return m[from-off:], func() error { return unix.Munmap(m) }, nil
}
