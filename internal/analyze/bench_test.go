package analyze

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The scanner and the counting on one generated object, in one goroutine:
//
//	go test -run '^$' -bench 'Scan' -benchtime 20x ./internal/analyze/
//
// MB/cpu-s is the figure to compare on a busy machine. The whole command
// against DuckDB is in bench/analyze.
func benchData(b *testing.B) []byte {
	dir, _ := generated(&testing.T{})
	files, _ := filepath.Glob(filepath.Join(dir, "AWSLogs", "*", "WAFLogs", "*", "*", "2026", "11", "02", "17", "*", "*.log"))
	if len(files) == 0 {
		b.Fatal("no generated logs")
	}
	var data []byte
	for _, f := range files {
		d, _ := os.ReadFile(f)
		data = append(data, d...)
	}
	return data
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, bytes int) {
	b.ReportMetric(float64(bytes)*float64(b.N)/(cpuTime()-start).Seconds()/1e6, "MB/cpu-s")
}

func BenchmarkScan(b *testing.B) { benchScan(b, false) }

// BenchmarkByteScan is the scanner without stage one (the index of
// quotes and brackets), for a comparison within one run.
func BenchmarkByteScan(b *testing.B) { benchScan(b, true) }

func benchScan(b *testing.B, slow bool) {
	data := benchData(b)
	b.SetBytes(int64(len(data)))
	sc := &scanner{slow: slow}
	c0 := cpuTime()
	for b.Loop() {
		*sc = scanner{full: data, f: fields{hdr: sc.f.hdr[:0]}, keys: sc.keys, idx: sc.idx, slow: sc.slow}
		for {
			start, err := sc.next()
			if start < 0 {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	reportCPU(b, c0, len(data))
}

// BenchmarkScanCount is the scanner and the counting, without and with
// a header's values wanted (the whole report reads X-Forwarded-For).
func BenchmarkScanCount(b *testing.B) {
	data := benchData(b)
	for _, h := range []string{"", "x-forwarded-for"} {
		b.Run("header="+h, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			p := &pass{winMs: 300000, flt: (&Options{}).filter(), header: []byte(h)}
			sc := &scanner{header: p.header}
			c0 := cpuTime()
			for b.Loop() {
				p.scan(sc, newAgg(300000, 1<<30), chunk{data: data})
			}
			reportCPU(b, c0, len(data))
		})
	}
}

// BenchmarkAnalyzeDir is the whole report over the logs under
// $ANALYZE_DIR (skipped when unset), in this process, in MB of
// uncompressed logs per CPU-second:
//
//	ANALYZE_DIR=/tmp/b200/plain go test -run '^$' -bench AnalyzeDir -benchtime 3x ./internal/analyze/
func BenchmarkAnalyzeDir(b *testing.B) {
	dir := os.Getenv("ANALYZE_DIR")
	if dir == "" {
		b.Skip("ANALYZE_DIR is not set")
	}
	ins, err := Expand(b.Context(), []string{dir}, Sources{})
	if err != nil {
		b.Fatal(err)
	}
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
	// ANALYZE_HEADER=none measures the analysis asked for no header.
	header := "X-Forwarded-For"
	if h := os.Getenv("ANALYZE_HEADER"); h == "none" {
		header = ""
	} else if h != "" {
		header = h
	}
	b.SetBytes(size)
	c0 := cpuTime()
	for b.Loop() {
		if _, err := Analyze(b.Context(), ins, Options{Header: header, Buffer: 0.5}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0, int(size))
}

// BenchmarkIndex is stage one alone over a record's worth of header
// objects in the first-level cache: the AVX2 routine (on amd64 with
// AVX2) and the portable one.
func BenchmarkIndex(b *testing.B) {
	line := bytes.Repeat([]byte(`{"name":"Host","value":"shop.example.com"},`), 31)
	line = line[:len(line)/64*64]
	m := make([]uint64, 3*len(line)/64)
	for _, f := range []struct {
		name string
		f    func([]byte, []uint64) (bool, bool)
	}{{"best", indexBlocks}, {"go", indexBlocksGo}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			c0 := cpuTime()
			for b.Loop() {
				f.f(line, m)
			}
			reportCPU(b, c0, len(line))
		})
	}
}

// BenchmarkIPNumbers numbers client IPs as the counting does, a million
// lookups among 300,000 addresses (tables larger than the caches, as on
// gigabytes of logs): through v4Table, and through the string table
// alone as before it.
func BenchmarkIPNumbers(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	ips := make([][]byte, 1<<20)
	for i := range ips {
		n := rng.Uint32N(300000) * 2654435761
		ips[i] = netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).AppendTo(nil)
	}
	b.Run("v4table", func(b *testing.B) {
		a := newAgg(300000, 1<<30)
		c0 := cpuTime()
		for b.Loop() {
			for _, ip := range ips {
				a.ipID(ip)
			}
		}
		b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N*len(ips)), "cpu-ns/ip")
	})
	b.Run("strings", func(b *testing.B) {
		t := newIntern()
		c0 := cpuTime()
		for b.Loop() {
			for _, ip := range ips {
				if _, h, ok := t.find(ip); !ok && validIP(ip) {
					t.add(string(ip), h)
				}
			}
		}
		b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N*len(ips)), "cpu-ns/ip")
	})
}
