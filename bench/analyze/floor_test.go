package analyze

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	kgzip "github.com/klauspost/compress/gzip"
)

// runFloor is the read-floor engine: what any engine must spend to get
// the logs' bytes and find their lines, and nothing else. It reads every
// file under dir with one worker per CPU (as lockgate analyze and DuckDB
// use both cores), through a 1 MiB buffer a worker reuses, gunzipping
// .gz files with the inflate lockgate uses (klauspost's), and counts the
// line ends. No JSON is looked at: an engine that parses and counts can
// only be slower, so this bounds what the throughput goal can ask of this
// machine.
func runFloor(dir string) (int64, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	var (
		next  atomic.Int64
		lines atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) {
					return
				}
				n, err := countLines(files[i], buf)
				if err != nil {
					once.Do(func() { first = err })
					return
				}
				lines.Add(n)
			}
		}()
	}
	wg.Wait()
	return lines.Load(), first
}

func countLines(path string, buf []byte) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := kgzip.NewReader(f)
		if err != nil {
			return 0, err
		}
		r = z
	}
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
