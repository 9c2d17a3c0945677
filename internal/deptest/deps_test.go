// Package deptest pins lockgate's architecture: which packages may import
// what. A rule here fails the build's tests the day a package picks up a
// dependency the design forbids, in the manner of tailscale's
// tstest/deptest.
package deptest

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/lockgate/lockgate"

type pkg struct {
	ImportPath string
	Standard   bool
	Deps       []string
}

// deps lists the transitive non-test dependencies of pattern's packages.
func deps(t *testing.T, pattern string) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Deps", pattern)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	all := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		all[p.ImportPath] = p
	}
	return all
}

// rule says what the packages under Root (and their subpackages) may
// depend on, transitively, besides the standard library.
type rule struct {
	Root string
	// Allowed lists module paths or package prefixes the root may reach.
	Allowed []string
	// Banned lists packages (standard library included) it must not reach.
	Banned []string
	// Except lists subpackages (relative to the module) the rule does not
	// cover: opt-in adapters with dependencies of their own.
	Except []string
	why    string
}

var rules = []rule{
	{Root: "internal/config", Allowed: []string{module + "/internal/config", module + "/problem", "go.yaml.in/yaml/v3"},
		why: "config is data: it imports no component and no AWS SDK"},
	{Root: "problem", Allowed: []string{module + "/problem"}, why: "problem is a leaf every validator uses"},
	{Root: "iampolicy", Allowed: []string{module + "/iampolicy", module + "/internal/jsontree", module + "/problem"},
		why: "iampolicy is a public library: the standard library and its own packages only"},
	{Root: "waf", Allowed: []string{module + "/waf", module + "/internal/jsontree", module + "/problem",
		"github.com/corazawaf/libinjection-go", "github.com/gaissmai/bart"},
		Except: []string{"waf/ratelimit/redisstore"},
		why:    "waf is a public library: no Redis, no AWS SDK; SQLi/XSS detection and the IP table are its only dependencies (Redis counters are the opt-in waf/ratelimit/redisstore)"},
	{Root: "lockclient", Allowed: []string{module + "/lockclient", "github.com/golang-jwt/jwt/v5"},
		why: "lockclient is what integrations import: JWT signing only"},
	{Root: "webhook", Allowed: []string{module + "/webhook"},
		why: "webhook is what receivers import to verify deliveries: the standard library only"},
	{Root: "internal/lock", Banned: []string{"net/http", "database/sql"}, Allowed: []string{""},
		why: "the domain knows nothing of HTTP or SQL: handlers translate HTTP, stores implement its interfaces"},
	{Root: "internal/endpoint", Allowed: []string{module + "/internal/endpoint"}, why: "a leaf of route descriptions"},
	{Root: "internal/httpjson", Allowed: []string{module + "/internal/httpjson"}, why: "a leaf of JSON answers"},
	{Root: "cmd/lockgate", Banned: []string{"github.com/maxmind/mmdbwriter"}, Allowed: []string{""},
		why: "mmdbwriter writes the tests' MaxMind databases (internal/geo/geotest): the binary never ships it"},
}

func TestDependencies(t *testing.T) {
	all := deps(t, "./...")
	for _, r := range rules {
		root := module + "/" + r.Root
		found := false
		for path, p := range all {
			if path != root && !strings.HasPrefix(path, root+"/") {
				continue
			}
			if excepted(path, r.Except) {
				continue
			}
			found = true
			reported := map[string]bool{}
			for _, d := range p.Deps {
				dp := all[d]
				if slices.Contains(r.Banned, d) {
					t.Errorf("%s imports %s (%s)", path, d, r.why)
					continue
				}
				if dp.Standard || r.Allowed == nil || slices.Contains(r.Allowed, "") {
					continue
				}
				if !allowed(d, r.Allowed) && !reported[modulePath(d)] {
					reported[modulePath(d)] = true
					t.Errorf("%s depends on %s (%s)", path, d, r.why)
				}
			}
		}
		if !found {
			t.Errorf("rule for %s matches no package: update the rule", r.Root)
		}
	}
}

func allowed(dep string, prefixes []string) bool {
	for _, p := range prefixes {
		if dep == p || strings.HasPrefix(dep, p+"/") {
			return true
		}
	}
	return false
}

func excepted(path string, except []string) bool {
	for _, e := range except {
		if path == module+"/"+e || strings.HasPrefix(path, module+"/"+e+"/") {
			return true
		}
	}
	return false
}

// modulePath shortens a package path to what names its module, so that a
// forbidden module is reported once, not once per package.
func modulePath(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) > 3 && strings.Contains(parts[0], ".") {
		return strings.Join(parts[:3], "/")
	}
	return p
}
