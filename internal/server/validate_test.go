package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/problem"
)

// config validate lists every problem in one run, each once: a value the
// decoder refuses (shutdown_timeout: twenty) no longer hides what
// provisioning finds (a bad CIDR, missing files).
func TestValidateListsEveryProblemOnce(t *testing.T) {
	path := "testdata/many-problems.yaml"
	_, err := Validate(path, func(string) string { return "" })
	var l problem.List
	if !errors.As(err, &l) {
		t.Fatalf("want a problem list, got %v", err)
	}
	want := []string{
		path + `:2:19: shutdown_timeout: "twenty" is not a duration`,
		path + `:9:21: gateway.trusted_proxies[0]: "not-a-cidr" is not a CIDR`,
		path + `:11:23: waf.ip_reputation_file: open testdata/nope.txt`,
		path + `:13:14: tls.cert_file: open testdata/nocert.pem`,
		path + `:14:13: tls.key_file: open testdata/nokey.pem`,
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), err)
	}
	for _, w := range want {
		n := 0
		for _, g := range got {
			if strings.HasPrefix(g, w) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q reported %d times:\n%s", w, n, err)
		}
	}
	// A file that does not parse stops there: nothing else is known.
	if _, err := Validate("testdata/none.yaml", func(string) string { return "" }); err == nil || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("missing file: %v", err)
	}
}

func TestDedupe(t *testing.T) {
	p := problem.Problem{File: "f", Line: 3, Path: "waf.ip_reputation_file", Msg: "missing"}
	if got := dedupe(problem.List{p, {File: "f", Line: 1, Msg: "a"}, p, p}); len(got) != 2 || got[0].Line != 1 {
		t.Errorf("%v", got)
	}
}
