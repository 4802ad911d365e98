package postgres

import (
	"context"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/parleyhq/parley"
)

var _ parley.Locker = (*DB)(nil)

// lockKey maps a lock's name to a session-level advisory lock key. Keys
// are 64-bit FNV-1a hashes: distinct names colliding only makes two locks
// one, never lets two holders in.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("parley lock\n" + name))
	return int64(h.Sum64())
}

// Lock implements parley.Locker with pg_advisory_lock on a connection of
// its own, held until unlock: every node on the database sees the lock,
// and PostgreSQL releases it if the node's connection dies.
func (db *DB) Lock(ctx context.Context, name string) (func(), error) {
	unlock, ok, err := db.lock(ctx, name, true)
	if err == nil && !ok {
		err = fmt.Errorf("postgres: lock %s not taken", name)
	}
	return unlock, err
}

// TryLock implements parley.Locker with pg_try_advisory_lock.
func (db *DB) TryLock(ctx context.Context, name string) (func(), bool, error) {
	return db.lock(ctx, name, false)
}

func (db *DB) lock(ctx context.Context, name string, wait bool) (func(), bool, error) {
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: lock %s: %w", name, err)
	}
	key := lockKey(name)
	ok := true
	if wait {
		_, err = conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key)
	} else {
		err = conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok)
	}
	if err != nil || !ok {
		// A cancelled wait may leave the lock granted after all: drop
		// the connection rather than hand it back to the pool holding it.
		if err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			return nil, false, fmt.Errorf("postgres: lock %s: %w", name, err)
		}
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, key); err != nil {
				// The session may still hold it: close the connection
				// for good so the server ends the session and the lock.
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		})
	}, true, nil
}
