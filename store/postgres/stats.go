package postgres

import (
	"database/sql"
	"time"
)

// CommitInfo describes one batch of the committer (Options.OnCommit).
type CommitInfo struct {
	// Updates is how many Update calls shared the batch; Failed is how
	// many of them got an error (a refused update's writes are undone and
	// the others commit; when the batch fails, all of them failed).
	Updates, Failed int
	// Joined is how many of the Updates came while the batch waited for
	// the positions lock, and joined it once the lock was held.
	Joined int
	// Retried is set when an update failed on the fast path and the batch
	// ran again with a savepoint around each update.
	Retried bool
	// Duration is the whole batch, from BEGIN to the end of COMMIT, both
	// runs of a retried batch included; Commit is its last round trip:
	// the writes the batch left to flush, the saved position and the
	// COMMIT, where the log is written and synced.
	Duration, Commit time.Duration
	// Lock is the time the batch took to get the positions lock, which
	// orders every node's commits: the wait for other nodes' batches,
	// plus one round trip (the catch-up read shares it). Both runs of a
	// retried batch are counted.
	Lock time.Duration
	// FailedAt, when not empty, says why nothing of the batch was
	// committed: "begin", "rollback" (a failed update could not be
	// undone), "save_position" or "commit". A failing batch after "begin"
	// (its lock on the positions row) is reported as "begin" too.
	FailedAt string
	// CacheReset is set when the batch started from an empty committer
	// cache because another node's changes could not be told apart (this
	// node's first batch, or more batches of other nodes since its last
	// commit than cache_changes holds); CacheDropped counts the keys of
	// other nodes' changes it dropped from the cache instead.
	CacheReset   bool
	CacheDropped int
	// CacheRefreshed counts the entries of conversations that other nodes
	// changed that the batch read again, all at once, at its start: rows
	// of conversations and members, chain heads, missing inbox items.
	CacheRefreshed int
	// RefreshReads counts the statements that refresh took beyond the
	// lock's round trip: 0 when the rows read with the lock held every
	// changed conversation and no member changed.
	RefreshReads int
}

// PoolStats returns the database/sql statistics of the store's connection
// pools: "write" (the committer's one connection) and "read".
func (db *DB) PoolStats() map[string]sql.DBStats {
	return map[string]sql.DBStats{"write": db.write.Stats(), "read": db.read.Stats()}
}
