package lock_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies pins what the lock domain may import: it speaks
// neither HTTP nor SQL, so that the transport and the storage can change
// (and be faked) without it.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/lockgate/lockgate/internal/lock").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := map[string]string{
		"net/http":     "the lock domain knows nothing of HTTP (internal/httpapi translates)",
		"database/sql": "the lock domain knows nothing of SQL (internal/store implements its interfaces)",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list gave %d packages: %s", len(deps), out)
	}
	for _, d := range deps {
		if why, ok := forbidden[d]; ok {
			t.Errorf("internal/lock depends on %s: %s", d, why)
		}
	}
}
