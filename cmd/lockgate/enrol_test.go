package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// lockgate person enrol-link issues a link the portal accepts once; a
// person that does not exist is named in the error.
func TestEnrolLinkCommand(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	const admin = "cli-enrol-admin-token-buFUPETrBb39gt67ft"
	p := startServe(t, addr, "LOCKGATE_ADMIN_TOKEN="+admin, "LOCKGATE_DATA_DIR="+t.TempDir())
	env := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + admin}
	out, errOut, code := runCLI(t, env, "person", "create", "--name", "Eve", "-o", "json")
	if code != 0 {
		t.Fatalf("person create: %d %s", code, errOut)
	}
	var person struct{ ID string }
	json.Unmarshal([]byte(out), &person)
	out, errOut, code = runCLI(t, env, "person", "enrol-link", person.ID, "-o", "json")
	if code != 0 {
		t.Fatalf("enrol-link: %d %s", code, errOut)
	}
	var link struct {
		URL       string `json:"url"`
		PersonID  string `json:"person_id"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(out), &link); err != nil || link.PersonID != person.ID || link.ExpiresAt == "" {
		t.Fatalf("%s %v", out, err)
	}
	u, err := url.Parse(link.URL)
	if err != nil || !strings.HasPrefix(link.URL, p.url()+"/portal/enrol?t=") {
		t.Fatalf("link %q", link.URL)
	}
	res, err := http.Get(p.url() + u.Path + "?" + u.RawQuery)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the portal refuses the link: %v %v", res, err)
	}
	res.Body.Close()
	out, _, code = runCLI(t, env, "person", "enrol-link", "per_nope")
	if code == 0 || !strings.Contains(out+errOutOf(t, env), "per_nope") {
		t.Fatalf("unknown person: %d %s", code, out)
	}
	if _, _, code := runCLI(t, env, "person", "enrol-link"); code != 2 {
		t.Fatalf("no person: exit %d, want 2", code)
	}
}

func errOutOf(t *testing.T, env []string) string {
	_, e, _ := runCLI(t, env, "person", "enrol-link", "per_nope")
	return e
}
