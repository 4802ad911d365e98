package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley"
)

// sharedLimits hands a store's parley.RateLimits the token requests of
// every Limiter of the App, batched: while one round trip is out, the
// requests that arrive wait and go together in the next (the store's
// group commit, for buckets). On PostgreSQL that makes a limit hold
// across nodes at one statement per batch, not one per request.
type sharedLimits struct {
	store parley.RateLimits
	now   func() time.Time
	warn  func(err error)

	// downUntil (Unix ns) is set when a round trip failed: until then
	// every call fails at once, so that a store that does not answer
	// costs one timeout, not one per request.
	downUntil atomic.Int64

	mu      sync.Mutex
	pending []*tokenCall
	running bool
}

// errSharedDown is the error of calls while the store is taken as down.
var errSharedDown = errors.New("shared rate limits: the store did not answer a moment ago")

// sharedDownFor is how long a failed round trip keeps the nodes' own
// buckets in charge.
const sharedDownFor = 5 * time.Second

// What a tokenCall asks of its bucket.
const (
	tokenTake = iota // one token if there is one
	tokenGive        // one token back (never past a full bucket)
)

// tokenCall is one request waiting for its batch.
type tokenCall struct {
	key   string
	kind  int
	every time.Duration
	burst int

	done chan struct{}
	ok   bool          // granted (take), given (give)
	wait time.Duration // until the next token, when refused
	err  error
}

func newSharedLimits(store parley.RateLimits, now func() time.Time, warn func(error)) *sharedLimits {
	return &sharedLimits{store: store, now: now, warn: warn}
}

// take asks the bucket key for what kind says and waits for the answer
// of its batch, or ctx.
func (s *sharedLimits) take(ctx context.Context, key string, kind int, every time.Duration, burst int) (bool, time.Duration, error) {
	if s.now().UnixNano() < s.downUntil.Load() {
		return false, 0, errSharedDown
	}
	c := &tokenCall{key: key, kind: kind, every: every, burst: burst, done: make(chan struct{})}
	s.mu.Lock()
	s.pending = append(s.pending, c)
	if s.running {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.ok, c.wait, c.err
		case <-ctx.Done():
			s.abandon(c)
			return false, 0, ctx.Err()
		}
	}
	// Nobody is asking the store: this call does, for every request
	// waiting, then leaves any that came meanwhile to a goroutine.
	s.running = true
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	s.run(batch)
	s.next()
	return c.ok, c.wait, c.err
}

// abandon withdraws the call of a caller that left: still queued, it
// goes unasked; already in a batch, a token the batch grants it goes back
// once the batch answers, so that a caller who gave up costs its bucket
// nothing.
func (s *sharedLimits) abandon(c *tokenCall) {
	s.mu.Lock()
	for i, p := range s.pending {
		if p == c {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			s.mu.Unlock()
			return
		}
	}
	s.mu.Unlock()
	if c.kind != tokenTake {
		return
	}
	go func() {
		<-c.done
		if c.ok {
			s.take(context.Background(), c.key, tokenGive, c.every, c.burst)
		}
	}()
}

// next runs the batches that gathered during the last one, on a
// goroutine of its own, until none is waiting.
func (s *sharedLimits) next() {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.running = false
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	go func() {
		for {
			s.mu.Lock()
			batch := s.pending
			s.pending = nil
			if len(batch) == 0 {
				s.running = false
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
			s.run(batch)
		}
	}()
}

// run asks the store for one batch and answers each call. Calls on one
// key become one request: the tokens given back first, then the takes in
// the order they came (the first ones granted). The round trip has a
// context of its own: it answers every caller of the batch, and each
// waits on its own.
func (s *sharedLimits) run(batch []*tokenCall) {
	defer func() {
		for _, c := range batch {
			close(c.done)
		}
	}()
	index := map[string]int{}
	var reqs []parley.TokenRequest
	for _, c := range batch {
		i, ok := index[c.key]
		if !ok {
			i = len(reqs)
			index[c.key] = i
			reqs = append(reqs, parley.TokenRequest{Key: c.key, Every: c.every, Burst: c.burst})
		}
		switch c.kind {
		case tokenTake:
			reqs[i].Want++
		case tokenGive:
			reqs[i].Adjust--
		}
	}
	now := s.now()
	ctx, cancel := context.WithTimeout(context.Background(), sharedLimitTimeout)
	grants, err := s.store.TakeTokens(ctx, now, reqs)
	cancel()
	if err != nil {
		if !errors.Is(err, parley.ErrStoreClosed) { // shutting down
			s.downUntil.Store(now.Add(sharedDownFor).UnixNano())
			s.warn(err)
		}
		for _, c := range batch {
			c.err = err
		}
		return
	}
	for _, c := range batch {
		i := index[c.key]
		switch c.kind {
		case tokenGive:
			c.ok = true
		case tokenTake:
			if grants[i].Granted > 0 {
				grants[i].Granted--
				c.ok = true
				continue
			}
			c.wait = grants[i].NextToken(now, c.every, c.burst)
		}
	}
}

// sharedLimitTimeout bounds a round trip for the buckets: past it the
// Limiter decides alone, on this node's buckets.
const sharedLimitTimeout = 2 * time.Second

// warnEvery returns a function that logs an error at most once per d.
func warnEvery(d time.Duration, now func() time.Time, log func(err error)) func(error) {
	var last atomic.Int64
	return func(err error) {
		t := now().UnixNano()
		if l := last.Load(); t-l < int64(d) || !last.CompareAndSwap(l, t) {
			return
		}
		log(err)
	}
}
