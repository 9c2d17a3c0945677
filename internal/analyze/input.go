package analyze

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	kflate "github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"
)

// Input is one stream of log records: a file, standard input or an S3
// object. Opened streams may be gzipped; the analyzer looks at the first
// bytes, not at the name.
type Input struct {
	// Name is the path, "-" or s3://bucket/key: what messages say.
	Name string
	// Size is the stream's size in bytes as stored (compressed when
	// gzipped), or -1 when unknown.
	Size int64
	open func(ctx context.Context) (io.ReadCloser, error)
	// path is set for a local file: an uncompressed one is read in
	// ranges, in parallel.
	path string
}

// Open opens the stream.
func (in Input) Open(ctx context.Context) (io.ReadCloser, error) { return in.open(ctx) }

// FileInput is a local file.
func FileInput(path string, size int64) Input {
	return Input{Name: path, Size: size, path: path, open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }}
}

// ReaderInput reads r once (standard input). A second Open fails: an
// analysis that reads its inputs twice (--replay) spools it first.
func ReaderInput(name string, r io.Reader) Input {
	var once sync.Once
	return Input{Name: name, Size: -1, open: func(context.Context) (io.ReadCloser, error) {
		var rc io.ReadCloser
		once.Do(func() { rc = io.NopCloser(r) })
		if rc == nil {
			return nil, fmt.Errorf("%s can be read only once", name)
		}
		return rc, nil
	}}
}

// Sources are what Expand needs besides the file system.
type Sources struct {
	Stdin io.Reader
	// S3 lists and opens s3:// locations; nil makes one from the
	// standard AWS configuration when an s3:// argument is given.
	S3 ObjectStore
}

// Expand turns arguments into inputs: files, directories (every regular
// file below them, recursively, in name order, hidden ones left out), "-"
// for standard input and s3://bucket/prefix for every object under the
// prefix.
func Expand(ctx context.Context, args []string, src Sources) ([]Input, error) {
	var out []Input
	stdin := false
	for _, a := range args {
		switch {
		case a == "-":
			if stdin {
				return nil, errors.New("standard input (-) given twice")
			}
			stdin = true
			r := src.Stdin
			if r == nil {
				r = os.Stdin
			}
			out = append(out, ReaderInput("-", r))
		case strings.HasPrefix(a, "s3://"):
			store := src.S3
			if store == nil {
				s, err := NewS3(ctx)
				if err != nil {
					return nil, err
				}
				store, src.S3 = s, s
			}
			objs, err := listS3(ctx, store, a)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		default:
			ins, err := expandPath(a)
			if err != nil {
				return nil, err
			}
			out = append(out, ins...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no input files")
	}
	return out, nil
}

func expandPath(path string) ([]Input, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []Input{FileInput(path, st.Size())}, nil
	}
	var out []Input
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, FileInput(p, info.Size()))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no files", path)
	}
	slices.SortFunc(out, func(a, b Input) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Reopenable reports whether every input can be read a second time.
func Reopenable(ins []Input) bool {
	for _, in := range ins {
		if in.Name == "-" {
			return false
		}
	}
	return true
}

// Spool copies the inputs that can be read only once (standard input)
// to temporary files, so that they can be read again; cleanup removes
// them.
func Spool(ctx context.Context, ins []Input) (out []Input, cleanup func(), err error) {
	var files []string
	cleanup = func() {
		for _, f := range files {
			os.Remove(f)
		}
	}
	out = slices.Clone(ins)
	for i, in := range out {
		if in.Name != "-" {
			continue
		}
		f, err := os.CreateTemp("", "lockgate-analyze-stdin-*")
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		files = append(files, f.Name())
		rc, err := in.Open(ctx)
		if err == nil {
			_, err = io.Copy(f, rc)
			rc.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("copying standard input: %w", err)
		}
		path := f.Name()
		out[i] = Input{Name: "-", Size: -1, open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }}
	}
	return out, cleanup, nil
}

// gunzip undoes gzip, member after member (Firehose concatenates them).
// It is github.com/klauspost/compress's inflate rather than the standard
// library's: the same format and API, decoded in about half the CPU time
// (BenchmarkGunzip measures both), and gzip is most of what an analysis
// of AWS WAF's gzipped objects costs besides the scan. The module is in
// the build already (Prometheus's handler uses its zstd).
var gunzip = gunzipFast

func gunzipFast(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) }

// gunzipStd is the standard library's, for the benchmarks' comparison.
func gunzipStd(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }

// damageNote says which of a damaged input's records were used (verb). A
// stream cut short was read up to the cut; but deflate decodes damaged
// data into other bytes, undetected until the checksum at the end of the
// gzip member or an impossible code, so records decoded before such an
// error may come from the damage. They are counted all the same: blocks
// are scanned as they are decoded, and holding an object's counts back
// until its checksum is verified would cost every object a count of its
// own to merge.
func damageNote(err error, verb string) string {
	var corrupt flate.CorruptInputError
	var kcorrupt kflate.CorruptInputError
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, kgzip.ErrChecksum) || errors.As(err, &corrupt) || errors.As(err, &kcorrupt) {
		return "the records decoded before it were " + verb + ", and those after the damage may be garbage: --strict refuses the input"
	}
	return "the records before it were " + verb
}

// failingReader is an input that fails at its first read.
type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }
