//go:build !unix

package analyze

import (
	"errors"
	"os"
)

// mapRange: files are read, not mapped, on systems that are not Unix.
func mapRange(f *os.File, from, to int64) (data []byte, unmap func() error, err error) {
	return nil, nil, errors.ErrUnsupported
}
