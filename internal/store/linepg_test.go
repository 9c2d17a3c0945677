package store

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

// TestLineGivesEachWriterItsOwnResults: writers sharing a line send
// without waiting for each other, and each must read its own batch's
// outcome: a batch that fails (an attempt twice) fails only its writer,
// the batches around it on the line commit, and the line goes on.
func TestLineGivesEachWriterItsOwnResults(t *testing.T) {
	s, admin, name := openPostgres(t)
	s.batch.close() // the test's writers only
	b := newBatcher(s, 0)
	defer b.close()
	const writers, batches = 6, 40
	var wg sync.WaitGroup
	errs := make([][]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &writer{s: s, b: b}
			for j := range batches {
				a := lock.Attempt{ID: fmt.Sprintf("att_%d_%d", i, j), At: time.Now(), AppID: "app_1", Username: "alice"}
				batch := []*pending{{a: a}}
				if (i+j)%3 == 0 {
					batch = append(batch, &pending{a: a}) // the same attempt twice: this batch fails
				}
				errs[i] = append(errs[i], w.commit(batch))
			}
		}()
	}
	wg.Wait()
	want := 0
	for i := range writers {
		for j, err := range errs[i] {
			if fails := (i+j)%3 == 0; fails != (err != nil) {
				t.Errorf("writer %d, batch %d: %v; want failure %v", i, j, err, fails)
			} else if !fails {
				want++
			}
		}
	}
	var got int
	if err := admin.QueryRow(fmt.Sprintf("SELECT count(*) FROM %s.attempts", name)).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("%d attempts committed, want %d", got, want)
	}
	if b.line == nil || b.line.broken() {
		t.Fatal("the line broke on statements' errors")
	}
}
