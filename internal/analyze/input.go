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
	// skip, when set, says why an entry of a directory is not read (a
	// symbolic link that leads nowhere, a named pipe): the analysis
	// reports it beside the damaged inputs, an error with --strict.
	skip string
	// found is set for a file met in a directory rather than named: one
	// that cannot be opened when its turn comes (its mode, or it was
	// removed since the walk) is reported as not read, as an entry that
	// is no regular file is, rather than ending the analysis.
	found bool
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
//
// Symbolic links are followed, those named and those met in directories,
// as `find -L` does: logs are often gathered by linking directories
// together. A file is read once, under the first name met, however many
// paths lead to it (a `latest.log` linked to a dated file, a file named
// twice, a directory and a file inside it), and a directory is walked
// once, which ends a loop of links. What a directory holds but cannot be
// read as a log (a link that leads nowhere, a named pipe, a socket) is
// not silently passed over: it is an input that reports why it was not
// read.
func Expand(ctx context.Context, args []string, src Sources) ([]Input, error) {
	var out []Input
	stdin := false
	e := &expander{seen: map[any]bool{}}
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
			// Standard input redirected from a file is that file: read
			// once, as every file is, whether it is named before (its own
			// name) or after (its name, /dev/stdin).
			if f, ok := r.(*os.File); ok {
				if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && !e.first(st) {
					continue
				}
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
			ins, err := e.path(a)
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

// expander expands paths, each file and directory once.
type expander struct {
	seen   map[any]bool  // files and directories met, by identity (fileID)
	others []fs.FileInfo // where the system gives no identity
	files  int           // regular files met, read or met before
}

// first reports whether the file or directory of info is met for the
// first time.
func (e *expander) first(info fs.FileInfo) bool {
	if id, ok := fileID(info); ok {
		if e.seen[id] {
			return false
		}
		e.seen[id] = true
		return true
	}
	for _, o := range e.others {
		if os.SameFile(o, info) {
			return false
		}
	}
	e.others = append(e.others, info)
	return true
}

func (e *expander) path(path string) ([]Input, error) {
	st, err := os.Stat(path) // a symbolic link is followed
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if !e.first(st) {
			return nil, nil // named before
		}
		return []Input{FileInput(path, st.Size())}, nil
	}
	if !e.first(st) {
		return nil, nil // named before, or inside a directory named before
	}
	var out []Input
	files := e.files
	if err := e.dir(path, &out); err != nil {
		return nil, err
	}
	var skipped []string
	for _, in := range out {
		if in.skip != "" {
			skipped = append(skipped, in.Name+" ("+in.skip+")")
		}
	}
	if e.files == files {
		msg := path + ": no files"
		if len(skipped) > 0 {
			msg += "; not read: " + strings.Join(skipped, ", ")
		}
		return nil, errors.New(msg)
	}
	slices.SortFunc(out, func(a, b Input) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// dir adds the files below dir to out.
func (e *expander) dir(dir string, out *[]Input) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		// What was listed before the failure is read; the directory is
		// reported (a directory gathered from several sources often
		// holds one that only its owner may list).
		*out = append(*out, skippedInput(dir, "not read: "+reason(err)))
	}
	for _, d := range ents {
		if strings.HasPrefix(d.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, d.Name())
		var info fs.FileInfo
		if d.Type()&fs.ModeSymlink != 0 {
			if info, err = os.Stat(p); err != nil {
				target, _ := os.Readlink(p)
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				*out = append(*out, skippedInput(p, fmt.Sprintf("not read: a symbolic link to %s: %v", target, err)))
				continue
			}
			if fsys := pseudoFS(p); fsys != "" {
				target, _ := os.Readlink(p)
				*out = append(*out, skippedInput(p, fmt.Sprintf("not read: a symbolic link to %s, on the kernel's %s file system; name it to read it", target, fsys)))
				continue
			}
		} else if info, err = d.Info(); err != nil {
			// Removed since the directory was listed, or a path the
			// system refuses (longer than PATH_MAX).
			*out = append(*out, skippedInput(p, "not read: "+reason(err)))
			continue
		}
		switch {
		case info.IsDir():
			if !e.first(info) {
				continue // a loop of links, or a second way to the same directory
			}
			if err := e.dir(p, out); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			e.files++
			if e.first(info) {
				in := FileInput(p, info.Size())
				in.found = true
				*out = append(*out, in)
			}
		default:
			*out = append(*out, skippedInput(p, "not read: not a regular file ("+fileKind(info.Mode())+"); name it to read it"))
		}
	}
	return nil
}

func skippedInput(path, why string) Input {
	return Input{Name: path, Size: 0, skip: why, open: func(context.Context) (io.ReadCloser, error) { return nil, errors.New(path + ": " + why) }}
}

// reason is why a path could not be read, without the path and the
// system call that a *fs.PathError repeats.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// fileKind names what a directory entry is when it is no regular file.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
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
