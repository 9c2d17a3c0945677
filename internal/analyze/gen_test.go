package analyze

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/waflog"
)

// TestGenerate: the generated objects sit where AWS WAF puts them, each
// line is a record in AWS's format (decoding into waflog.Record with no
// member left over), the size is near the one asked, and a seed always
// writes the same bytes.
func TestGenerate(t *testing.T) {
	dir, res := generated(t)
	if res.Files != 72 || res.Bytes < 22e6 || res.Bytes > 28e6 {
		t.Errorf("%d files, %d bytes for 25 MB", res.Files, res.Bytes)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "AWSLogs", "111122223333", "WAFLogs", "us-east-1", "shop-acl", "2026", "11", "02", "*", "*", "*.log"))
	if len(files) != 72 {
		t.Fatalf("%d objects in AWS's layout", len(files))
	}
	seen := map[string]bool{}
	var records int64
	for _, f := range files {
		data, _ := os.ReadFile(f)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		last := int64(0)
		for sc.Scan() {
			var r waflog.Record
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("%s: %v\n%s", f, err, sc.Bytes())
			}
			if r.Timestamp < last {
				t.Fatalf("%s: records out of order", f)
			}
			last = r.Timestamp
			seen[r.HTTPRequest.ClientIP] = true
			records++
		}
	}
	if records != res.Records {
		t.Errorf("%d records read, %d written", records, res.Records)
	}
	for _, ip := range append([]string{res.CrawlerIP, res.StuffingIP, res.FloodIPs[0], res.ProxyIPs[0], res.ReputationIPs[0]}, res.FloodIPs...) {
		if !seen[ip] {
			t.Errorf("no request from %s", ip)
		}
	}
	again := t.TempDir()
	if _, err := Generate(context.Background(), again, GenOptions{Seed: 5, Size: 25e6}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(files[17])
	b, _ := os.ReadFile(strings.Replace(files[17], dir, again, 1))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the same seed wrote different records")
	}
}

// TestGenerateSize: what is written is the size asked for, within 2%,
// down to 1 MB, where the scenario's attacks at full scale alone would
// take 8 MB.
func TestGenerateSize(t *testing.T) {
	for _, size := range []int64{1e6, 2.5e6, 7e6, 20e6} {
		dir := t.TempDir()
		res, err := Generate(context.Background(), dir, GenOptions{Seed: 9, Size: size})
		if err != nil {
			t.Fatal(err)
		}
		var onDisk int64
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				info, _ := d.Info()
				onDisk += info.Size()
			}
			return err
		})
		if onDisk != res.Bytes || math.Abs(float64(onDisk-size)) > 0.02*float64(size) {
			t.Errorf("size %d: %d bytes written, %d said", size, onDisk, res.Bytes)
		}
		if res.Records == 0 || len(res.FloodIPs) == 0 {
			t.Errorf("size %d: %d records, flood %v", size, res.Records, res.FloodIPs)
		}
	}
}
