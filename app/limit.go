package app

import (
	"math"
	"sync"
	"time"

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
