-- Rate-limit buckets shared by every node (parley.RateLimits, issue 11).
--
-- One row per bucket in use: tat is the bucket's theoretical arrival
-- time in microseconds since the Unix epoch (full when tat <= now), last
-- the now of its last request. The other columns carry a request's parameters into ON CONFLICT DO UPDATE
-- (EXCLUDED) and its grant back out (RETURNING); see ratelimit.go.
--
-- UNLOGGED: the buckets are not worth a WAL record, a synchronous commit
-- or a replica. A crash empties the table, which only refills every
-- bucket. Rows whose bucket is full are deleted from time to time.
CREATE UNLOGGED TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL,
    last BIGINT NOT NULL,
    want INTEGER NOT NULL,
    adjust INTEGER NOT NULL,
    every BIGINT NOT NULL,
    burst INTEGER NOT NULL,
    granted INTEGER NOT NULL
);

-- A bucket's TAT seen from now: when now is before the bucket's last
-- request (the clock was set back, or the node asking runs behind the
-- last one), the bucket keeps the tokens it had then, as
-- golang.org/x/time/rate does on one node, instead of refusing
-- everything until the clock catches up.
CREATE FUNCTION rate_limit_back(tat BIGINT, last BIGINT, now BIGINT) RETURNS BIGINT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT CASE WHEN now < last THEN tat - (last - now) ELSE tat END';

-- A bucket's TAT after an adjustment of adjust tokens at now: a full
-- bucket (tat <= now) counts from now, and giving tokens back never
-- fills it past full.
CREATE FUNCTION rate_limit_base(tat BIGINT, now BIGINT, adjust INTEGER, every BIGINT) RETURNS BIGINT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT greatest(greatest(tat, now) + adjust * every, now)';

-- How many of want tokens a bucket whose TAT is base holds at now.
CREATE FUNCTION rate_limit_grant(base BIGINT, now BIGINT, want INTEGER, every BIGINT, burst INTEGER) RETURNS INTEGER
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT least(want, greatest(0, (now + burst * every - base) / every))::integer';
