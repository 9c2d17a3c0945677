package httpapi_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// python finds an interpreter with PyJWT and requests: Debian's
// python3-jwt and python3-requests install into /usr/bin/python3, which
// may not be the first python3 on PATH.
func python(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import jwt, requests").Run() == nil {
			return p
		}
	}
	msg := "no python3 with PyJWT and requests: apt-get install python3-jwt python3-requests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestSeedPythonClient is the drop-in promise: a client written like the
// seed's getLockStatus works unchanged against lockgate.
func TestSeedPythonClient(t *testing.T) {
	py := python(t)
	a := newAPI(t, "sqlite")
	app := a.createApp("Seed Lambda", "https://app.example.com")
	run := func(path string) map[string]any {
		t.Helper()
		out, err := exec.Command(py, "testdata/seed_client.py", a.srv.URL, path, "https://app.example.com", app.SigningKey.Secret, "alice").CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &m); err != nil {
			t.Fatalf("python printed %s", out)
		}
		return m
	}
	for _, path := range []string{"/nl3/api/v1/accountProtectionCheck", "/api/v1/lock-check"} {
		if m := run(path); m["locked"] != false {
			t.Fatalf("%s before lock: %v", path, m)
		}
	}
	if code := a.do("POST", "/api/v1/admin/applications/"+app.ID+"/accounts/alice/lock", adminToken, nil, nil); code != 200 {
		t.Fatalf("lock: %d", code)
	}
	for _, path := range []string{"/nl3/api/v1/accountProtectionCheck", "/nl3/api/v1/sdk/accountLockCheck"} {
		if m := run(path); m["locked"] != true {
			t.Fatalf("%s after lock: %v", path, m)
		}
	}
}
