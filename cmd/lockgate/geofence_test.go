package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// The owner sets, reads and clears their geo-fence with lockgate me
// geofence against a running lockgate.
func TestMeGeofence(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	const tok = "cli-geofence-admin-token-R8eGEJc28X"
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+tok)
	admin := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_ADMIN_TOKEN=" + tok}
	field := func(out, name string) string {
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		s, _ := v[name].(string)
		return s
	}
	out, _, _ := runCLI(t, admin, "person", "create", "--name", "Alice", "-o", "json")
	person := field(out, "id")
	out, _, _ = runCLI(t, admin, "person", "token", person, "-o", "json")
	owner := []string{"LOCKGATE_SERVER=" + p.url(), "LOCKGATE_OWNER_TOKEN=" + field(out, "token")}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"me", "geofence", "get"}, 1, "not found"},
		{[]string{"me", "geofence", "set", "--country", "us,ca", "--region", "GB-SCT", "--message", "Home only"}, 0, "person " + person},
		{[]string{"me", "geofence", "get", "-o", "json"}, 0, `"countries": [`},
		{[]string{"me", "geofence", "get"}, 0, "US,CA"},
		{[]string{"me", "geofence", "set", "--country", "UK"}, 1, `"UK" is not the ISO 3166-1 code: use GB`},
		{[]string{"me", "geofence", "set"}, 2, "give --country or --region"},
		{[]string{"me", "geofence", "set", "--account", "acc_nobody", "--country", "US"}, 1, "not found"},
		{[]string{"me", "geofence", "clear"}, 0, "geo-fence removed"},
		{[]string{"me", "geofence", "clear"}, 1, "not found"},
	} {
		stdout, stderr, code := runCLI(t, owner, tt.args...)
		if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
			t.Errorf("%v: exit %d\n%s%s", tt.args, code, stdout, stderr)
		}
	}
}
