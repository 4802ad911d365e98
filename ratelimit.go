package parley

import (
	"context"
	"errors"
	"time"
)

// ErrStoreClosed is what a store's RateLimits answer after Close.
var ErrStoreClosed = errors.New("store closed")

// RateLimits is rate-limit state kept in the store, so that a limit holds
// across every node on one database (issue 11): a client whose requests a
// load balancer spreads over N nodes gets the limit once, not N times.
// Stores for one node (SQLite) do not implement it; the app then keeps
// its buckets in memory.
//
// Each bucket is a generic cell rate algorithm (GCRA, the token bucket
// kept as one timestamp): a bucket of Burst tokens that refills one token
// every Every. The state is its theoretical arrival time (TAT): the
// bucket is full when TAT ≤ now, and holds (now + Burst·Every − TAT) /
// Every tokens otherwise. Losing the state (a crash, a restore) only
// refills every bucket. A now before a bucket's last request (a clock set
// back, a node running behind another) keeps the tokens the bucket had
// then, as golang.org/x/time/rate does; nodes' clocks should still be
// kept in step (NTP), as a node running ahead sees buckets fuller.
type RateLimits interface {
	// TakeTokens applies reqs at now, in one round trip, and returns one
	// grant per request, in order. Keys must be distinct within a call.
	// After Close it returns ErrStoreClosed.
	TakeTokens(ctx context.Context, now time.Time, reqs []TokenRequest) ([]TokenGrant, error)
}

// TokenRequest changes bucket Key: first by Adjust tokens whatever it
// holds (a positive Adjust takes them even into debt, which delays the
// next token; a negative one gives them back, never past a full bucket),
// then takes up to Want tokens (≥ 0) of what it holds. Want 0 and Adjust
// 0 only read the bucket.
type TokenRequest struct {
	Key    string
	Want   int
	Adjust int
	Every  time.Duration // one token refills every Every (> 0)
	Burst  int           // the bucket's size (≥ 1)
}

// TokenGrant is what a TokenRequest got: Granted tokens of Want, and the
// bucket's TAT after the request. A bucket has its next token at
// TAT + Every − Burst·Every.
type TokenGrant struct {
	Granted int
	TAT     time.Time
}

// NextToken returns how long after now the bucket of g has a token again
// (0 if it has one now).
func (g TokenGrant) NextToken(now time.Time, every time.Duration, burst int) time.Duration {
	return max(0, g.TAT.Add(every-time.Duration(burst)*every).Sub(now))
}
