package postgres

// Queued returns how many updates wait for the committer.
func (db *DB) Queued() int { return len(db.reqs) }
