package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/lockgate/lockgate/lockclient"
)

// listShape runs a list command with 0, 1 and 2 items (add makes item n)
// and wants {"items": [...]} of that length in JSON and YAML every time.
type listShape struct {
	name string
	env  []string // beyond the admin's
	args []string
	add  func(n int)
	base int // items there before the first add
}

func (l listShape) check(t *testing.T, must func(env []string, args ...string) string) {
	t.Helper()
	for n := 0; n <= 2; n++ {
		if n > 0 {
			l.add(n)
		}
		var j struct {
			Items []json.RawMessage `json:"items"`
		}
		out := must(l.env, append(l.args, "-o", "json")...)
		if err := json.Unmarshal([]byte(out), &j); err != nil || j.Items == nil {
			t.Fatalf("%s, %d items: not {\"items\": [...]}: %v\n%s", l.name, n, err, out)
		}
		if len(j.Items) != l.base+n {
			t.Fatalf("%s: %d items made, %d listed: %s", l.name, l.base+n, len(j.Items), out)
		}
		var y struct {
			Items []any `yaml:"items"`
		}
		out = must(l.env, append(l.args, "-o", "yaml")...)
		if err := yaml.Unmarshal([]byte(out), &y); err != nil || len(y.Items) != len(j.Items) {
			t.Fatalf("%s, yaml: %v\n%s", l.name, err, out)
		}
	}
}

// The list commands TestListShapesDoNotDependOnLength does not reach:
// those that start non-empty, the owner's, integration events, attempts,
// the bulk lock commands and the gateway's limited keys.
func TestMoreListShapes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks" { // the authorizer's issuer: no keys needed to list groups
			w.Write([]byte(`{"keys":[]}`))
		}
	}))
	defer upstream.Close()
	gw := freeAddr(t)
	for _, f := range []string{"blog-acl.json", "reputation.txt"} {
		data, err := os.ReadFile("../../examples/blog/" + f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o600)
	}
	cfg := fmt.Sprintf("data_dir: %s\ngateway:\n  listen: %s\n  trusted_proxies: [\"127.0.0.1/32\"]\n  routes:\n    - name: shop\n      upstreams: [%s]\n      web_acl: blog-acl.json\nwaf:\n  ip_reputation_file: reputation.txt\n"+
		"authz:\n  issuers:\n    - name: pool\n      cognito: {region: us-east-1, user_pool_id: us-east-1_Shapes001}\n      jwks_url: %s/jwks\n      client_ids: [shapesclient0001]\n"+
		"  authorizers:\n    - name: shapes\n      issuers: [pool]\n      region: us-east-1\n      account: \"123456789012\"\n      api_id: a1b2c3d4e5\n      stage: prod\n",
		filepath.Join(dir, "data"), gw, upstream.URL, upstream.URL)
	os.WriteFile(filepath.Join(dir, "lockgate.yaml"), []byte(cfg), 0o600)
	const tok = "more-shapes-admin-token-MUbx4VDrUA"
	p := startServeArgs(t, freeAddr(t), []string{"--config", filepath.Join(dir, "lockgate.yaml")}, "LOCKGATE_ADMIN_TOKEN="+tok)
	admin := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + tok}
	must := func(env []string, args ...string) string {
		t.Helper()
		stdout, stderr, code := runCLI(t, append(admin, env...), args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		return stdout
	}
	field := func(out, name string) string {
		t.Helper()
		var v map[string]any
		json.Unmarshal([]byte(out), &v)
		s, _ := v[name].(string)
		if s == "" {
			t.Fatalf("no %s in %s", name, out)
		}
		return s
	}
	ctx := context.Background()

	// Lists that start empty on a fresh server, and grow by creation.
	listShape{name: "app list", args: []string{"app", "list"}, add: func(n int) {
		must(nil, "app", "create", "--name", fmt.Sprint("A", n), "--issuer", fmt.Sprintf("https://a%d.example", n))
	}}.check(t, must)
	listShape{name: "person list", args: []string{"person", "list"}, add: func(n int) {
		must(nil, "person", "create", "--name", fmt.Sprint("P", n))
	}}.check(t, must)

	created := must(nil, "app", "create", "--name", "Shapes", "--issuer", "https://shapes.example", "-o", "json")
	app := field(created, "id")
	var key struct {
		SigningKey struct{ ID, Secret string } `json:"signing_key"`
	}
	json.Unmarshal([]byte(created), &key)
	secret, err := lockclient.DecodeKey(key.SigningKey.Secret)
	if err != nil {
		t.Fatal(err)
	}
	integration, err := lockclient.New(lockclient.Config{APIURI: p.url(), Issuer: "https://shapes.example", SigningKey: secret, KeyID: key.SigningKey.ID, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	check := func(user string) {
		if d, err := integration.Check(ctx, lockclient.Request{Username: user}); err != nil || d.Failed {
			t.Fatalf("check %s: %+v %v", user, d, err)
		}
	}
	listShape{name: "attempts list", args: []string{"attempts", "list", "--app", app}, add: func(n int) { check(fmt.Sprint("user", n)) }}.check(t, must)
	listShape{name: "account events", args: []string{"account", "events", app, "user1"}, add: func(n int) {
		if err := integration.Report(ctx, "user1", "shapes-test", map[string]int{"n": n}); err != nil {
			t.Fatal(err)
		}
	}}.check(t, must)
	listShape{name: "webhook list --app", args: []string{"webhook", "list", "--app", app}, add: func(n int) {
		must(nil, "webhook", "add", fmt.Sprintf("https://hooks%d.example.com/app", n), "--app", app)
	}}.check(t, must)
	// Attack F-10: the signing secret, shown only at creation, reaches
	// the CLI's output (docs/api.md: "add {"url"} (→ the signing secret,
	// shown once)"), in JSON and in the table.
	if sec := field(must(nil, "webhook", "add", "https://hooks-secret.example.com/app", "--app", app, "-o", "json"), "secret"); len(sec) < 20 {
		t.Fatalf("webhook add -o json: secret %q", sec)
	}
	for _, line := range strings.Split(must(nil, "webhook", "add", "https://hooks-secret2.example.com/app", "--app", app), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "secret" && (len(f) != 2 || len(f[1]) < 20) {
			t.Fatalf("webhook add: %q", line)
		}
	}

	// The owner's lists, with the owner's token.
	person := field(must(nil, "person", "create", "--name", "Owner", "-o", "json"), "id")
	owner := []string{"LOCKGATE_OWNER_TOKEN=" + field(must(nil, "person", "token", person, "-o", "json"), "token")}
	assign := func(p string) func(n int) {
		return func(n int) { must(nil, "account", "assign", app, fmt.Sprintf("%s-own%d", p, n), "--person", p) }
	}
	listShape{name: "me accounts", env: owner, args: []string{"me", "accounts"}, add: assign(person)}.check(t, must)
	listShape{name: "me attempts", env: owner, args: []string{"me", "attempts"}, add: func(int) { check(person + "-own1") }}.check(t, must)
	account := field(must(nil, "account", "status", app, person+"-own1", "-o", "json"), "id")
	listShape{name: "me history", env: owner, args: []string{"me", "history", account}, add: func(n int) {
		if n == 1 {
			must(owner, "me", "lock", account)
		} else {
			must(owner, "me", "unlock", account)
		}
	}}.check(t, must)

	// Bulk lock commands print the accounts they changed: as many as the
	// person owns.
	for i, bulk := range [][]string{{"me", "lock-all"}, {"me", "unlock-all"}, {"person", "lock"}, {"person", "unlock"}} {
		q := field(must(nil, "person", "create", "--name", fmt.Sprint("Bulk", i), "-o", "json"), "id")
		env := []string{"LOCKGATE_OWNER_TOKEN=" + field(must(nil, "person", "token", q, "-o", "json"), "token")}
		args := bulk
		if bulk[0] == "person" {
			args = append(bulk[:2:2], q)
		}
		listShape{name: fmt.Sprint(args), env: env, args: args, add: assign(q)}.check(t, must)
	}

	// Tokens (the admin token from the environment is there from the
	// start) and the authorizer's group policies.
	var tokens struct {
		Items []json.RawMessage `json:"items"`
	}
	json.Unmarshal([]byte(must(nil, "token", "list", "-o", "json")), &tokens)
	listShape{name: "token list", args: []string{"token", "list"}, base: len(tokens.Items), add: func(n int) {
		must(nil, "token", "create", "--name", fmt.Sprint("shapes", n), "--scope", "admin:read")
	}}.check(t, must)
	listShape{name: "authz group list", args: []string{"authz", "group", "list"}, add: func(n int) {
		must(nil, "authz", "group", "set", fmt.Sprint("group", n), "--policy", "../../iampolicy/testdata/petstore.json")
	}}.check(t, must)

	// The gateway's limited keys: one client address over the /login
	// limit (150 in 5 minutes) per item.
	listShape{name: "gateway limited", args: []string{"gateway", "limited"}, add: func(n int) {
		for range 151 {
			send(t, http.DefaultClient, "http://"+gw+"/login", fmt.Sprintf("203.0.113.%d", n))
		}
	}}.check(t, must)
}

// outputKinds says what each command that takes -o prints. Lists are
// checked for 0, 1 and 2 items by TestListShapesDoNotDependOnLength
// (cli_test.go) or TestMoreListShapes (above).
var outputKinds = map[string]string{
	"lockgate person enrol-link":  "object",
	"lockgate config validate":    "object",
	"lockgate policy validate":    "object",
	"lockgate waf validate":       "object",
	"lockgate account events":     "list",
	"lockgate account history":    "list",
	"lockgate account list":       "list",
	"lockgate app list":           "list",
	"lockgate attempts list":      "list",
	"lockgate gateway limited":    "list",
	"lockgate me accounts":        "list",
	"lockgate me attempts":        "list",
	"lockgate me history":         "list",
	"lockgate me lock-all":        "list",
	"lockgate me unlock-all":      "list",
	"lockgate person accounts":    "list",
	"lockgate person list":        "list",
	"lockgate person lock":        "list",
	"lockgate person unlock":      "list",
	"lockgate webhook list":       "list",
	"lockgate authz group list":   "list",
	"lockgate token list":         "list",
	"lockgate geo lookup":         "list",
	"lockgate me geofence clear":  "object",
	"lockgate me geofence get":    "object",
	"lockgate me geofence set":    "object",
	"lockgate policy geo-deny":    "object",
	"lockgate account assign":     "object",
	"lockgate analyze":            "object",
	"lockgate analyze replay":     "object",
	"lockgate authz group delete": "object",
	"lockgate authz group get":    "object",
	"lockgate authz group set":    "object",
	"lockgate token create":       "object",
	"lockgate token get":          "object",
	"lockgate token revoke":       "object",
	"lockgate account lock":       "object",
	"lockgate account status":     "object",
	"lockgate account unlock":     "object",
	"lockgate app create":         "object",
	"lockgate app delete":         "object",
	"lockgate app get":            "object",
	"lockgate app revoke-key":     "object",
	"lockgate app rotate-key":     "object",
	"lockgate app update":         "object",
	"lockgate check":              "object",
	"lockgate gateway reload":     "object",
	"lockgate gateway status":     "object",
	"lockgate healthcheck":        "object",
	"lockgate me lock":            "object",
	"lockgate me show":            "object",
	"lockgate me unlock":          "object",
	"lockgate account delete":     "object",
	"lockgate account rename":     "object",
	"lockgate person create":      "object",
	"lockgate person delete":      "object",
	"lockgate person get":         "object",
	"lockgate person token":       "object",
	"lockgate policy eval":        "object",
	"lockgate version":            "object",
	"lockgate waf test":           "object",
	"lockgate webhook add":        "object",
	"lockgate webhook delete":     "object",
}

// A new command that prints data is classified here, so that a list
// cannot join without its shape test.
func TestEveryOutputCommandIsClassified(t *testing.T) {
	var walk func(c *cobra.Command)
	seen := map[string]bool{}
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			walk(s)
		}
		if c.Flags().Lookup("output") == nil {
			return
		}
		seen[c.CommandPath()] = true
		if outputKinds[c.CommandPath()] == "" {
			t.Errorf("%s takes -o but outputKinds (cmd/lockgate/listshape_test.go) does not say what it prints: "+
				"add it as \"object\", or as \"list\" with a listShape case in TestMoreListShapes that makes 0, 1 and 2 items", c.CommandPath())
		}
	}
	walk(newRoot())
	for path := range outputKinds {
		if !seen[path] {
			t.Errorf("outputKinds names %s, which is not a command taking -o: remove it", path)
		}
	}
}

// geo lookup lists one item per address it is given (at least one).
func TestGeoLookupListShape(t *testing.T) {
	for _, ips := range [][]string{{"8.8.8.8"}, {"8.8.8.8", "2001:4860:4860::8888"}} {
		for _, format := range []string{"json", "yaml"} {
			stdout, stderr, code := runCLI(t, nil, append([]string{"geo", "lookup", "-o", format}, ips...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var v struct {
				Items []any `json:"items" yaml:"items"`
			}
			var err error
			if format == "json" {
				err = json.Unmarshal([]byte(stdout), &v)
			} else {
				err = yaml.Unmarshal([]byte(stdout), &v)
			}
			if err != nil || len(v.Items) != len(ips) {
				t.Fatalf("%v -o %s: %v, want {\"items\": [...]} of %d:\n%s", ips, format, err, len(ips), stdout)
			}
		}
	}
}
