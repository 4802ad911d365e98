package sqlite

import (
	"context"
	"sync"

	"github.com/parleyhq/parley"
)

var _ parley.Locker = (*DB)(nil)

// namedLocks are a store's named locks. A SQLite database has one node
// (one server process owns its data directory), so a lock within the
// handle is a lock on the whole deployment.
type namedLocks struct {
	sync.Mutex
	held map[string]chan struct{} // closed on release
}

// Lock implements parley.Locker.
func (db *DB) Lock(ctx context.Context, name string) (func(), error) {
	for {
		unlock, wait := db.take(name)
		if unlock != nil {
			return unlock, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// TryLock implements parley.Locker.
func (db *DB) TryLock(ctx context.Context, name string) (func(), bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	unlock, _ := db.take(name)
	return unlock, unlock != nil, nil
}

// take takes the lock if it is free; otherwise it returns a channel
// closed when the holder releases it.
func (db *DB) take(name string) (func(), <-chan struct{}) {
	key, locks := name, &db.locks
	locks.Lock()
	defer locks.Unlock()
	if ch, ok := locks.held[key]; ok {
		return nil, ch
	}
	if locks.held == nil {
		locks.held = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	locks.held[key] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			locks.Lock()
			delete(locks.held, key)
			locks.Unlock()
			close(ch)
		})
	}, nil
}
