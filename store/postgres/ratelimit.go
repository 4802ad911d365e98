package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/parleyhq/parley"
)

var _ parley.RateLimits = (*DB)(nil)

// takeTokens applies a batch of GCRA requests in one statement (see
// parley.RateLimits and migration 0045; times in microseconds). $1 is
// now. A missing row is a full bucket (its TAT is now); a now before the
// bucket's last request keeps the tokens it had then (rate_limit_back).
// The row lock of
// ON CONFLICT DO UPDATE orders concurrent nodes on one bucket.
const takeTokens = `
INSERT INTO rate_limits AS r (key, tat, last, want, adjust, every, burst, granted)
SELECT k, x.base + y.g * e, $1, w, a, e, b, y.g
FROM unnest($2::text[], $3::int[], $4::int[], $5::bigint[], $6::int[]) AS u(k, w, a, e, b),
    LATERAL (SELECT rate_limit_base($1, $1, a, e) AS base) x,
    LATERAL (SELECT rate_limit_grant(x.base, $1, w, e, b) AS g) y
ON CONFLICT (key) DO UPDATE SET
    granted = rate_limit_grant(rate_limit_base(rate_limit_back(r.tat, r.last, $1), $1, excluded.adjust, excluded.every),
        $1, excluded.want, excluded.every, excluded.burst),
    tat = rate_limit_base(rate_limit_back(r.tat, r.last, $1), $1, excluded.adjust, excluded.every) + excluded.every *
        rate_limit_grant(rate_limit_base(rate_limit_back(r.tat, r.last, $1), $1, excluded.adjust, excluded.every),
            $1, excluded.want, excluded.every, excluded.burst),
    last = $1, want = excluded.want, adjust = excluded.adjust, every = excluded.every, burst = excluded.burst
RETURNING key, granted, tat`

// rateLimitSweep is how often TakeTokens deletes full buckets.
const rateLimitSweep = time.Minute

// TakeTokens implements parley.RateLimits with one INSERT … ON CONFLICT
// on the unlogged rate_limits table, outside the committer: it takes no
// position lock and waits for no WAL flush.
func (db *DB) TakeTokens(ctx context.Context, now time.Time, reqs []parley.TokenRequest) ([]parley.TokenGrant, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	db.closeMu.RLock()
	closed := db.closed
	db.closeMu.RUnlock()
	if closed {
		return nil, parley.ErrStoreClosed
	}
	at := now.UnixMicro()
	keys := make([]string, len(reqs))
	wants := make([]int32, len(reqs))
	adjusts := make([]int32, len(reqs))
	everys := make([]int64, len(reqs))
	bursts := make([]int32, len(reqs))
	// Rows are locked in the order of the arrays: in key order on every
	// node, so two nodes' batches on the same keys cannot deadlock.
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return reqs[order[a]].Key < reqs[order[b]].Key })
	peeks := true
	index := make(map[string]int, len(reqs))
	for j, i := range order {
		r := reqs[i]
		if r.Every <= 0 || r.Burst < 1 || r.Want < 0 {
			return nil, fmt.Errorf("postgres: rate limit %q: want %d, every %v, burst %d", r.Key, r.Want, r.Every, r.Burst)
		}
		if _, dup := index[r.Key]; dup {
			return nil, fmt.Errorf("postgres: rate limit %q asked twice in one call", r.Key)
		}
		index[r.Key] = i
		keys[j], wants[j], adjusts[j] = r.Key, int32(r.Want), int32(r.Adjust)
		everys[j], bursts[j] = max(1, r.Every.Microseconds()), int32(r.Burst)
		peeks = peeks && r.Want == 0 && r.Adjust == 0
	}
	if peeks {
		return db.peekTokens(ctx, at, keys, index, len(reqs))
	}
	rows, err := db.read.QueryContext(ctx, takeTokens, at, keys, wants, adjusts, everys, bursts)
	if err != nil {
		return nil, db.rateErr(err)
	}
	defer rows.Close()
	out := make([]parley.TokenGrant, len(reqs))
	n := 0
	for rows.Next() {
		var key string
		var granted int
		var tat int64
		if err := rows.Scan(&key, &granted, &tat); err != nil {
			return nil, fmt.Errorf("postgres: take tokens: %w", err)
		}
		i, ok := index[key]
		if !ok {
			return nil, fmt.Errorf("postgres: take tokens: unexpected key %q", key)
		}
		out[i] = parley.TokenGrant{Granted: granted, TAT: time.UnixMicro(tat)}
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, db.rateErr(err)
	}
	if n != len(reqs) {
		return nil, fmt.Errorf("postgres: take tokens: %d of %d buckets answered", n, len(reqs))
	}
	db.sweepRateLimits(ctx, now)
	return out, nil
}

// rateErr is err from a statement on rate_limits, or ErrStoreClosed when
// the store closed meanwhile.
func (db *DB) rateErr(err error) error {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed {
		return parley.ErrStoreClosed
	}
	return fmt.Errorf("postgres: take tokens: %w", err)
}

// peekTokens answers a batch of reads (Want and Adjust 0) with a SELECT:
// a read changes no bucket, so it need not write a row version.
func (db *DB) peekTokens(ctx context.Context, at int64, keys []string, index map[string]int, n int) ([]parley.TokenGrant, error) {
	out := make([]parley.TokenGrant, n)
	for i := range out {
		out[i].TAT = time.UnixMicro(at) // a missing row is a full bucket
	}
	rows, err := db.read.QueryContext(ctx, `SELECT key, tat, last FROM rate_limits WHERE key = ANY($1)`, keys)
	if err != nil {
		return nil, db.rateErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var tat, last int64
		if err := rows.Scan(&key, &tat, &last); err != nil {
			return nil, db.rateErr(err)
		}
		if at < last { // as rate_limit_back
			tat -= last - at
		}
		out[index[key]].TAT = time.UnixMicro(max(tat, at))
	}
	if err := rows.Err(); err != nil {
		return nil, db.rateErr(err)
	}
	return out, nil
}

// sweepMargin keeps a bucket that looks full a while longer before it
// is deleted: another node whose clock runs behind may still see it in
// debt.
const sweepMargin = time.Minute

// sweepRateLimits deletes the buckets that are full at now (tat ≤ now:
// a missing row is a full bucket), less sweepMargin, at most once a
// rateLimitSweep per DB, in the background. Rows a batch holds are
// skipped, and the others locked in key order like a batch locks them,
// so the sweep never deadlocks with one. Failing only keeps them longer.
func (db *DB) sweepRateLimits(ctx context.Context, now time.Time) {
	next := db.rateSweepAt.Load()
	if now.UnixMicro() < next || !db.rateSweepAt.CompareAndSwap(next, now.Add(rateLimitSweep).UnixMicro()) {
		return
	}
	go db.read.ExecContext(context.WithoutCancel(ctx), `DELETE FROM rate_limits WHERE key IN (
		SELECT key FROM rate_limits WHERE tat <= $1 ORDER BY key FOR UPDATE SKIP LOCKED)`, now.Add(-sweepMargin).UnixMicro())
}
