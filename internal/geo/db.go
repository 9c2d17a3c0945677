package geo

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/problem"
)

// Config is the geo section of the configuration file.
type Config struct {
	// DatabaseFile is a MaxMind-format database (GeoLite2/GeoIP2 Country
	// or City, DB-IP lite). Empty: the embedded IP2Location LITE country
	// data.
	DatabaseFile config.Path `yaml:"database_file" env:"LOCKGATE_GEO_DATABASE_FILE"`
	// ReloadInterval is how often the file is checked for a new version
	// (default 1m). A new file is read, checked and swapped in without a
	// restart; a broken one is refused and the previous one kept.
	ReloadInterval config.Duration `yaml:"reload_interval" env:"LOCKGATE_GEO_RELOAD_INTERVAL"`
}

// DefaultReloadInterval is how often DB.Run looks at the file by default.
const DefaultReloadInterval = time.Minute

// backend is one loaded database.
type backend interface {
	Locator
	Source() string
}

// DB is lockgate's geolocation database: the embedded data, or a
// MaxMind-format file that it reloads when the file changes. It is safe
// for concurrent use and a lookup allocates nothing.
//
// Reloading is a component with Run (a watcher), not a check on every
// read: a lookup stays a tree walk with no system call, as the gateway
// needs on every request, and the cost of noticing a new file (one stat
// a minute) does not fall on any request. The watcher compares the file's
// identity, size and modification time, so both geoipupdate's rename
// and a copy over the file are seen.
type DB struct {
	cur      atomic.Pointer[loaded]
	path     string
	interval time.Duration
	log      *slog.Logger

	mu   sync.Mutex // serialises reloads
	stat os.FileInfo
	// refused is the version of the file last refused and lastErr why,
	// so a broken file is read and logged once, not every tick.
	refused os.FileInfo
	lastErr string
}

type loaded struct{ b backend }

// Provision checks the section and loads the database it names, so that
// a missing or unreadable file is reported before lockgate starts.
// Problems carry paths relative to the section.
func Provision(c Config, log *slog.Logger) (*DB, problem.List) {
	var probs problem.List
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &DB{path: string(c.DatabaseFile), interval: c.ReloadInterval.Std(), log: log}
	if d.interval == 0 {
		d.interval = DefaultReloadInterval
	}
	if c.ReloadInterval < 0 {
		probs.Add("reload_interval", "must not be negative")
	}
	if d.path == "" {
		d.cur.Store(&loaded{b: Embedded{}})
		return d, probs
	}
	fi, err := os.Stat(d.path)
	if err == nil {
		var m *MMDB
		if m, err = OpenMMDB(d.path); err == nil {
			d.stat = fi
			d.cur.Store(&loaded{b: m})
		}
	}
	if err != nil {
		probs.Addf("database_file", "%v", err)
	}
	return d, probs
}

// Open is Provision for callers that want an error: lockgate's commands
// and the Lambda functions.
func Open(c Config, log *slog.Logger) (*DB, error) {
	d, probs := Provision(c, log)
	if len(probs) > 0 {
		return nil, probs.Err()
	}
	return d, nil
}

// Default is the embedded database, for callers without a configuration.
var Default = NewDB(Embedded{}, SourceEmbedded)

// NewDB returns a DB answering from l (for tests and embedders).
func NewDB(l Locator, source string) *DB {
	d := &DB{interval: DefaultReloadInterval, log: slog.New(slog.DiscardHandler)}
	d.cur.Store(&loaded{b: named{l, source}})
	return d
}

type named struct {
	Locator
	source string
}

func (n named) Source() string { return n.source }

// Lookup implements Locator.
func (d *DB) Lookup(ip netip.Addr) (Location, error) {
	if d == nil {
		return Location{}, ErrNoDatabase
	}
	l := d.cur.Load()
	if l == nil {
		return Location{}, ErrNoDatabase
	}
	return l.b.Lookup(ip)
}

// Locate returns the country and the ISO 3166-2 subdivision code without
// its country prefix ("US", "CA"), "" for what is unknown or when the
// database cannot answer: what the waf engine's GeoMatch statements and
// region labels need.
func (d *DB) Locate(ip netip.Addr) (country, region string) {
	l, err := d.Lookup(ip)
	if err != nil {
		return "", ""
	}
	return l.Country, l.RegionCode()
}

// Country returns the country of ip, "" when unknown.
func (d *DB) Country(ip netip.Addr) string {
	c, _ := d.Locate(ip)
	return c
}

// Source names the database in use: SourceEmbedded, or the MaxMind
// database's type ("GeoLite2-City").
func (d *DB) Source() string {
	if d == nil {
		return ""
	}
	if l := d.cur.Load(); l != nil {
		return l.b.Source()
	}
	return ""
}

// File is the database file watched, "" for the embedded data.
func (d *DB) File() string { return d.path }

// Run watches the database file and swaps in each new version until ctx
// ends. Without a file it returns at once.
func (d *DB) Run(ctx context.Context) error {
	if d.path == "" {
		return nil
	}
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			d.Reload()
		}
	}
}

// Reload looks at the file once and loads it if it changed since the
// version in use. It reports whether a new version was swapped in. A
// file that cannot be read as a database is refused (logged once) and the
// version in use kept: lookups never see a half-written file.
func (d *DB) Reload() bool {
	if d.path == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fi, err := os.Stat(d.path)
	if err != nil {
		d.refuse(err)
		return false
	}
	if same(fi, d.stat) || same(fi, d.refused) {
		return false
	}
	m, err := OpenMMDB(d.path)
	if err != nil {
		d.refused = fi
		d.refuse(err)
		return false
	}
	d.stat, d.refused, d.lastErr = fi, nil, ""
	d.cur.Store(&loaded{b: m})
	d.log.Info("geo: database reloaded", "file", d.path, "source", m.Source())
	return true
}

// refuse logs why a file was not loaded, once for each reason.
func (d *DB) refuse(err error) {
	if err.Error() == d.lastErr {
		return
	}
	d.lastErr = err.Error()
	d.log.Error("geo: database file refused; keeping the database in use", "file", d.path, "error", err)
}

// same reports whether two stats describe the same version of a file.
func same(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
