package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/gateway"
)

// atk9f F24: with Redis unreachable the gateway counts rate limits per
// process (the documented degradation), but /readyz said "ready" and
// go-redis wrote its own unstructured lines several times a second. Redis
// is an optional component: /readyz reports it (200, status "degraded":
// taking every replica out of rotation would make its outage a whole
// one), and go-redis's lines go through slog.
func TestReadyzReportsRedisDown(t *testing.T) {
	cfg := testConfig(t)
	cfg.Gateway.Listen = "127.0.0.1:0"
	cfg.Gateway.Routes = []gateway.RouteConfig{{Name: "app", Upstreams: []string{"http://127.0.0.1:9"}}}
	cfg.WAF.RedisURL = "redis://127.0.0.1:1/0" // nothing listens there
	var logs syncBuffer
	s, err := Open(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Options{})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + serve(t, s) + "/readyz"
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Status   string            `json:"status"`
			Degraded map[string]string `json:"degraded"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/readyz %d: Redis is optional", resp.StatusCode)
		}
		if body.Status == "degraded" {
			if !strings.Contains(body.Degraded["redis"], "not answering") {
				t.Errorf("degraded %v does not name Redis", body.Degraded)
			}
			break
		}
		if body.Status != "ready" {
			t.Fatalf("status %q", body.Status)
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("/readyz never reported Redis down")
		}
	}
	// go-redis's lines are in the log, in its format (JSON here).
	if out := logs.String(); !strings.Contains(out, `"level":"DEBUG","msg":"redis: connection pool: failed to dial`) {
		t.Errorf("go-redis's dial failures are not in the log:\n%s", out)
	}
}

// syncBuffer is a log destination the server's goroutines share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
