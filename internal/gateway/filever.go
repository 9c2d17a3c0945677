package gateway

import (
	"crypto/sha256"
	"io"
	"os"
	"time"
)

// FileVersion is what a watcher compares of a file. The modification
// time alone misses a rewrite that keeps the size and restores the time
// (cp -p, rsync -a, install -p, tar), so the version also holds the
// file's identity (device and inode: a rename or symlink swap gives a
// new one), its status-change time (set by the kernel on every write,
// rename or chmod; nothing sets it back) and a hash of its content,
// which catches a rewrite within one tick of the file system's clock.
type FileVersion struct {
	Missing  bool // the file could not be read
	Size     int64
	ModTime  time.Time
	Changed  time.Time // ctime
	Dev, Ino uint64
	Sum      [sha256.Size]byte
}

// ReadVersion is the version of the file at path now (following
// symbolic links, as the configuration's readers do).
func ReadVersion(path string) FileVersion {
	f, err := os.Open(path)
	if err != nil {
		return FileVersion{Missing: true}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return FileVersion{Missing: true}
	}
	v := FileVersion{Size: fi.Size(), ModTime: fi.ModTime()}
	v.Dev, v.Ino, v.Changed = fileID(fi)
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return FileVersion{Missing: true}
	}
	h.Sum(v.Sum[:0])
	return v
}

// same reports whether a and b are one version: the times compared as
// instants, whatever their location.
func (v FileVersion) same(o FileVersion) bool {
	return v.Missing == o.Missing && v.Size == o.Size && v.ModTime.Equal(o.ModTime) && v.Changed.Equal(o.Changed) &&
		v.Dev == o.Dev && v.Ino == o.Ino && v.Sum == o.Sum
}

// Watched are the files a configuration was built from and their
// versions then.
type Watched map[string]FileVersion

// Add records the version of the file at path now; a file that cannot
// be read is left out (the load that needed it failed).
func (w Watched) Add(path string) {
	if v := ReadVersion(path); !v.Missing {
		w[path] = v
	}
}

func sameVersions(a, b Watched) bool {
	if b == nil || len(a) != len(b) {
		return false
	}
	for f, v := range a {
		if o, ok := b[f]; !ok || !v.same(o) {
			return false
		}
	}
	return true
}
