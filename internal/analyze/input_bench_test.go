package analyze

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"
)

// BenchmarkGunzip inflates the generated logs, gzipped, with the standard
// library and with the decoder the analyzer uses, in one run, in MB of
// output per CPU-second:
//
//	go test -run '^$' -bench Gunzip -benchtime 20x ./internal/analyze/
func BenchmarkGunzip(b *testing.B) {
	raw := benchData(b)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z) // as gen and AWS write them: the default level
	zw.Write(raw)
	zw.Close()
	size := int64(len(raw))
	buf := make([]byte, blockSize)
	for _, d := range []struct {
		name string
		f    func(io.Reader) (io.Reader, error)
	}{{"stdlib", gunzipStd}, {"klauspost", gunzipFast}} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(size)
			c0 := cpuTime()
			for b.Loop() {
				zr, err := d.f(bytes.NewReader(z.Bytes()))
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := fill(zr, buf); err != nil {
						break
					}
				}
			}
			reportCPU(b, c0, int(size))
		})
	}
}

// BenchmarkAnalyzeGunzip is BenchmarkAnalyzeDir with each gzip decoder,
// in one run, for logs that are gzipped:
//
//	ANALYZE_DIR=/tmp/b200/gzip go test -run '^$' -bench AnalyzeGunzip -benchtime 5x -count 3 ./internal/analyze/
func BenchmarkAnalyzeGunzip(b *testing.B) {
	dir := os.Getenv("ANALYZE_DIR")
	if dir == "" {
		b.Skip("ANALYZE_DIR is not set")
	}
	ins, err := Expand(b.Context(), []string{dir}, Sources{})
	if err != nil {
		b.Fatal(err)
	}
	size := uncompressedSize(b, ins)
	defer func(f func(io.Reader) (io.Reader, error)) { gunzip = f }(gunzip)
	for _, d := range []struct {
		name string
		f    func(io.Reader) (io.Reader, error)
	}{{"stdlib", gunzipStd}, {"klauspost", gunzipFast}} {
		b.Run(d.name, func(b *testing.B) {
			gunzip = d.f
			b.SetBytes(size)
			c0 := cpuTime()
			for b.Loop() {
				if _, err := Analyze(b.Context(), ins, Options{Header: "X-Forwarded-For", Buffer: 0.5}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, c0, int(size))
		})
	}
}

// BenchmarkAnalyzeRanges is BenchmarkAnalyzeDir with the ranges of
// uncompressed files mapped and read, in one run:
//
//	ANALYZE_DIR=/tmp/b200/plain go test -run '^$' -bench AnalyzeRanges -benchtime 5x -count 3 ./internal/analyze/
func BenchmarkAnalyzeRanges(b *testing.B) {
	dir := os.Getenv("ANALYZE_DIR")
	if dir == "" {
		b.Skip("ANALYZE_DIR is not set")
	}
	ins, err := Expand(b.Context(), []string{dir}, Sources{})
	if err != nil {
		b.Fatal(err)
	}
	size := uncompressedSize(b, ins)
	defer func() { mapRanges = true }()
	for _, mapped := range []bool{true, false} {
		name := "read"
		if mapped {
			name = "mapped"
		}
		b.Run(name, func(b *testing.B) {
			mapRanges = mapped
			b.SetBytes(size)
			c0 := cpuTime()
			for b.Loop() {
				if _, err := Analyze(b.Context(), ins, Options{Header: "X-Forwarded-For", Buffer: 0.5}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, c0, int(size))
		})
	}
}

// uncompressedSize is the inputs' size once decoded.
func uncompressedSize(b *testing.B, ins []Input) int64 {
	var size int64
	for _, in := range ins {
		r, c, err := openRecords(b.Context(), in, nil)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, r)
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
		size += n
	}
	return size
}
