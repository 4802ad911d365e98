package storetest

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// rateLimits returns s's shared buckets, or skips: a store for one node
// (SQLite) leaves them to the app's memory (app.Limiter).
func rateLimits(t *testing.T, s parley.Store) parley.RateLimits {
	t.Helper()
	rl, ok := s.(parley.RateLimits)
	if !ok {
		t.Skipf("%T keeps no rate limits: a store for one node, whose app counts in memory", s)
	}
	return rl
}

// testRateLimitsBuckets: a new bucket grants up to its burst, then
// refuses and says when its next token comes; tokens refill one per
// interval up to the burst and no further; an adjustment gives tokens
// back (never past full) or takes them even into debt; a read changes
// nothing; buckets are independent; one call answers several keys in
// order.
func testRateLimitsBuckets(t *testing.T, s parley.Store) {
	rl := rateLimits(t, s)
	every := 200 * time.Millisecond
	t0 := time.Unix(1_800_000_000, 0)
	adjust := func(now time.Time, key string, want, adjust int) parley.TokenGrant {
		t.Helper()
		g, err := rl.TakeTokens(ctx, now, []parley.TokenRequest{{Key: key, Want: want, Adjust: adjust, Every: every, Burst: 5}})
		if err != nil {
			t.Fatalf("TakeTokens(%s, %d, %d): %v", key, want, adjust, err)
		}
		if len(g) != 1 {
			t.Fatalf("TakeTokens(%s, %d, %d): %d grants", key, want, adjust, len(g))
		}
		return g[0]
	}
	take := func(now time.Time, key string, n int) parley.TokenGrant { t.Helper(); return adjust(now, key, n, 0) }
	if g := take(t0, "a", 3); g.Granted != 3 {
		t.Fatalf("3 of a new bucket of 5: granted %d", g.Granted)
	}
	if g := take(t0, "a", 3); g.Granted != 2 {
		t.Fatalf("3 more of the 2 left: granted %d", g.Granted)
	}
	g := take(t0, "a", 1)
	if g.Granted != 0 {
		t.Fatalf("an empty bucket granted %d", g.Granted)
	}
	if wait := g.NextToken(t0, every, 5); wait != every {
		t.Fatalf("next token of an empty bucket in %v, want %v", wait, every)
	}
	// Just before the next token: still none; at it: one.
	if g := take(t0.Add(every-time.Microsecond), "a", 1); g.Granted != 0 {
		t.Fatalf("a token before its time: granted %d", g.Granted)
	}
	if g := take(t0.Add(every), "a", 2); g.Granted != 1 {
		t.Fatalf("one interval later: granted %d, want 1", g.Granted)
	}
	// Giving one back makes it available at once; reading takes nothing.
	adjust(t0.Add(every), "a", 0, -1)
	for range 3 {
		if g := take(t0.Add(every), "a", 0); g.Granted != 0 || g.NextToken(t0.Add(every), every, 5) != 0 {
			t.Fatalf("a read of a bucket with a token: granted %d, next in %v", g.Granted, g.NextToken(t0.Add(every), every, 5))
		}
	}
	if g := take(t0.Add(every), "a", 1); g.Granted != 1 {
		t.Fatalf("after giving one back: granted %d, want 1", g.Granted)
	}
	// Taken into debt: the next token comes that much later.
	t1 := t0.Add(every)
	if g := adjust(t1, "a", 0, 2); g.NextToken(t1, every, 5) != 3*every {
		t.Fatalf("two tokens of debt: next token in %v, want %v", g.NextToken(t1, every, 5), 3*every)
	}
	if g := take(t1.Add(2*every), "a", 1); g.Granted != 0 {
		t.Fatalf("in debt: granted %d", g.Granted)
	}
	if g := take(t1.Add(3*every), "a", 1); g.Granted != 1 {
		t.Fatalf("debt paid: granted %d, want 1", g.Granted)
	}
	// Long idle: full again, never more than the burst.
	if g := take(t0.Add(time.Hour), "a", 9); g.Granted != 5 {
		t.Fatalf("after an hour: granted %d, want the burst 5", g.Granted)
	}
	// Giving back into a full bucket does not grow it; forced and
	// conditional in one request: the forced first.
	adjust(t0.Add(2*time.Hour), "a", 0, -3)
	if g := adjust(t0.Add(2*time.Hour), "a", 9, 2); g.Granted != 3 {
		t.Fatalf("2 forced then 9 of a full bucket of 5: granted %d, want 3", g.Granted)
	}
	// A clock set back (or a node running behind the last one): the
	// bucket keeps the tokens it had, and refills from the new now. The
	// times stay in the minute after 2 h, on a key of their own: a store
	// may delete full buckets in the background by the clock of the
	// request that started the sweep (the last one at 2 h), and a bucket
	// set further back would be full for it.
	ahead := t0.Add(2*time.Hour + 30*time.Second)
	if g := take(ahead, "z", 5); g.Granted != 5 {
		t.Fatalf("a new bucket of 5: granted %d", g.Granted)
	}
	back := ahead.Add(-20 * time.Second)
	if g := take(back, "z", 1); g.Granted != 0 {
		t.Fatalf("an empty bucket asked 20 s earlier granted %d", g.Granted)
	}
	if g := take(back.Add(every), "z", 2); g.Granted != 1 {
		t.Fatalf("one interval after the clock went back: granted %d, want 1", g.Granted)
	}
	// … and refilled when the clock comes forward again, 20 s later.
	if g := take(ahead, "z", 9); g.Granted != 5 {
		t.Fatalf("back at the later clock: granted %d, want the burst 5", g.Granted)
	}

	// Several keys in one call, answered in order; "a" is empty now.
	gs, err := rl.TakeTokens(ctx, t0.Add(2*time.Hour), []parley.TokenRequest{
		{Key: "b", Want: 1, Every: time.Second, Burst: 1},
		{Key: "a", Want: 1, Every: every, Burst: 5},
		{Key: "c", Want: 4, Every: time.Minute, Burst: 10},
	})
	if err != nil || len(gs) != 3 {
		t.Fatalf("three keys: %v, %v", gs, err)
	}
	if gs[0].Granted != 1 || gs[1].Granted != 0 || gs[2].Granted != 4 {
		t.Fatalf("three keys granted %d, %d, %d; want 1, 0, 4", gs[0].Granted, gs[1].Granted, gs[2].Granted)
	}
	// A key twice in one call, or a negative want, is the caller's mistake.
	if _, err := rl.TakeTokens(ctx, t0, []parley.TokenRequest{{Key: "e", Want: -1, Every: every, Burst: 1}}); err == nil {
		t.Fatal("a negative want: no error")
	}
	if _, err := rl.TakeTokens(ctx, t0, []parley.TokenRequest{{Key: "d", Want: 1, Every: every, Burst: 1}, {Key: "d", Want: 1, Every: every, Burst: 1}}); err == nil {
		t.Fatal("a key twice in one call: no error")
	}
}
