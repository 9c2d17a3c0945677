package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/cpustat"
	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/internal/storetest"
)

// BenchmarkLockCheckHTTP drives the lock check over real HTTP on loopback
// from 64 concurrent clients, every answer backed by a committed attempt
// record, beside a trivial Go handler measured the same way in the same
// run. It reports requests per second, the 99th percentile latency, CPU
// per request and how much of the machine was left idle.
//
//	go test -run '^$' -bench LockCheckHTTP -benchtime 20000x ./internal/httpapi/
func BenchmarkLockCheckHTTP(b *testing.B) {
	// The process runs with the garbage collector's target lockgate
	// serve sets (server.TuneGC), the trivial handler's run included.
	if set, _ := server.TuneGC(os.Getenv); set != 0 {
		defer debug.SetGCPercent(100)
	}
	body := []byte(`{"userIP":"203.0.113.7","userDevice":"Mozilla/5.0","userLocation":"","integrationType":"awsiamuser","integrationData":{"k":"v"}}`)
	b.Run("trivial-handler", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"locked":false,"status":"unlocked","message":"","sessionID":"x"}` + "\n"))
		}))
		defer srv.Close()
		load(b, srv.URL+"/api/v1/lock-check", "", body, nil)
	})
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run("lockgate-"+backend, func(b *testing.B) {
			var dbCPU func() time.Duration
			var edit func(*server.Config)
			if backend == "postgres" {
				// The store's connections are named, so that the
				// PostgreSQL backends serving them can be found.
				name := fmt.Sprintf("lockgate_bench_%d", time.Now().UnixNano())
				edit = func(c *server.Config) { c.DatabaseURL += "&application_name=" + name }
				dbCPU = func() time.Duration { return storetest.PostgresCPU(b, name) }
			}
			a := newAPIWith(b, backend, edit, server.Options{})
			app := a.createApp("bench", "https://bench.example")
			tok := a.token(app.SigningKey.Secret, "https://bench.example", "alice")
			load(b, a.srv.URL+"/api/v1/lock-check", tok, body, dbCPU)
		})
	}
}

// load sends b.N requests from 64 concurrent clients and reports req/s,
// latencies and CPU per request; dbCPU, when not nil, is the CPU time a
// database server has used for this store so far, reported per request
// too.
func load(b *testing.B, url, token string, body []byte, dbCPU func() time.Duration) {
	const clients = 64
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		next      = make(chan struct{}, clients)
		wg        sync.WaitGroup
	)
	// One request before timing fills the server's caches (signing key,
	// account, settings): otherwise all the clients miss them at once and
	// each takes a database connection, which on a PostgreSQL shared with
	// other work can exceed its max_connections.
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("x-nl3-authorization-token", token)
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("warm-up: status %d", resp.StatusCode)
	}
	var db0 time.Duration
	if dbCPU != nil {
		db0 = dbCPU()
	}
	b.ResetTimer()
	idle0, host0 := idleCPU(), hostIdle()
	cpu0 := cpustat.Process()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, b.N/clients+1)
			for range next {
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("x-nl3-authorization-token", token)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	for range b.N {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpustat.Process() - cpu0
	idle := idleCPU() - idle0
	host := hostIdle().sub(host0)
	b.StopTimer()
	var dbUsed time.Duration
	if dbCPU != nil {
		dbUsed = dbCPU() - db0
	}
	slices.Sort(latencies)
	if len(latencies) == 0 {
		return
	}
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	// CPU time per request (server and load generator, this process
	// only: not PostgreSQL's) moves far less than req/s when other work
	// shares the machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(latencies)), "cpu-us/op")
	// The share of the process's Ps (GOMAXPROCS × the run) left idle:
	// time the cores could have worked but no goroutine was runnable.
	b.ReportMetric(100*idle/(elapsed.Seconds()*float64(runtime.GOMAXPROCS(0))), "p-idle-%")
	// The machine's idle and iowait shares over the run (Linux; the
	// other processes' work included): a P held by a goroutine blocked
	// in a system call (fsync) is busy to the runtime but idle here.
	if host.total > 0 {
		b.ReportMetric(100*float64(host.idle)/float64(host.total), "host-idle-%")
		b.ReportMetric(100*float64(host.iowait)/float64(host.total), "host-iowait-%")
		// The whole machine's busy CPU per request: it counts work the
		// kernel does for the process in its own threads (an
		// asynchronous fsync) and PostgreSQL's, and every other
		// process's too.
		busy := time.Duration(host.total-host.idle-host.iowait) * time.Second / clockTicks
		b.ReportMetric(float64(busy.Microseconds())/float64(len(latencies)), "host-cpu-us/op")
	}
	if dbUsed > 0 {
		// PostgreSQL's share of the same two cores, which cpu-us/op leaves
		// out: its CPU time at clock-tick resolution, so meaningful over
		// thousands of requests.
		b.ReportMetric(float64(dbUsed.Microseconds())/float64(len(latencies)), "pg-cpu-us/op")
	}
}

// idleCPU returns the runtime's estimate of the CPU time its Ps have been
// idle since the process started, in seconds.
func idleCPU() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/idle:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64()
}

// clockTicks is the unit of /proc/stat's times (USER_HZ), 100 on Linux.
const clockTicks = 100

// cpuTicks is the machine's CPU time from /proc/stat, in clock ticks.
type cpuTicks struct{ idle, iowait, total int64 }

func (t cpuTicks) sub(u cpuTicks) cpuTicks {
	return cpuTicks{t.idle - u.idle, t.iowait - u.iowait, t.total - u.total}
}

// hostIdle reads the machine's CPU times, or zero where there is no
// /proc/stat.
func hostIdle() cpuTicks {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return cpuTicks{}
	}
	var t cpuTicks
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch i {
		case 3:
			t.idle = n
		case 4:
			t.iowait = n
		}
		if i < 8 { // user nice system idle iowait irq softirq steal
			t.total += n
		}
	}
	return t
}
