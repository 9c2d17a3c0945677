package store

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

// TestSyncReadsNeverServeAnEarlierRead: a caller that asks after a read
// was taken gets the next read's value, never the one in flight (it may
// predate a change acknowledged before the caller asked), and the callers
// that ask meanwhile share the next.
func TestSyncReadsNeverServeAnEarlierRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &syncReads{wake: make(chan struct{}, 1)}
		got := make(chan [2]int64, 4)
		ask := func(who int64) {
			v, err := g.get(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- [2]int64{who, v}
		}
		go ask(1)
		synctest.Wait()
		select {
		case <-g.wake:
		default:
			t.Fatal("no writer woken for the first caller")
		}
		r1 := g.take()
		if r1 == nil {
			t.Fatal("no round waiting for the first caller")
		}
		// Read 1 is in flight: callers 2, 3 and 4 ask now.
		go ask(2)
		go ask(3)
		go ask(4)
		synctest.Wait()
		r1.finish(1, nil)
		synctest.Wait()
		if r := <-got; r != [2]int64{1, 1} {
			t.Fatalf("caller %d got read %d, want caller 1 read 1", r[0], r[1])
		}
		if len(got) != 0 {
			t.Fatalf("a caller that asked after read 1 began got it: %v", <-got)
		}
		r2 := g.take()
		if r2 == nil || r2 == r1 {
			t.Fatal("callers 2 to 4 wait for no new round")
		}
		r2.finish(2, nil)
		for range 3 {
			if r := <-got; r[1] != 2 {
				t.Fatalf("caller %d got read %d, want 2: it asked while read 1 ran", r[0], r[1])
			}
		}
		if r := g.take(); r != nil {
			t.Fatal("a round waits with no caller")
		}
	})
}

// TestSyncReadsCallerGivesUp: a caller whose context ends stops waiting;
// the read goes on for the others.
func TestSyncReadsCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &syncReads{wake: make(chan struct{}, 1)}
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
		r := g.take()
		cancel()
		if err := <-errc; err != context.Canceled {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		r.finish(7, nil)
		if v := <-vc; v != 7 {
			t.Fatalf("v = %d, want 7", v)
		}
	})
}

// TestSyncReadsClose: closing fails the callers waiting and those that
// ask after, instead of leaving them to wait for writers that are gone.
func TestSyncReadsClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &syncReads{wake: make(chan struct{}, 1)}
		errc := make(chan error)
		go func() {
			_, err := g.get(context.Background())
			errc <- err
		}()
		synctest.Wait()
		g.close()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("waiting caller: err = %v, want ErrClosed", err)
		}
		if _, err := g.get(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("caller after close: err = %v, want ErrClosed", err)
		}
	})
}
