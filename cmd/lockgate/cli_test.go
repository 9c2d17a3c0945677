package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Every command that prints a list prints {"items": [...]} whatever the
// number of items — 0, 1 or 2 — in JSON and in YAML.
func TestListShapesDoNotDependOnLength(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	const tok = "cli-shapes-admin-token-ZFNHFhCFCS"
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+tok)
	env := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + tok}
	must := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		return stdout
	}
	id := func(out string) string {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID == "" {
			t.Fatalf("no id in %s", out)
		}
		return v.ID
	}
	app := id(must("app", "create", "--name", "Shapes", "--issuer", "https://shapes.example", "-o", "json"))
	person := id(must("person", "create", "--name", "P", "-o", "json"))

	other := id(must("person", "create", "--name", "Q", "-o", "json"))
	must("account", "assign", app, "hist", "--person", other) // exists, no history yet
	lists := []struct {
		name string
		args []string
		add  func(n int) // makes item n (1-based) of this list
	}{
		{"account list", []string{"account", "list", app}, func(n int) { must("account", "lock", app, fmt.Sprint("user", n)) }},
		{"account history", []string{"account", "history", app, "hist"}, func(n int) {
			if n == 1 {
				must("account", "lock", app, "hist")
			} else {
				must("account", "unlock", app, "hist")
			}
		}},
		{"person accounts", []string{"person", "accounts", person}, func(n int) { must("account", "assign", app, fmt.Sprint("user", n), "--person", person) }},
		{"webhook list", []string{"webhook", "list", "--person", person}, func(n int) {
			must("webhook", "add", fmt.Sprintf("https://hooks%d.example.com/x", n), "--person", person)
		}},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			for n := 0; n <= 2; n++ {
				if n > 0 {
					l.add(n)
				}
				var j struct {
					Items []json.RawMessage `json:"items"`
				}
				out := must(append(l.args, "-o", "json")...)
				if err := json.Unmarshal([]byte(out), &j); err != nil || j.Items == nil {
					t.Fatalf("%d items: not {\"items\": [...]}: %s", n, out)
				}
				if want := n + map[string]int{"account list": 1}[l.name]; len(j.Items) != want { // account list: "hist" too
					t.Fatalf("%d items made, %d listed: %s", n, len(j.Items), out)
				}
				var y struct {
					Items []any `yaml:"items"`
				}
				out = must(append(l.args, "-o", "yaml")...)
				if err := yaml.Unmarshal([]byte(out), &y); err != nil || len(y.Items) != len(j.Items) {
					t.Fatalf("yaml: %v\n%s", err, out)
				}
			}
		})
	}
	// Lists that start non-empty keep the shape too.
	for _, args := range [][]string{{"app", "list"}, {"person", "list"}, {"attempts", "list"}} {
		out := must(append(args, "-o", "json")...)
		if !strings.HasPrefix(out, "{\n  \"items\": [") {
			t.Errorf("%v: %s", args, out)
		}
	}
}

// Values from the outside reach the admin's terminal escaped: a person
// named with escape sequences cannot recolour or retitle it.
func TestTablesEscapeControlCharacters(t *testing.T) {
	addr := freeAddr(t)
	const tok = "cli-escape-admin-token-ShYi2QDSiU"
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+tok)
	env := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + tok}
	name := "Eve\x1b]0;pwned\x07\x1b[31mred\u202eevil\ttab"
	stdout, stderr, code := runCLI(t, env, "person", "create", "--name", name)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\ttab"} {
		if strings.Contains(stdout, bad) {
			t.Errorf("table output holds %q raw: %q", bad, stdout)
		}
	}
	if !strings.Contains(stdout, `Eve\x1b]0;pwned\a\x1b[31mred\u202eevil\ttab`) {
		t.Errorf("escaped form missing: %q", stdout)
	}
	// JSON keeps the exact value, every control and bidi character escaped.
	stdout, _, _ = runCLI(t, env, "person", "list", "-o", "json")
	if !strings.Contains(stdout, `Eve\u001b]0;pwned\u0007\u001b[31mred\u202eevil\ttab`) {
		t.Errorf("json: %s", stdout)
	}
}

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"alice":          "alice",
		"josé ｆｕｌｌ":      "josé ｆｕｌｌ",
		"a\x00b":         `a\x00b`,
		"a\nb\r":         `a\nb\r`,
		"\u202e\u2066x":  `\u202e\u2066x`,
		"bad\xffutf8":    `bad\ufffdutf8`,
		"\u009b31m (C1)": `\u009b31m (C1)`,
		"tab\tseparated": `tab\tseparated`,
	} {
		if got := safe(in); got != want {
			t.Errorf("safe(%q) = %q, want %q", in, got, want)
		}
	}
}

// JSON and YAML keep the exact value for programs, but neither lets a C1
// control (U+009B is a one-character CSI), a C0 control or a bidi
// override reach the terminal raw, and YAML output never fails on them.
func TestStructuredOutputEscapesTerminalControls(t *testing.T) {
	// DEL (atk14f F2, F3): raw in JSON, and refused by the YAML reader,
	// which failed the whole listing.
	v := map[string]string{"device": "Eve\x1b[31m\u009b2J\u202eevil\x07d\x7fd"}
	for _, format := range []string{"json", "yaml"} {
		var buf strings.Builder
		p := &printer{format: format, out: &buf}
		if err := p.object(v, nil); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		out := buf.String()
		for _, bad := range []string{"\x1b", "\u009b", "\u202e", "\x07", "\x7f"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s output holds %q raw: %q", format, bad, out)
			}
		}
		var back map[string]string
		var err error
		if format == "json" {
			err = json.Unmarshal([]byte(out), &back)
		} else {
			err = yaml.Unmarshal([]byte(out), &back)
		}
		if err != nil || back["device"] != v["device"] {
			t.Errorf("%s does not read back the same value: %q %v\n%s", format, back["device"], err, out)
		}
	}
}
