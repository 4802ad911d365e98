package app

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// TestSharedLimiterConcurrent: two Apps on one PostgreSQL database (two
// nodes) take tokens of one key from many goroutines at once, so that
// batches carry the key many times over (sharedLimits.run folds them into
// one request): exactly the burst is granted in all. Then a reservation
// given back (a send that created nothing) leaves its token for the next
// caller, on the other node; and reservations of a full bucket all go
// through, then count once used.
func TestSharedLimiterConcurrent(t *testing.T) {
	dsn := pgtest.DSN(t) // skips (loudly) without PostgreSQL
	const burst = 20
	var limiters [3]*Limiter // the third node only looks, at the end
	for i := range limiters {
		db, err := postgres.Open(dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		a := New(db, Config{})
		if a.sharedLimits == nil {
			t.Fatal("an App on PostgreSQL keeps its limits in memory only")
		}
		limiters[i] = a.limiter("test", 0.0001, burst) // no refill while the test runs
	}
	ctx := context.Background()
	var granted atomic.Int64
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if ok, wait := limiters[g%2].Allow(ctx, "k"); ok {
					granted.Add(1)
				} else if wait <= 0 {
					t.Errorf("refused without a Retry-After: %v", wait)
				}
			}
		}()
	}
	wg.Wait()
	if got := granted.Load(); got != burst {
		t.Fatalf("192 takes over two nodes granted %d, want the burst %d", got, burst)
	}

	// Another key: node 0 takes all but one token; a reservation on node
	// 1 that does not happen leaves it; node 0 takes it; node 1 is then
	// refused.
	for range burst - 1 {
		if ok, _ := limiters[0].Allow(ctx, "r"); !ok {
			t.Fatal("a take within the burst was refused")
		}
	}
	ok, _, done := limiters[1].Reserve(ctx, "r")
	if !ok {
		t.Fatal("node 1 found no token of a bucket with one left")
	}
	done(false)
	if ok, _ := limiters[0].Allow(ctx, "r"); !ok {
		t.Fatal("the token a reservation did not use was gone")
	}
	if ok, wait, _ := limiters[1].Reserve(ctx, "r"); ok || wait <= 0 {
		t.Fatalf("node 1 reserved a token of an empty bucket (wait %v)", wait)
	}

	// Reservations of a full bucket all go through when none has been
	// used yet, and once they were used the bucket is in debt on every
	// node, without waiting for the forced takes (nobody does).
	var wg2 sync.WaitGroup
	var refused atomic.Int64
	dones2 := make([]func(bool), 64)
	for g := range dones2 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			ok, _, done := limiters[g%2].Reserve(ctx, "s")
			if !ok {
				refused.Add(1)
				return
			}
			dones2[g] = done
		}()
	}
	wg2.Wait()
	if n := refused.Load(); n != 0 {
		t.Fatalf("%d of 64 reservations of a full bucket refused", n)
	}
	for _, d := range dones2 {
		d(true)
	}
	// The third node has no tokens of its own in the bucket: what it
	// sees is the shared bucket, 44 tokens in debt once every forced
	// take has landed.
	every, _ := limiters[2].sharedBucket()
	for i := 0; ; i++ {
		ok, wait, _ := limiters[2].Reserve(ctx, "s")
		if !ok && wait >= 44*every {
			break
		}
		if i == 200 {
			t.Fatalf("64 tokens taken of a bucket of 20: the third node sees ok=%v, next token in %v, want at least %v", ok, wait, 44*every)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
