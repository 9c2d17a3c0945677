package store

import (
	"context"
	"testing"
	"testing/synctest"
)

// TestSyncReadsNeverServeAnEarlierRead: a caller that asks while a read
// is in flight gets the next read's value, never the one in flight (it
// may predate a change acknowledged before the caller asked), and the
// callers that ask while one read runs share the next.
func TestSyncReadsNeverServeAnEarlierRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan int64)
		release := make(chan struct{})
		var reads int64
		g := &syncReads{read: func(context.Context) (int64, error) {
			reads++
			n := reads
			started <- n
			<-release
			return n, nil
		}}
		ctx := context.Background()
		got := make(chan [2]int64, 4)
		ask := func(who int64) {
			v, err := g.get(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- [2]int64{who, v}
		}
		go ask(1)
		if n := <-started; n != 1 {
			t.Fatalf("read %d started first", n)
		}
		// Read 1 is in flight: callers 2, 3 and 4 ask now.
		go ask(2)
		go ask(3)
		go ask(4)
		synctest.Wait()
		release <- struct{}{}
		if r := <-got; r != [2]int64{1, 1} {
			t.Fatalf("caller %d got read %d, want caller 1 read 1", r[0], r[1])
		}
		if n := <-started; n != 2 {
			t.Fatalf("read %d started second", n)
		}
		release <- struct{}{}
		for range 3 {
			if r := <-got; r[1] != 2 {
				t.Fatalf("caller %d got read %d, want 2: it asked while read 1 ran", r[0], r[1])
			}
		}
		synctest.Wait()
		if reads != 2 {
			t.Fatalf("%d reads for 4 callers, want 2", reads)
		}
	})
}

// TestSyncReadsCallerGivesUp: a caller whose context ends stops waiting;
// the read goes on for the others.
func TestSyncReadsCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		g := &syncReads{read: func(context.Context) (int64, error) {
			<-release
			return 7, nil
		}}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() {
			_, err := g.get(ctx)
			errc <- err
		}()
		vc := make(chan int64)
		go func() {
			v, _ := g.get(context.Background())
			vc <- v
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; err != context.Canceled {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		close(release)
		if v := <-vc; v != 7 {
			t.Fatalf("v = %d, want 7", v)
		}
	})
}
