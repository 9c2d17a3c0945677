//go:build unix

package config

import "syscall"

// access(2) modes: the same on every Unix.
const (
	wOK = 0x2
	xOK = 0x1
)

// writable asks the kernel whether this process may write path (and
// search it, for a directory), as an open would decide: it knows about
// read-only mounts (systemd's ProtectSystem=strict), ACLs and root.
// access(2) uses the real IDs; lockgate is never set-uid, so they are
// the effective ones.
func writable(path string, dir bool) error {
	mode := uint32(wOK)
	if dir {
		mode |= xOK
	}
	return syscall.Access(path, mode)
}
