package app

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// TestSharedLimiterConcurrent: two Apps on one PostgreSQL database (two
// nodes) take tokens of one key from many goroutines at once, so that
// batches carry the key many times over (sharedLimits.run folds them into
// one request): exactly the burst is granted in all. Then a reservation
// given back (a send that created nothing) leaves its token for the next
// caller, on the other node; and of many reservations at once exactly
// the burst go through, and those given back are found again.
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

	// Reservations of a full bucket from many goroutines on two nodes
	// at once: exactly the burst go through (each takes its token when
	// it is made, used or not yet), and the others are told when to come
	// back. Half of those that went through are used and half given
	// back: the third node then finds exactly the half given back.
	var wg2 sync.WaitGroup
	var mu sync.Mutex
	var dones []func(bool)
	for g := range 64 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			ok, wait, done := limiters[g%2].Reserve(ctx, "s")
			if !ok {
				if wait <= 0 {
					t.Errorf("a reservation refused without a Retry-After: %v", wait)
				}
				return
			}
			mu.Lock()
			dones = append(dones, done)
			mu.Unlock()
		}()
	}
	wg2.Wait()
	if len(dones) != burst {
		t.Fatalf("%d of 64 reservations of a bucket of %d went through", len(dones), burst)
	}
	for i, d := range dones {
		d(i%2 == 0)
	}
	var third int
	for {
		ok, wait, done := limiters[2].Reserve(ctx, "s")
		if !ok {
			if wait <= 0 {
				t.Fatalf("the third node was refused without a Retry-After: %v", wait)
			}
			break
		}
		done(true)
		if third++; third > burst {
			break
		}
	}
	if third != burst/2 {
		t.Fatalf("after %d reservations used and %d given back, the third node reserved %d, want %d", burst/2, burst/2, third, burst/2)
	}
}

// stepStore answers each TakeTokens call (granting every token asked)
// only when the test releases it, and shows the test each call's
// requests.
type stepStore struct {
	calls   chan []parley.TokenRequest
	release chan struct{}
}

func (s *stepStore) TakeTokens(_ context.Context, now time.Time, reqs []parley.TokenRequest) ([]parley.TokenGrant, error) {
	s.calls <- reqs
	<-s.release
	out := make([]parley.TokenGrant, len(reqs))
	for i, r := range reqs {
		out[i] = parley.TokenGrant{Granted: r.Want, TAT: now}
	}
	return out, nil
}

// TestSharedLimitsAbandoned: a caller that leaves while its take waits
// for a batch costs its bucket nothing — still queued, it is never asked
// for; already in a batch, the token granted to it is given back.
func TestSharedLimitsAbandoned(t *testing.T) {
	st := &stepStore{calls: make(chan []parley.TokenRequest, 8), release: make(chan struct{})}
	s := newSharedLimits(st, time.Now, func(error) {})
	bg := context.Background()
	pending := func(n int) {
		t.Helper()
		for range 2000 {
			s.mu.Lock()
			got := len(s.pending)
			s.mu.Unlock()
			if got == n {
				return
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("never %d calls queued", n)
	}
	leave := func(key string) (cancel func(), left chan error) {
		ctx, cancel := context.WithCancel(bg)
		left = make(chan error, 1)
		go func() {
			_, _, err := s.take(ctx, key, tokenTake, time.Second, 10)
			left <- err
		}()
		return cancel, left
	}
	want := func(what string, key string, wantN, adjust int) {
		t.Helper()
		var reqs []parley.TokenRequest
		select {
		case reqs = <-st.calls:
		case <-time.After(10 * time.Second): // a liveness bound, not a timing
			t.Fatalf("%s: the store was never asked", what)
		}
		if len(reqs) != 1 || reqs[0].Key != key || reqs[0].Want != wantN || reqs[0].Adjust != adjust {
			t.Fatalf("%s: the store was asked %+v, want key %s want %d adjust %d", what, reqs, key, wantN, adjust)
		}
	}

	go s.take(bg, "a", tokenTake, time.Second, 10) // runs the first batch
	want("first batch", "a", 1, 0)

	cancel, left := leave("b") // queued behind it, then gone
	pending(1)
	cancel()
	if err := <-left; err == nil {
		t.Fatal("a caller that left got no error")
	}
	pending(0)

	cancel, left = leave("c") // queued, then in a batch, then gone
	pending(1)
	st.release <- struct{}{} // a's batch answers; c's goes out
	want("second batch", "c", 1, 0)
	cancel()
	<-left
	st.release <- struct{}{} // c is granted a token it will not use
	want("give-back", "c", 0, -1)
	st.release <- struct{}{}
}
