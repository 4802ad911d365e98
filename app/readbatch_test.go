package app

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/sqlite"
)

// TestUrgentReadsGoFirst: with the runner busy and more syncs queued than
// one batch holds, a session check queued last runs first in the next
// batch, ahead of the syncs queued before it; the syncs keep their order.
func TestUrgentReadsGoFirst(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := New(db, Config{})
	a.reads.runners = 1 // batches one after another, so that order shows
	ctx := context.Background()

	release := make(chan struct{})
	var busy, all sync.WaitGroup
	busy.Add(a.reads.runners)
	for range a.reads.runners { // occupy every runner
		all.Add(1)
		go func() {
			defer all.Done()
			_ = a.shortView(ctx, func(parley.Tx) error { busy.Done(); <-release; return nil })
		}()
	}
	busy.Wait()
	var mu sync.Mutex
	var order []int
	record := func(i int) func(parley.Tx) error {
		return func(parley.Tx) error { mu.Lock(); order = append(order, i); mu.Unlock(); return nil }
	}
	const syncs = maxReadBatch + 10
	queued := func() int { a.reads.mu.Lock(); defer a.reads.mu.Unlock(); return len(a.reads.queue) }
	for i := range syncs {
		all.Add(1)
		go func() { defer all.Done(); _ = a.shortView(ctx, record(i)) }()
		for queued() < i+1 { // queue them in this order
		}
	}
	all.Add(1)
	go func() { defer all.Done(); _ = a.urgentView(ctx, record(-1)) }()
	for queued() < syncs+1 {
	}
	close(release)
	all.Wait()
	pos := -1
	last := -1
	for k, i := range order {
		if i == -1 {
			pos = k
			continue
		}
		if i < last {
			t.Fatalf("syncs out of order: %v", order)
		}
		last = i
	}
	if pos != 0 {
		t.Fatalf("the urgent read ran at %d of %v, want first", pos, order)
	}
}
