package analyze

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/analyze"
)

// The throughput benchmark runs each engine in a child process (this test
// binary, started again) so that its time, CPU time and peak memory are
// its own:
//
//	cd bench && ANALYZE_BENCH_SIZE=2GB go test -run '^$' -bench Throughput -benchtime 3x -timeout 60m ./analyze/
//
// lockgate is lockgate analyze's whole report (all lists, X-Forwarded-For
// values, recommendations), lockgate-no-header the same without the
// header values (the blog's first query reads no header); duckdb-blog is DuckDB running the blog's
// first query (requests per client IP per 5 minutes); duckdb-report is
// DuckDB running every query of lockgate analyze sql --engine duckdb,
// which together give the same report; read-floor only reads the bytes
// and counts the lines (floor_test.go). ANALYZE_BENCH_DIR keeps the
// generated logs between runs.
func BenchmarkThroughput(b *testing.B) {
	size := os.Getenv("ANALYZE_BENCH_SIZE")
	if size == "" {
		size = "200MB"
	}
	n, err := parseSize(size)
	if err != nil {
		b.Fatal(err)
	}
	dir := os.Getenv("ANALYZE_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "lockgate-analyze-bench-"+size)
	}
	raw, err := benchLogs(dir, n)
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"plain", "gzip"} {
		for _, engine := range []string{"read-floor", "lockgate", "lockgate-no-header", "duckdb-blog", "duckdb-report"} {
			b.Run(format+"/"+engine, func(b *testing.B) {
				b.SetBytes(raw)
				var cpu time.Duration
				var rss int64
				for b.Loop() {
					m, err := child(engine, filepath.Join(dir, format))
					if err != nil {
						b.Fatal(err)
					}
					cpu += m.CPU
					rss = max(rss, m.MaxRSS)
				}
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
			})
		}
	}
}

// benchLogs writes the logs once (plain and gzipped, the same records)
// and returns their size before compression.
func benchLogs(dir string, size int64) (int64, error) {
	marker := filepath.Join(dir, "bytes")
	if b, err := os.ReadFile(marker); err == nil {
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	os.RemoveAll(dir)
	ctx := context.Background()
	res, err := analyze.Generate(ctx, filepath.Join(dir, "plain"), analyze.GenOptions{Seed: 11, Size: size})
	if err != nil {
		return 0, err
	}
	if _, err := analyze.Generate(ctx, filepath.Join(dir, "gzip"), analyze.GenOptions{Seed: 11, Size: size, Gzip: true}); err != nil {
		return 0, err
	}
	return res.Bytes, os.WriteFile(marker, []byte(strconv.FormatInt(res.Bytes, 10)), 0o644)
}

const childEnv = "LOCKGATE_ANALYZE_BENCH_CHILD"

type measure struct {
	Wall    time.Duration
	CPU     time.Duration
	MaxRSS  int64 // bytes
	Records int64
}

func child(engine, dir string) (*measure, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+engine+":"+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", engine, err)
	}
	var m measure
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("%s: %q: %w", engine, out, err)
	}
	return &m, nil
}

// runChild runs one engine over the logs in dir and prints its measure.
func runChild(spec string) int {
	engine, dir, _ := strings.Cut(spec, ":")
	start := time.Now()
	var records int64
	var err error
	switch engine {
	case "lockgate", "lockgate-no-header":
		o := benchOptions()
		if engine == "lockgate-no-header" {
			o.Header = ""
		}
		records, err = runLockgate(dir, o)
	case "duckdb-blog", "duckdb-report":
		records, err = runDuckDB(dir, engine == "duckdb-report")
	case "read-floor":
		records, err = runFloor(dir)
	default:
		err = fmt.Errorf("unknown engine %q", engine)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	hwm, err := peakRSS()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(measure{Wall: time.Since(start), CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		MaxRSS: hwm, Records: records})
	return 0
}

// peakRSS is this process's peak resident set size in bytes: VmHWM of
// /proc/self/status, the high-water mark of the address space the exec
// made. getrusage's ru_maxrss will not do: Linux carries it across exec,
// and os/exec starts the child sharing the parent's address space (vfork),
// so a child started by a benchmark that had just generated 2 GB of logs
// reported the parent's 1 GB as its own.
func peakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("/proc/self/status has no VmHWM line")
}

func benchOptions() analyze.Options { return analyze.Options{Header: "X-Forwarded-For", Buffer: 0.5} }

func runLockgate(dir string, o analyze.Options) (int64, error) {
	ctx := context.Background()
	inputs, err := analyze.Expand(ctx, []string{dir}, analyze.Sources{})
	if err != nil {
		return 0, err
	}
	r, err := analyze.Analyze(ctx, inputs, o)
	if err != nil {
		return 0, err
	}
	return r.Records, nil
}

func runDuckDB(dir string, all bool) (int64, error) {
	ddl, queries, err := analyze.SQL(analyze.SQLOptions{Engine: "duckdb", Location: dir + "/**/*.log*", Options: benchOptions()})
	if err != nil {
		return 0, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.Exec(ddl); err != nil {
		return 0, err
	}
	var records int64
	for _, q := range queries {
		if !all && q.Name != "top_ips" {
			continue
		}
		rows, err := db.Query(q.SQL)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			records++
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		rows.Close()
	}
	return records, nil
}

// parseSize reads 2GB or 200MB.
func parseSize(s string) (int64, error) {
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"GB", 1e9}, {"MB", 1e6}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int64(f * u.mult), err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
