package postgres

// Queued returns how many updates wait for the committer.
func (db *DB) Queued() int { return len(db.reqs) }

// ReadsBegun returns how many read transactions Views began.
func (db *DB) ReadsBegun() int64 { return db.readsBegun.Load() }
