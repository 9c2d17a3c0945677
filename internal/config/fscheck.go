package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CheckDir reports why serve could not use dir as a directory it writes
// into, creating it when missing (os.MkdirAll), or nil when it could:
// the directory exists and is writable, or the nearest existing parent
// is a writable directory. It creates nothing, so that validate stays
// free of side effects.
func CheckDir(dir string) error {
	if dir == "" {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; {
		fi, err := os.Stat(p)
		switch {
		case err == nil && !fi.IsDir():
			return fmt.Errorf("%s is not a directory", p)
		case err == nil:
			if err := writable(p, true); err != nil {
				if p == abs {
					return fmt.Errorf("directory %s is not writable: %w", p, err)
				}
				return fmt.Errorf("%s cannot be created: %s is not writable: %w", dir, p, err)
			}
			return nil
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return fmt.Errorf("%s cannot be created: no existing parent", dir)
		}
		p = parent
	}
}

// CheckAppendable reports why serve could not open path for appending
// (creating it when missing), or nil when it could: an existing path is
// a regular file that can be written, a missing one has a writable
// directory. Standard output ("-") always can. It creates nothing.
func CheckAppendable(path string) error {
	if path == "" || path == "-" {
		return nil
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	case err == nil:
		if err := writable(path, false); err != nil {
			return fmt.Errorf("%s cannot be written: %w", path, err)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s cannot be created: directory %s: %w", path, dir, syscall.ENOENT)
	case err != nil:
		return err
	case !di.IsDir():
		return fmt.Errorf("%s cannot be created: %s is not a directory", path, dir)
	}
	if err := writable(dir, true); err != nil {
		return fmt.Errorf("%s cannot be created: directory %s is not writable: %w", path, dir, err)
	}
	return nil
}
