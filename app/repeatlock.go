package app

import (
	"context"
	"sync"
)

// repeatLocks serializes, on this node, the sends that carry one
// client_id from one sender into one conversation — a client retrying a
// send whose answer it did not get while the first is still running. The
// per-conversation limit takes its token before a send's write (one round
// trip to the shared buckets on PostgreSQL), and a repeat gives it back
// only once it finds the message stored: without the lock, a hundred
// copies of one send at once would take a hundred tokens for a moment and
// some would be refused, where a repeat of a send that goes through must
// be answered, never refused. With it, a copy that waited for another
// looks for the stored message first and answers it without a token.
// Copies on different nodes are not serialized: one may still be refused
// while the other holds the conversation's last token (its client's next
// retry gets the message).
type repeatLocks struct {
	mu sync.Mutex
	m  map[string]*repeatLock
}

type repeatLock struct {
	held chan struct{} // one slot: the lock
	refs int           // holders and waiters; the entry goes at 0
}

// lock takes key's lock, waiting for ctx at most, and reports whether
// another send held it when this one came.
func (r *repeatLocks) lock(ctx context.Context, key string) (unlock func(), waited bool, err error) {
	r.mu.Lock()
	if r.m == nil {
		r.m = map[string]*repeatLock{}
	}
	l := r.m[key]
	if l == nil {
		l = &repeatLock{held: make(chan struct{}, 1)}
		r.m[key] = l
	}
	l.refs++
	r.mu.Unlock()
	release := func() {
		r.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(r.m, key)
		}
		r.mu.Unlock()
	}
	select {
	case l.held <- struct{}{}:
	default:
		waited = true
		select {
		case l.held <- struct{}{}:
		case <-ctx.Done():
			release()
			return nil, true, ctx.Err()
		}
	}
	return func() {
		<-l.held
		release()
	}, waited, nil
}

// size returns how many keys are locked or waited for.
func (r *repeatLocks) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}
