package forwardauth

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair is a connected pair of loopback TCP connections.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// TestRawConn checks that the listener's raw reads and writes behave as
// net.Conn's: the bytes, a write larger than the socket's buffers (the
// poller's wait), io.EOF at the peer's close, the deadlines' error, an
// error (not a signal) writing to a closed peer.
func TestRawConn(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, rw io.ReadWriter, server, client net.Conn)
	}{
		{"is raw on TCP", func(t *testing.T, rw io.ReadWriter, _, _ net.Conn) {
			if _, ok := rw.(*rawConn); !ok {
				t.Fatalf("connIO(TCP) = %T, want *rawConn", rw)
			}
		}},
		{"reads what the peer wrote, then io.EOF", func(t *testing.T, rw io.ReadWriter, _, client net.Conn) {
			go func() { client.Write([]byte("GET /nginx HTTP/1.1\r\n\r\n")); client.Close() }()
			got, err := io.ReadAll(rw)
			if err != nil || string(got) != "GET /nginx HTTP/1.1\r\n\r\n" {
				t.Fatalf("ReadAll = %q, %v", got, err)
			}
			if n, err := rw.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("Read after the peer's close = %d, %v; want 0, io.EOF", n, err)
			}
		}},
		{"empty read", func(t *testing.T, rw io.ReadWriter, _, _ net.Conn) {
			if n, err := rw.Read(nil); n != 0 || err != nil {
				t.Fatalf("Read(nil) = %d, %v", n, err)
			}
		}},
		{"writes more than the socket buffers hold", func(t *testing.T, rw io.ReadWriter, server, client net.Conn) {
			want := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MB
			got := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(client)
				got <- b
			}()
			n, err := rw.Write(want)
			if n != len(want) || err != nil {
				t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
			}
			server.(*net.TCPConn).CloseWrite()
			if b := <-got; !bytes.Equal(b, want) {
				t.Fatalf("the peer read %d bytes, not the %d written", len(b), len(want))
			}
		}},
		{"read deadline", func(t *testing.T, rw io.ReadWriter, server, _ net.Conn) {
			server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			if _, err := rw.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read past the deadline: %v, want os.ErrDeadlineExceeded", err)
			}
		}},
		{"write deadline", func(t *testing.T, rw io.ReadWriter, server, _ net.Conn) {
			server.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
			_, err := rw.Write(make([]byte, 64<<20)) // the peer never reads
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Write past the deadline: %v, want os.ErrDeadlineExceeded", err)
			}
		}},
		{"write to a closed peer", func(t *testing.T, rw io.ReadWriter, _, client net.Conn) {
			client.(*net.TCPConn).SetLinger(0) // a reset
			client.Close()
			var err error
			for i := 0; i < 100 && err == nil; i++ {
				_, err = rw.Write([]byte("HTTP/1.1 200 OK\r\n\r\n"))
			}
			var op *net.OpError
			if !errors.As(err, &op) {
				t.Fatalf("Write to a reset connection: %v, want a *net.OpError", err)
			}
		}},
		{"read from a closed connection", func(t *testing.T, rw io.ReadWriter, server, _ net.Conn) {
			server.Close()
			if _, err := rw.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := tcpPair(t)
			tt.run(t, connIO(server), server, client)
		})
	}
}
