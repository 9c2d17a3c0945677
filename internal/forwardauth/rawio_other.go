//go:build !linux

package forwardauth

import (
	"io"
	"net"
)

// connIO is what the listener reads c with and writes c to: c itself
// (rawio_linux.go says why Linux differs).
func connIO(c net.Conn) io.ReadWriter { return c }
