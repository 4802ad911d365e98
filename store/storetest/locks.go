package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// testExportLeases: unfinished jobs are listed for failing only once
// their lease ran out, and RenewExportLease moves the lease of unfinished
// jobs only.
func testExportLeases(t *testing.T, s parley.Store) {
	live := &parley.ExportJob{ID: "live", OwnerID: "a", Scope: parley.ExportAccount, State: parley.ExportRunning, CreatedAt: at(1), LeaseUntil: at(100)}
	dead := &parley.ExportJob{ID: "dead", OwnerID: "a", Scope: parley.ExportAccount, State: parley.ExportQueued, CreatedAt: at(2), LeaseUntil: at(30)}
	old := &parley.ExportJob{ID: "old", OwnerID: "b", Scope: parley.ExportAccount, State: parley.ExportRunning, CreatedAt: at(3)} // no lease: from before leases
	done := &parley.ExportJob{ID: "done", OwnerID: "b", Scope: parley.ExportAccount, State: parley.ExportDone, CreatedAt: at(4), LeaseUntil: at(10)}
	update(t, s, func(tx parley.Tx) error {
		for _, j := range []*parley.ExportJob{live, dead, old, done} {
			if err := tx.CreateExportJob(j); err != nil {
				return err
			}
		}
		return nil
	})
	wantEqual(t, "ExportJobByID(live)", view(t, s, func(tx parley.Tx) (*parley.ExportJob, error) { return tx.ExportJobByID("live") }), live)
	ids := func(before time.Time) []string {
		out := []string{}
		for _, j := range view(t, s, func(tx parley.Tx) ([]*parley.ExportJob, error) { return tx.ExportJobsExpiredBefore(before, true, 10) }) {
			out = append(out, j.ID)
		}
		return out
	}
	wantEqual(t, "unfinished with lease out at 60s", ids(at(60)), []string{"dead", "old"})

	// The live job's node renews it; the dead one's lease moved too (say
	// its node came back). A finished job's lease is not touched.
	update(t, s, func(tx parley.Tx) error { return tx.RenewExportLease("live", at(500)) })
	update(t, s, func(tx parley.Tx) error { return tx.RenewExportLease("dead", at(70)) })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.RenewExportLease("done", at(500)) }), parley.ENotFound)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.RenewExportLease("nope", at(500)) }), parley.ENotFound)
	wantEqual(t, "unfinished with lease out at 60s after renewals", ids(at(60)), []string{"old"})
	wantEqual(t, "unfinished with lease out at 200s", ids(at(200)), []string{"dead", "old"})
	got := view(t, s, func(tx parley.Tx) (*parley.ExportJob, error) { return tx.ExportJobByID("live") })
	want := *live
	want.LeaseUntil = at(500)
	wantEqual(t, "renewed job", got, &want)
	got = view(t, s, func(tx parley.Tx) (*parley.ExportJob, error) { return tx.ExportJobByID("done") })
	wantEqual(t, "finished job after a refused renewal", got, done)

	// UpdateExportJob saves the lease as well.
	want.LeaseUntil = at(20)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateExportJob(&want) })
	wantEqual(t, "unfinished with lease out at 60s after an update", ids(at(60)), []string{"live", "old"})
}

func locker(t *testing.T, s parley.Store) parley.Locker {
	t.Helper()
	l, ok := s.(parley.Locker)
	if !ok {
		t.Fatalf("%T does not implement parley.Locker", s)
	}
	return l
}

// testLockerExclusion: a held lock is not taken again until released;
// other names are independent.
func testLockerExclusion(t *testing.T, s parley.Store) {
	l := locker(t, s)
	unlock, ok, err := l.TryLock(ctx, "gc")
	if err != nil || !ok {
		t.Fatalf("first TryLock: %v, %v", ok, err)
	}
	if u, ok, err := l.TryLock(ctx, "gc"); err != nil || ok || u != nil {
		t.Fatalf("TryLock of a held lock: %v, %v", ok, err)
	}
	other, ok, err := l.TryLock(ctx, "blob:x")
	if err != nil || !ok {
		t.Fatalf("TryLock of another name: %v, %v", ok, err)
	}
	other()
	unlock()
	unlock() // twice is harmless
	again, ok, err := l.TryLock(ctx, "gc")
	if err != nil || !ok {
		t.Fatalf("TryLock after release: %v, %v", ok, err)
	}
	again()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := l.TryLock(cancelled, "gc"); err == nil {
		t.Fatal("TryLock with an ended context took the lock")
	}
}

// testLockerWait: Lock waits for the holder, holders never overlap, and a
// wait ends with its context.
func testLockerWait(t *testing.T, s parley.Store) {
	l := locker(t, s)
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				unlock, err := l.Lock(ctx, "blob:k")
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d times two holders were inside at once", n)
	}

	unlock, err := l.Lock(ctx, "blob:k")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(short, "blob:k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a held lock with a deadline: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := l.Lock(ctx, "blob:k")
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("Lock after the holder released: %v", err)
	}
	// The lock is free again after a cancelled wait.
	if u, ok, err := l.TryLock(ctx, "blob:k"); err != nil || !ok {
		t.Fatalf("TryLock after a cancelled wait: %v, %v", ok, err)
	} else {
		u()
	}
}
