package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/storetest"
)

// postgresCPU is the user and system CPU time that the PostgreSQL backends
// of the connections named application (application_name) have used so
// far, read from /proc: 0 when the server is not on this machine or its
// processes cannot be read. A backend that ended meanwhile is not counted.
func postgresCPU(b testing.TB, application string) time.Duration {
	db, err := sql.Open("pgx", storetest.PostgresBase())
	if err != nil {
		return 0
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, application)
	if err != nil {
		b.Logf("pg-cpu-us/op left out: %v", err)
		return 0
	}
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return 0
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0 // not this machine's, or not readable
		}
		// utime and stime are fields 14 and 15, the 12th and 13th after
		// the command name's closing parenthesis, in clock ticks (100 a
		// second on Linux).
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			return 0
		}
		var utime, stime int64
		fmt.Sscan(f[11], &utime)
		fmt.Sscan(f[12], &stime)
		total += time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return total
}
