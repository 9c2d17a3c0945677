package server

import (
	"os"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/config"
)

// Every environment variable the configuration reads is documented in
// docs/configuration.md: the variables are the env tags of the section
// types, read by one loader, so this list is complete by construction.
func TestEveryVariableIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	for _, v := range config.Vars(&cfg) {
		if !strings.Contains(string(doc), v.Name) {
			t.Errorf("docs/configuration.md does not mention %s (the %s setting)", v.Name, v.Path)
		}
	}
}

// Every top-level section has its own part of docs/configuration.md.
func TestEverySectionIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"listen", "lock_check", "auth", "webhooks", "iam_responder", "waf", "gateway", "forward_auth", "authz", "geo", "vpn", "portal"} {
		if !strings.Contains(string(doc), "\n"+key+":") && !strings.Contains(string(doc), "`"+key+"`") {
			t.Errorf("docs/configuration.md has no part for the %s section", key)
		}
	}
}
