package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

var _ parley.RateLimits = (*DB)(nil)

// takeTokens applies a batch of GCRA requests in one statement (see
// parley.RateLimits and migration 0045; times in microseconds). $1 is
// now. A missing row is a full bucket (its TAT is now). The row lock of
// ON CONFLICT DO UPDATE orders concurrent nodes on one bucket.
const takeTokens = `
INSERT INTO rate_limits AS r (key, tat, want, adjust, every, burst, granted)
SELECT k, x.base + y.g * e, w, a, e, b, y.g
FROM unnest($2::text[], $3::int[], $4::int[], $5::bigint[], $6::int[]) AS u(k, w, a, e, b),
    LATERAL (SELECT rate_limit_base($1, $1, a, e) AS base) x,
    LATERAL (SELECT rate_limit_grant(x.base, $1, w, e, b) AS g) y
ON CONFLICT (key) DO UPDATE SET
    granted = rate_limit_grant(rate_limit_base(r.tat, $1, excluded.adjust, excluded.every), $1, excluded.want, excluded.every, excluded.burst),
    tat = rate_limit_base(r.tat, $1, excluded.adjust, excluded.every) + excluded.every *
        rate_limit_grant(rate_limit_base(r.tat, $1, excluded.adjust, excluded.every), $1, excluded.want, excluded.every, excluded.burst),
    want = excluded.want, adjust = excluded.adjust, every = excluded.every, burst = excluded.burst
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
	index := make(map[string]int, len(reqs))
	for i, r := range reqs {
		if r.Every <= 0 || r.Burst < 1 || r.Want < 0 {
			return nil, fmt.Errorf("postgres: rate limit %q: want %d, every %v, burst %d", r.Key, r.Want, r.Every, r.Burst)
		}
		if _, dup := index[r.Key]; dup {
			return nil, fmt.Errorf("postgres: rate limit %q asked twice in one call", r.Key)
		}
		index[r.Key] = i
		keys[i], wants[i], adjusts[i] = r.Key, int32(r.Want), int32(r.Adjust)
		everys[i], bursts[i] = max(1, r.Every.Microseconds()), int32(r.Burst)
	}
	rows, err := db.read.QueryContext(ctx, takeTokens, at, keys, wants, adjusts, everys, bursts)
	if err != nil {
		return nil, fmt.Errorf("postgres: take tokens: %w", err)
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
		return nil, fmt.Errorf("postgres: take tokens: %w", err)
	}
	if n != len(reqs) {
		return nil, fmt.Errorf("postgres: take tokens: %d of %d buckets answered", n, len(reqs))
	}
	db.sweepRateLimits(ctx, now)
	return out, nil
}

// sweepRateLimits deletes the buckets that are full at now (tat ≤ now:
// a missing row is a full bucket), at most once a rateLimitSweep per
// DB, in the background. Failing only keeps them longer.
func (db *DB) sweepRateLimits(ctx context.Context, now time.Time) {
	next := db.rateSweepAt.Load()
	if now.UnixMicro() < next || !db.rateSweepAt.CompareAndSwap(next, now.Add(rateLimitSweep).UnixMicro()) {
		return
	}
	// Not on the caller's time: the DELETE reads the whole table.
	go db.read.ExecContext(context.WithoutCancel(ctx), `DELETE FROM rate_limits WHERE tat <= $1`, now.UnixMicro())
}
