package geo_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/geo/geotest"
)

func TestProvisionProblems(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	os.WriteFile(garbage, []byte("no"), 0o644)
	for _, tt := range []struct {
		cfg  geo.Config
		want []string
	}{
		{geo.Config{}, nil},
		{geo.Config{DatabaseFile: config.Path(filepath.Join(dir, "missing.mmdb"))}, []string{"database_file: ", "no such file"}},
		{geo.Config{DatabaseFile: config.Path(garbage)}, []string{"database_file: ", "not a MaxMind DB file"}},
		{geo.Config{ReloadInterval: -1}, []string{"reload_interval: must not be negative"}},
	} {
		_, probs := geo.Provision(tt.cfg, nil)
		got := probs.Error()
		if len(tt.want) == 0 && len(probs) > 0 {
			t.Errorf("%+v: %v", tt.cfg, probs)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v: %q lacks %q", tt.cfg, got, w)
			}
		}
	}
	if _, err := geo.Open(geo.Config{DatabaseFile: config.Path(garbage)}, nil); err == nil {
		t.Error("Open accepted a broken file")
	}
}

func TestEmbeddedDB(t *testing.T) {
	db, err := geo.Open(geo.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if db.Source() != geo.SourceEmbedded || db.File() != "" {
		t.Errorf("source %q file %q", db.Source(), db.File())
	}
	if cc, region := db.Locate(netip.MustParseAddr("8.8.8.8")); cc != "US" || region != "" {
		t.Errorf("Locate = %q %q", cc, region)
	}
	if db.Reload() {
		t.Error("the embedded data reloaded")
	}
	if err := db.Run(t.Context()); err != nil {
		t.Error(err)
	}
	var none *geo.DB
	if _, err := none.Lookup(netip.MustParseAddr("8.8.8.8")); err != geo.ErrNoDatabase {
		t.Errorf("nil DB: %v", err)
	}
}

// A new file is swapped in without a restart; a broken one is refused
// (once in the log) and the one in use kept.
func TestReload(t *testing.T) {
	path := geotest.Write(t, geotest.Country, geotest.Records)
	var logs bytes.Buffer
	db, err := geo.Open(geo.Config{DatabaseFile: config.Path(path)}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("81.2.69.142")
	if loc, _ := db.Lookup(ip); loc != (geo.Location{Country: "GB"}) || db.Source() != "GeoLite2-Country" {
		t.Fatalf("before: %+v from %s", loc, db.Source())
	}
	if db.Reload() {
		t.Error("an unchanged file reloaded")
	}
	moved := []geotest.Record{{Network: "81.2.69.0/24", Country: "IE", Region: "D", City: "Dublin"}}
	geotest.WriteFile(t, path, geotest.City, moved)
	if !db.Reload() {
		t.Fatal("a new file was not loaded")
	}
	if got, _ := db.Lookup(ip); got != loc("IE", "IE-D", "Dublin") || db.Source() != "GeoLite2-City" {
		t.Errorf("after: %+v from %s", got, db.Source())
	}
	if err := os.WriteFile(path+".tmp", []byte("half a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Rename(path+".tmp", path)
	for range 3 {
		if db.Reload() {
			t.Error("a broken file was loaded")
		}
	}
	if loc, _ := db.Lookup(ip); loc.Country != "IE" {
		t.Errorf("the database in use was dropped: %+v", loc)
	}
	if n := strings.Count(logs.String(), "refused"); n != 1 {
		t.Errorf("refusal logged %d times:\n%s", n, logs.String())
	}
	os.Remove(path)
	if db.Reload() {
		t.Error("a missing file reloaded")
	}
	if loc, _ := db.Lookup(ip); loc.Country != "IE" {
		t.Errorf("a deleted file dropped the database: %+v", loc)
	}
}

// Run notices a new file on its own at the next tick (fake time: the
// test's bubble advances the clock only when every goroutine waits).
func TestRunWatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := geotest.Write(t, geotest.Country, geotest.Records)
		db, err := geo.Open(geo.Config{DatabaseFile: config.Path(path), ReloadInterval: config.Duration(time.Minute)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- db.Run(ctx) }()
		geotest.WriteFile(t, path, geotest.City, geotest.Records)
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if db.Source() != "GeoLite2-Country" {
			t.Fatal("reloaded before the interval")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if db.Source() != "GeoLite2-City" {
			t.Fatal("not reloaded after the interval")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
