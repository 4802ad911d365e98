package postgres

import "github.com/parleyhq/parley"

// Queued returns how many updates wait for the committer.
func (db *DB) Queued() int { return len(db.reqs) }

// ReadsBegun returns how many read transactions Views began.
func (db *DB) ReadsBegun() int64 { return db.readsBegun.Load() }

// ForgetWriteCache empties the committer's cache from inside an update,
// as a full cache does when it starts over.
func ForgetWriteCache(t parley.Tx) { t.(*tx).db.cache.reset() }
