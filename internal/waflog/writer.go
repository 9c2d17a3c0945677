package waflog

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configure a Writer.
type Options struct {
	// MaxSize rotates the file when it would grow past this many bytes
	// (0: 100 MiB).
	MaxSize int64
	// MaxAge rotates the file once it is this old (0: never by age).
	MaxAge time.Duration
	// Keep is how many rotated (gzipped) files are kept (0: 10).
	Keep int
	// Now is the clock (tests).
	Now func() time.Time
}

// Writer appends records to a file, rotating it by size and age and
// gzipping rotated files, or to standard output ("-").
type Writer struct {
	mu     sync.Mutex
	path   string
	opts   Options
	out    io.Writer
	f      *os.File
	buf    *bufio.Writer
	size   int64
	opened time.Time
	gz     sync.WaitGroup
	stop   chan struct{}
	done   chan struct{}
	err    error // the first write error, reported by Close
	closed sync.Once
}

// Open starts writing to path ("-" for standard output).
func Open(path string, opts Options) (*Writer, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = 100 << 20
	}
	if opts.Keep <= 0 {
		opts.Keep = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Writer{path: path, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	if path == "-" {
		w.out = os.Stdout
		w.buf = bufio.NewWriterSize(w.out, 64<<10)
	} else if err := w.open(); err != nil {
		return nil, err
	}
	go w.flusher()
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.out, w.size, w.opened = f, f, st.Size(), w.opts.Now()
	w.buf = bufio.NewWriterSize(f, 64<<10)
	return nil
}

// flusher writes buffered records out at least every 200 ms, so a tail
// of the log is never far behind.
func (w *Writer) flusher() {
	defer close(w.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.mu.Lock()
			w.note(w.buf.Flush())
			w.mu.Unlock()
		}
	}
}

func (w *Writer) note(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

// Write appends one record.
func (w *Writer) Write(rec *Record) error {
	line, err := Marshal(rec)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil && (w.size+int64(len(line)) > w.opts.MaxSize || w.opts.MaxAge > 0 && w.opts.Now().Sub(w.opened) >= w.opts.MaxAge) && w.size > 0 {
		if err := w.rotate(); err != nil {
			w.note(err)
		}
	}
	n, err := w.buf.Write(line)
	w.size += int64(n)
	w.note(err)
	return err
}

// rotate renames the file aside, opens a new one and gzips the old in
// the background.
func (w *Writer) rotate() error {
	if err := w.buf.Flush(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	aside := fmt.Sprintf("%s.%s", w.path, w.opts.Now().UTC().Format("20060102T150405.000000000"))
	if err := os.Rename(w.path, aside); err != nil {
		return err
	}
	if err := w.open(); err != nil {
		return err
	}
	w.gz.Add(1)
	go func() {
		defer w.gz.Done()
		if err := gzipFile(aside); err != nil {
			w.mu.Lock()
			w.note(err)
			w.mu.Unlock()
			return
		}
		w.prune()
	}()
	return nil
}

func gzipFile(path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(path+".gz", os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		out.Close()
		os.Remove(path + ".gz")
		return err
	}
	if err := zw.Close(); err != nil {
		out.Close()
		os.Remove(path + ".gz")
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Remove(path)
}

// prune keeps the newest Keep rotated files.
func (w *Writer) prune() {
	matches, _ := filepath.Glob(w.path + ".*.gz")
	sort.Strings(matches) // the timestamps sort by time
	for len(matches) > w.opts.Keep {
		os.Remove(matches[0])
		matches = matches[1:]
	}
}

// Rotated lists the rotated files, oldest first.
func (w *Writer) Rotated() []string {
	matches, _ := filepath.Glob(w.path + ".*")
	var out []string
	for _, m := range matches {
		if strings.HasSuffix(m, ".gz") {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// Close flushes, waits for background compression and reports the first
// error any write met. Closing again does nothing more.
func (w *Writer) Close() error {
	w.closed.Do(w.close)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) close() {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	w.note(w.buf.Flush())
	if w.f != nil {
		w.note(w.f.Close())
	}
	w.mu.Unlock()
	w.gz.Wait()
}
