package app

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"golang.org/x/time/rate"
)

// Limiter is a set of token buckets keyed by string (a handle, an address),
// with bounded memory: idle buckets are dropped.
type Limiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	now     func() time.Time
	buckets map[string]*bucket
	sweepAt time.Time
	// refused, when set, is called after each refusal (for metrics).
	refused func()
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxBuckets bounds a Limiter's memory; past it the oldest idle buckets go.
const maxBuckets = 100000

// NewLimiter allows perSecond events per key, with bursts of burst.
func NewLimiter(perSecond float64, burst int, now func() time.Time) *Limiter {
	return &Limiter{limit: rate.Limit(perSecond), burst: burst, now: now, buckets: map[string]*bucket{}}
}

// limiter returns a Limiter whose refusals the observer counts under name.
func (a *App) limiter(name string, perSecond float64, burst int) *Limiter {
	l := NewLimiter(perSecond, burst, a.now)
	l.refused = func() { a.obs.RateLimited(name) }
	return l
}

// Allow takes one token for key. When none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
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
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		if l.refused != nil {
			l.refused()
		}
		return false, time.Duration(math.Ceil(d.Seconds())) * time.Second
	}
	return true, 0
}

// Peek reports whether key has a token, without taking it, and if not how
// long until it has. With Take after the work succeeds, only successful
// work is counted (a repeated idempotent send costs nothing); concurrent
// callers may overshoot by at most their number.
func (l *Limiter) Peek(key string) (bool, time.Duration) {
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
	return false, time.Duration(math.Ceil(d.Seconds())) * time.Second
}

// Take takes one token for key, even when that leaves the bucket in debt.
func (l *Limiter) Take(key string) {
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
	b.lim.ReserveN(now, 1) // never cancelled: a debt delays the next Peek
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
func (a *App) registrationAllowed(address string) error {
	if ip, err := netip.ParseAddr(address); err != nil || ip.IsLoopback() {
		return nil
	}
	if ok, wait := a.registrations.Allow(address); !ok {
		return &parley.Error{Code: parley.ERateLimited, Message: "too many sign-ups from this address; try again later", RetryAfter: wait}
	}
	return nil
}
