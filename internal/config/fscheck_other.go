//go:build !unix

package config

import "os"

// writable is the best a system without access(2) allows: the mode bits.
func writable(path string, _ bool) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o222 == 0 {
		return os.ErrPermission
	}
	return nil
}
