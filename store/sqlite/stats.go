package sqlite

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
	// Retried is set when an update failed on the fast path and the batch
	// ran again with a savepoint around each update.
	Retried bool
	// Duration is the whole batch, from BEGIN to the end of COMMIT, both
	// runs of a retried batch included; Commit is the COMMIT alone, where
	// the log is written and synced.
	Duration, Commit time.Duration
	// Statements is how many SQL statements the batch's updates and its
	// end-of-batch writes ran (BEGIN and COMMIT not counted), both runs
	// of a retried batch included.
	Statements int
	// Indexed is set when the batch ran a search index step
	// (indexer.go); a batch of no updates is such a step alone.
	Indexed bool
	// FailedAt, when not empty, says why nothing of the batch was
	// committed: "begin", "rollback" (a failed update could not be
	// undone), "index" (nor could a failed index step), "save_position"
	// or "commit".
	FailedAt string
}

// PoolStats returns the database/sql statistics of the store's connection
// pools: "write" (the committer's one connection), "read" and
// "checkpoint".
func (db *DB) PoolStats() map[string]sql.DBStats {
	return map[string]sql.DBStats{"write": db.write.Stats(), "read": db.read.Stats(), "checkpoint": db.ckpt.Stats()}
}
