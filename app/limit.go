package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"golang.org/x/time/rate"
)

// Limiter is a set of token buckets keyed by string (a handle, an address),
// with bounded memory: idle buckets are dropped. On a store that keeps
// rate limits (parley.RateLimits: PostgreSQL) the buckets that decide are
// the store's, shared by every node; this node's own buckets then only
// refuse early what the shared ones would refuse too, and decide alone
// while the store cannot answer.
type Limiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	now     func() time.Time
	buckets map[string]*bucket
	sweepAt time.Time
	// refused, when set, is called after each refusal (for metrics).
	refused func()
	// name keys the limiter's buckets in shared (nil: this node only).
	name   string
	shared *sharedLimits
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxBuckets bounds a Limiter's memory; past it the oldest idle buckets go.
const maxBuckets = 100000

// maxSharedSpan bounds how long a shared bucket takes to refill from
// empty (burst × every): the store counts in 64-bit microseconds, and a
// larger burst is no limit anyway.
const maxSharedSpan = 10 * 365 * 24 * time.Hour

// NewLimiter allows perSecond events per key, with bursts of burst, on
// this node.
func NewLimiter(perSecond float64, burst int, now func() time.Time) *Limiter {
	return &Limiter{limit: rate.Limit(perSecond), burst: burst, now: now, buckets: map[string]*bucket{}}
}

// limiter returns a Limiter whose refusals the observer counts under name,
// on the store's shared buckets when it has them.
func (a *App) limiter(name string, perSecond float64, burst int) *Limiter {
	l := NewLimiter(perSecond, burst, a.now)
	l.refused = func() { a.obs.RateLimited(name) }
	l.name, l.shared = name, a.sharedLimits
	return l
}

// Allow takes one token for key. When none is left it returns false and how
// long until one is (in whole seconds, for Retry-After).
func (l *Limiter) Allow(ctx context.Context, key string) (bool, time.Duration) {
	if l.shared == nil {
		return l.reserve(key, false)
	}
	// Every token this node was granted is in the shared bucket too:
	// what the node's bucket refuses, the shared one would.
	if ok, wait := l.peek(key); !ok {
		return false, wait
	}
	every, burst := l.sharedBucket()
	ok, wait, err := l.shared.take(ctx, l.sharedKey(key), tokenTake, every, burst)
	switch {
	case err != nil && ctx.Err() != nil:
		return false, time.Second // the caller went; its answer is not read
	case err != nil:
		return l.reserve(key, false) // the store cannot answer: this node decides
	case !ok:
		return l.refuse(wait)
	}
	l.reserve(key, true)
	return true, 0
}

// Reserve is Allow for work that may not happen: done tells, when ok,
// whether the work happened, before the caller answers. Only work that
// happened is counted (a send that turned out to repeat one already
// stored costs nothing). On this node's buckets alone it only looks for
// a token, and done takes it (even into debt): concurrent callers may
// overshoot by at most their number, but one caller's next call sees its
// last. On the store's shared buckets the token is taken before the work
// and given back by done when the work did not happen, so that the work
// costs one round trip to the store, not two, and concurrent callers on
// any nodes never overshoot; a caller may instead be refused while
// another's token that will come back is still out.
func (l *Limiter) Reserve(ctx context.Context, key string) (ok bool, wait time.Duration, done func(used bool)) {
	if ok, wait := l.peek(key); !ok {
		// Every token this node was granted is in the shared bucket
		// too: what the node's bucket refuses, the shared one would.
		return false, wait, nil
	}
	local := func(used bool) {
		if used {
			l.reserve(key, true)
		}
	}
	if l.shared == nil {
		return true, 0, local
	}
	skey := l.sharedKey(key)
	every, burst := l.sharedBucket()
	ok, wait, err := l.shared.take(ctx, skey, tokenTake, every, burst)
	switch {
	case err != nil && ctx.Err() != nil:
		// The caller went; its answer is not read (a token its batch
		// took goes back: sharedLimits.abandon).
		return false, time.Second, nil
	case err != nil:
		return true, 0, local // the store cannot answer: this node decides
	case !ok:
		ok, wait := l.refuse(wait)
		return ok, wait, nil
	}
	return true, 0, func(used bool) {
		if used {
			l.reserve(key, true)
			return
		}
		// Given back before the caller answers, so that its client's
		// next request finds the token on whichever node it lands. The
		// give-back is queued with the node's others and goes to the
		// store even if the caller leaves meanwhile; an error only
		// keeps the bucket stricter until the token refills.
		l.shared.take(context.WithoutCancel(ctx), skey, tokenGive, every, burst)
	}
}

// refuse counts a refusal of the shared bucket and says when to retry:
// in whole seconds, at least one.
func (l *Limiter) refuse(wait time.Duration) (bool, time.Duration) {
	if l.refused != nil {
		l.refused()
	}
	return false, max(time.Second, ceilSecond(wait))
}

// sharedBucket is the limiter's bucket for the store: one token every
// every, in whole microseconds as the store counts them, and a burst
// that refills from empty within maxSharedSpan.
func (l *Limiter) sharedBucket() (time.Duration, int) {
	every := max(time.Microsecond, time.Duration(float64(time.Second)/float64(l.limit)).Round(time.Microsecond))
	return every, max(1, min(l.burst, 1<<30, int(maxSharedSpan/every))) // the store keeps 32 bits
}

// sharedKey names key's shared bucket: a hash of the limiter's name and
// the key, so that whatever a client puts in a key (a handle that is not
// one, invalid UTF-8) is a short, valid text for the store.
func (l *Limiter) sharedKey(key string) string {
	h := sha256.Sum256([]byte(l.name + "\x00" + key))
	return hex.EncodeToString(h[:16])
}

func ceilSecond(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}

// reserve takes one token of this node's bucket for key; with force even
// into debt (a debt delays the next token).
func (l *Limiter) reserve(key string, force bool) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		l.sweep(now)
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 && !force {
		r.CancelAt(now)
		if l.refused != nil {
			l.refused()
		}
		return false, ceilSecond(d)
	}
	return true, 0
}

// peek reports whether this node's bucket for key has a token, without
// taking it, and if not how long until it has.
func (l *Limiter) peek(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return true, 0
	}
	now := l.now()
	if b.lim.TokensAt(now) >= 1 {
		return true, 0
	}
	r := b.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	if l.refused != nil {
		l.refused()
	}
	return false, ceilSecond(d)
}

// sweep drops buckets that have refilled completely, at most once a minute
// unless the map is over its bound.
func (l *Limiter) sweep(now time.Time) {
	if len(l.buckets) < maxBuckets && now.Before(l.sweepAt) {
		return
	}
	l.sweepAt = now.Add(time.Minute)
	full := time.Duration(float64(l.burst)/float64(l.limit)) * time.Second
	for k, b := range l.buckets {
		if now.Sub(b.seen) > full {
			delete(l.buckets, k)
		}
	}
}

// newConversationLimit refuses a new conversation when the account has
// started its day's share: NewConversationsPerDay, or the lower
// NewConversationsPerDayNew for accounts younger than NewAccountAge. It
// counts stored conversations, so it holds across devices, tokens, nodes
// and restarts.
func (a *App) newConversationLimit(w *writer, u *parley.User) error {
	limit := a.cfg.NewConversationsPerDay
	if w.now.Sub(u.CreatedAt) < a.cfg.NewAccountAge {
		limit = a.cfg.NewConversationsPerDayNew
	}
	n, err := w.CountConversationsCreatedBy(u.ID, w.now.Add(-24*time.Hour), limit)
	if err != nil {
		return err
	}
	if n >= limit {
		a.obs.RateLimited("new_conversations")
		return &parley.Error{Code: parley.ERateLimited, RetryAfter: time.Hour,
			Message: fmt.Sprintf("you can start %d new conversations a day; try again later", limit)}
	}
	return nil
}

// registrationAllowed applies the sign-up limit per client address;
// loopback and unknown addresses (the CLI, a proxy without TrustProxy)
// are not limited.
func (a *App) registrationAllowed(ctx context.Context, address string) error {
	if ip, err := netip.ParseAddr(address); err != nil || ip.IsLoopback() {
		return nil
	}
	if ok, wait := a.registrations.Allow(ctx, address); !ok {
		return &parley.Error{Code: parley.ERateLimited, Message: "too many sign-ups from this address; try again later", RetryAfter: wait}
	}
	return nil
}
