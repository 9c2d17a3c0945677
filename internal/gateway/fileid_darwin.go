package gateway

import (
	"io/fs"
	"syscall"
	"time"
)

// fileID is a file's device, inode and status-change time.
func fileID(fi fs.FileInfo) (dev, ino uint64, changed time.Time) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, time.Time{}
	}
	return uint64(st.Dev), st.Ino, time.Unix(st.Ctimespec.Sec, st.Ctimespec.Nsec)
}
