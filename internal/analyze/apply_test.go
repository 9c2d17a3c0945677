package analyze

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/waf"
)

func recs() []Recommendation {
	login := "/login"
	search := "/search"
	return []Recommendation{
		{Name: "UriBasedRule-login", URIPrefix: &login, Limit: 20, WindowSeconds: 300},
		{Name: "UriBasedRule-search", URIPrefix: &search, Limit: 40, WindowSeconds: 120},
		{Name: "BlanketRule", Limit: 900, WindowSeconds: 300},
	}
}

// TestApplyToTheBlogACL: the blog's web ACL already has a /login rule and
// a blanket rule: their limits change in place, the /search rule goes
// before the blanket rule, the IP reputation rule stays first, and the
// old file is kept.
func TestApplyToTheBlogACL(t *testing.T) {
	src, err := os.ReadFile("../../examples/blog/blog-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "blog-acl.json")
	os.WriteFile(path, src, 0o640)
	now := time.Date(2026, 11, 2, 20, 0, 0, 0, time.UTC)
	res, err := Apply(path, recs(), false, now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Updated, ",") != "UriBasedRule,BlanketRule" || strings.Join(res.Added, ",") != "UriBasedRule-search" {
		t.Errorf("updated %v, added %v", res.Updated, res.Added)
	}
	if old, _ := os.ReadFile(res.Backup); string(old) != string(src) || res.Backup != path+".20261102T200000Z.bak" {
		t.Errorf("backup %s differs from the old file", res.Backup)
	}
	data, _ := os.ReadFile(path)
	acl, _, err := waf.Load(data, waf.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range acl.Rules {
		s := r.Name + "@" + itoa(int(r.Priority))
		if rb := r.Statement.RateBasedStatement; rb != nil {
			s += ":" + itoa(int(rb.Limit)) + "/" + itoa(int(rb.EvaluationWindowSec))
		}
		got = append(got, s)
	}
	want := "AWS-AWSManagedRulesAmazonIpReputationList@0 UriBasedRule@1:20/300 UriBasedRule-search@2:40/120 BlanketRule@3:900/300"
	if strings.Join(got, " ") != want {
		t.Errorf("rules:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
}

// TestApplyFormats: a get-web-acl answer keeps SearchString in base64
// (the API's form); a Rules array takes the rules; a file that does not
// load, or a single rule, is refused and left alone.
func TestApplyFormats(t *testing.T) {
	dir := t.TempDir()
	envelope := filepath.Join(dir, "get-web-acl.json")
	os.WriteFile(envelope, []byte(`{"WebACL":{"Name":"w","DefaultAction":{"Allow":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"w"},"Rules":[]},"LockToken":"t"}`), 0o644)
	if _, err := Apply(envelope, recs(), true, time.Now()); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(envelope)
	if !strings.Contains(string(data), `"SearchString": "`+base64.StdEncoding.EncodeToString([]byte("/login"))+`"`) || !strings.Contains(string(data), `"Count": {}`) {
		t.Errorf("envelope:\n%s", data)
	}
	acl, _, err := waf.Load(data, waf.LoadOptions{})
	if err != nil || len(acl.Rules) != 3 {
		t.Fatalf("%v %+v", err, acl)
	}
	// Applying again finds the same rules by name: nothing is added.
	res, err := Apply(envelope, recs(), true, time.Now().Add(time.Second))
	if err != nil || len(res.Added) != 0 || len(res.Updated) != 3 {
		t.Errorf("second apply: %+v %v", res, err)
	}
	array := filepath.Join(dir, "rules.json")
	os.WriteFile(array, []byte(`[]`), 0o644)
	if _, err := Apply(array, recs(), false, time.Now()); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(array)
	if _, format, err := waf.Load(data, waf.LoadOptions{}); err != nil || format != waf.FormatRules || !strings.Contains(string(data), `"SearchString": "/login"`) {
		t.Errorf("rules array: %v\n%s", err, data)
	}
	for name, content := range map[string]string{
		"broken.json": `{"Name":"w","Rules":[{"Name":"x"}]}`,
		"rule.json":   `{"Name":"r","Priority":0,"Action":{"Block":{}},"VisibilityConfig":{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"r"},"Statement":{"RateBasedStatement":{"Limit":100,"AggregateKeyType":"IP"}}}`,
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o644)
		if _, err := Apply(path, recs(), false, time.Now()); err == nil {
			t.Errorf("%s accepted", name)
		}
		if data, _ := os.ReadFile(path); string(data) != content {
			t.Errorf("%s changed", name)
		}
		if m, _ := filepath.Glob(path + ".*.bak"); len(m) != 0 {
			t.Errorf("%s: backup written for a refused change", name)
		}
	}
}

// TestApplyFilePlaces: the backup gets the web ACL file's permissions
// (it holds the same content), and a web ACL file that is a symbolic
// link stays one: the file it points at is updated, atomically, in its
// own directory.
func TestApplyFilePlaces(t *testing.T) {
	src, err := os.ReadFile("../../examples/blog/blog-acl.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mode    os.FileMode
		symlink bool
	}{
		{"private file", 0o600, false},
		{"group-readable file", 0o640, false},
		{"symbolic link to a shared file", 0o640, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			shared := filepath.Join(dir, "shared")
			os.Mkdir(shared, 0o755)
			target := filepath.Join(shared, "acl.json")
			if err := os.WriteFile(target, src, tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(target, tt.mode)
			path := target
			if tt.symlink {
				path = filepath.Join(dir, "acl.json")
				if err := os.Symlink(filepath.Join("shared", "acl.json"), path); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Apply(path, recs(), false, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if st, err := os.Lstat(res.Backup); err != nil || st.Mode() != tt.mode {
				t.Errorf("backup %s: mode %v, %v; want %v", res.Backup, st.Mode(), err, tt.mode)
			}
			if old, _ := os.ReadFile(res.Backup); string(old) != string(src) {
				t.Error("the backup is not the old file")
			}
			if st, err := os.Lstat(path); err != nil || (st.Mode()&os.ModeSymlink != 0) != tt.symlink {
				t.Errorf("%s: %v, %v: a link must stay a link", path, st.Mode(), err)
			}
			st, _ := os.Stat(target)
			data, _ := os.ReadFile(target)
			if st.Mode() != tt.mode || !strings.Contains(string(data), "UriBasedRule-search") {
				t.Errorf("%s: mode %v, updated %v", target, st.Mode(), strings.Contains(string(data), "UriBasedRule-search"))
			}
			if left, _ := filepath.Glob(filepath.Join(shared, ".acl.json.*")); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
